"""Throughput of our secrets scanner against detect-secrets' own command line, on the same generated corpus.

    .venv/bin/python benchmarks/secrets_throughput.py [--megabytes 4] [--files 1000] [--cores 1]

The default corpus is 4 MB, not 50: detect-secrets' command line runs at ~0.05 MB/s on one core (it inspects the
signature of every plugin and filter call for every line), so 50 MB would take ~17 minutes for it alone; ours
runs at about 1 MB/s (`--megabytes 50 --files 2000` to try, with patience for the second half).

Generates mixed source/config text (Python, YAML, JSON, Terraform, shell, Markdown) with a few planted
*generated* secrets in a temporary directory, then times:
- ours: `core.scanners.secrets.scan_tree` (our Azure detectors + detect-secrets' typed/keyword plugins, in process);
- detect-secrets: `detect-secrets scan <dir> --all-files -n -c <cores>` (its default plugins, entropy included;
  `-n` so it makes no network calls), with its JSON output parsed for the number of findings.
Prints MB/s for both, the ratio, and the findings each reports. Figures only, no assertions.
"""

from __future__ import annotations

import argparse
import base64
import json
import random
import secrets
import string
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.scanners.secrets import scan_tree  # noqa: E402

WORDS = [
    "account",
    "build",
    "cache",
    "client",
    "config",
    "data",
    "deploy",
    "enable",
    "endpoint",
    "event",
    "export",
    "filter",
    "handler",
    "image",
    "index",
    "job",
    "limit",
    "logger",
    "manager",
    "message",
    "module",
    "name",
    "option",
    "order",
    "owner",
    "payment",
    "pipeline",
    "policy",
    "queue",
    "region",
    "release",
    "request",
    "resource",
    "result",
    "route",
    "schema",
    "server",
    "service",
    "session",
    "setting",
    "storage",
    "stream",
    "target",
    "task",
    "tenant",
    "timeout",
    "token",
    "user",
    "value",
    "version",
    "worker",
]


def word(rng: random.Random) -> str:
    return rng.choice(WORDS)


def ident(rng: random.Random) -> str:
    return "_".join(word(rng) for _ in range(rng.randint(1, 3)))


def python_block(rng: random.Random) -> str:
    name = ident(rng)
    return (
        f"def {name}({ident(rng)}, {ident(rng)}=None):\n"
        f'    """{word(rng).capitalize()} the {word(rng)} for each {word(rng)}."""\n'
        f"    {ident(rng)} = {{'{word(rng)}': {rng.randint(0, 9999)}, '{word(rng)}': '{word(rng)}'}}\n"
        f"    for item in {ident(rng)}:\n"
        f"        if item.{word(rng)} > {rng.randint(1, 100)}:\n"
        f"            log.info('%s %s', item, {ident(rng)})\n"
        f"    return {ident(rng)}\n\n"
    )


def yaml_block(rng: random.Random) -> str:
    return (
        f"{ident(rng)}:\n  {word(rng)}: {word(rng)}-{rng.randint(1, 99)}\n  replicas: {rng.randint(1, 9)}\n"
        f"  image: contoso.azurecr.io/{word(rng)}:{rng.randint(1, 9)}.{rng.randint(0, 20)}\n"
        f"  digest: sha256:{rng.getrandbits(256):064x}\n"
    )


def json_block(rng: random.Random) -> str:
    return (
        json.dumps(
            {ident(rng): {word(rng): rng.randint(0, 10**6), "id": f"{rng.getrandbits(128):032x}", "on": True}}
        )
        + "\n"
    )


def terraform_block(rng: random.Random) -> str:
    return (
        f'resource "azurerm_{word(rng)}" "{word(rng)}" {{\n  name     = "{word(rng)}-{rng.randint(1, 99)}"\n'
        f'  location = "westeurope"\n  tags     = {{ owner = "{word(rng)}" }}\n}}\n\n'
    )


def shell_block(rng: random.Random) -> str:
    return f'export {ident(rng).upper()}="{word(rng)}"\naz {word(rng)} {word(rng)} --name "${ident(rng).upper()}"\n'


def markdown_block(rng: random.Random) -> str:
    return f"## {word(rng).capitalize()}\n\n" + " ".join(word(rng) for _ in range(40)) + ".\n\n"


KINDS = {
    ".py": python_block,
    ".yaml": yaml_block,
    ".json": json_block,
    ".tf": terraform_block,
    ".sh": shell_block,
    ".md": markdown_block,
}


def planted_secret(index: int) -> str:
    """A generated secret line of one of a few kinds (never a real credential)."""
    kind = index % 4
    if kind == 0:
        return (
            "export AZURE_DEVOPS_EXT_PAT="
            + "".join(secrets.choice("abcdefghijklmnopqrstuvwxyz234567") for _ in range(52))
            + "\n"
        )
    if kind == 1:
        key = base64.b64encode(secrets.token_bytes(64)).decode()
        return f"conn = 'DefaultEndpointsProtocol=https;AccountName=acct{index};AccountKey={key}'\n"
    if kind == 2:
        return (
            "AWS_ACCESS_KEY_ID=AKIA"
            + "".join(secrets.choice(string.ascii_uppercase + "234567") for _ in range(16))
            + "\n"
        )
    pat = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(76)) + "AZDO" + "abcd"
    return f'token = "{pat}"\n'


def generate(root: Path, megabytes: float, files: int, planted: int) -> int:
    rng = random.Random(1234)
    per_file = int(megabytes * 1024 * 1024 / files)
    plant_at = set(rng.sample(range(files), min(planted, files)))
    total = 0
    for index in range(files):
        suffix = list(KINDS)[index % len(KINDS)]
        path = root / f"dir{index % 40:02d}" / f"{ident(rng)}_{index}{suffix}"
        path.parent.mkdir(parents=True, exist_ok=True)
        parts, size = [], 0
        while size < per_file:
            block = KINDS[suffix](rng)
            parts.append(block)
            size += len(block)
        if index in plant_at:
            parts.insert(len(parts) // 2, planted_secret(index))
        text = "".join(parts)
        path.write_text(text)
        total += len(text.encode())
    return total


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--megabytes", type=float, default=4.0)
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--planted", type=int, default=20)
    parser.add_argument("--cores", type=int, default=1, help="detect-secrets CLI processes (ours uses one)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="secrets-bench-") as directory:
        root = Path(directory)
        started = time.perf_counter()
        size = generate(root, args.megabytes, args.files, args.planted)
        mb = size / (1024 * 1024)
        print(
            f"corpus: {args.files} files, {mb:.1f} MB, {args.planted} planted secrets "
            f"(generated in {time.perf_counter() - started:.1f} s)"
        )

        started = time.perf_counter()
        ours = scan_tree(root, b"benchmark-key")
        ours_seconds = time.perf_counter() - started
        by_rule: dict[str, int] = {}
        for finding in ours:
            by_rule[finding.rule.id] = by_rule.get(finding.rule.id, 0) + 1
        print(
            f"ours:           {ours_seconds:6.1f} s  {mb / ours_seconds:6.2f} MB/s  {len(ours)} findings {by_rule}"
        )

        command = [
            str(ROOT / ".venv/bin/detect-secrets"),
            "-c",
            str(args.cores),
            "scan",
            str(root),
            "--all-files",
            "-n",
        ]
        started = time.perf_counter()
        completed = subprocess.run(command, capture_output=True, text=True, check=False, cwd=root)  # noqa: S603
        cli_seconds = time.perf_counter() - started
        if completed.returncode != 0:
            print(f"detect-secrets failed ({completed.returncode}): {completed.stderr[-500:]}")
            return
        results = json.loads(completed.stdout)["results"]
        types: dict[str, int] = {}
        for entries in results.values():
            for entry in entries:
                types[entry["type"]] = types.get(entry["type"], 0) + 1
        count = sum(types.values())
        print(
            f"detect-secrets: {cli_seconds:6.1f} s  {mb / cli_seconds:6.2f} MB/s  {count} findings {types} "
            f"({args.cores} process{'es' if args.cores > 1 else ''}, default plugins incl. entropy)"
        )
        print(f"ratio ours/detect-secrets throughput: {(mb / ours_seconds) / (mb / cli_seconds):.2f}x")


if __name__ == "__main__":
    main()
