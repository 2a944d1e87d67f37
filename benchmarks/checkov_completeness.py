"""checkov under memory bounds: failed checks, wall time and memory, on a generated IaC sample.

Prints, on the same sample (Terraform, ARM, CloudFormation, Kubernetes; `--groups N` of four files each):
- plain checkov as users run it (fork workers, no bound): the reference count;
- plain checkov under the old bound, RLIMIT_AS 1 GiB: how many failed checks silently vanish;
- our scanner with the production defaults (one process, RSS bound 2 GiB over the session);
with peak resident memory summed over each run's processes and the largest address space of any one of them.

    .venv/bin/python benchmarks/checkov_completeness.py --groups 30
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.scanners import checkov
from core.scanners.checkov import FRAMEWORKS, SCANNER, kill_session, session_members, session_resident_bytes
from core.scans.scanner import ScanContext
from tests.support.iac_samples import write_sample

MiB = 1024**2


def vm_peak(session: int) -> int:
    peak = 0
    for pid in session_members(session):
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmPeak:"):
                    peak = max(peak, int(line.split()[1]) * 1024)
        except OSError:
            pass
    return peak


class Sampler:
    """Peak resident (summed) and address space (largest process) of the sessions it is given."""

    def __init__(self) -> None:
        self.sessions: set[int] = set()
        self.rss = self.vm = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.loop, daemon=True)

    def loop(self) -> None:
        while not self.stop.is_set():
            for session in list(self.sessions):
                self.rss = max(self.rss, session_resident_bytes(session))
                self.vm = max(self.vm, vm_peak(session))
            time.sleep(0.05)


def children_cpu() -> float:
    """User and system CPU of our finished children (checkov's reaped workers included)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def plain(root: Path, home: Path, address_space: int | None) -> tuple[str, tuple[float, float], int, int]:
    def bound() -> None:
        if address_space:
            resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))

    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(home),
        "CKV_SKIP_PACKAGE_UPDATE_CHECK": "1",
        "BC_SKIP_MAPPING": "1",
    }
    argv = [
        str(checkov.DEFAULT_BIN),
        "-d",
        str(root),
        "--skip-download",
        "-o",
        "json",
        "--compact",
        "--quiet",
    ]
    sampler = Sampler()
    sampler.thread.start()
    started, cpu = time.monotonic(), children_cpu()
    with open(home / "out.json", "wb") as out:
        process = subprocess.Popen(  # noqa: S603 - our checkov binary, our arguments
            [*argv, "--framework", *FRAMEWORKS],
            stdout=out,
            stderr=subprocess.DEVNULL,
            env=env,
            cwd=home,
            start_new_session=True,
            preexec_fn=bound,
        )
        sampler.sessions.add(process.pid)
        try:
            process.wait()
        finally:
            kill_session(process.pid)  # interrupted, or workers left behind
    elapsed = (time.monotonic() - started, children_cpu() - cpu)
    sampler.stop.set()
    try:
        reports = json.loads((home / "out.json").read_text())
    except ValueError:
        return f"none, exit {process.returncode}", elapsed, sampler.rss, sampler.vm
    reports = reports if isinstance(reports, list) else [reports]
    failed = sum(len(r["results"]["failed_checks"]) for r in reports)
    return f"{failed}, exit {process.returncode}", elapsed, sampler.rss, sampler.vm


def ours(root: Path) -> tuple[str, tuple[float, float], int, int]:
    sampler = Sampler()
    original = checkov.watch_memory

    async def watched(session, watch):  # sample the session our scanner starts
        sampler.sessions.add(session)
        await original(session, watch)

    checkov.watch_memory = watched
    sampler.thread.start()
    started, cpu = time.monotonic(), children_cpu()
    try:
        findings = asyncio.run(SCANNER.scan(ScanContext(root=root, secret_key=b"k")))
    finally:
        checkov.watch_memory = original
    elapsed = (time.monotonic() - started, children_cpu() - cpu)
    sampler.stop.set()
    return str(sum(f.rule.id != "IAC-PARSE" for f in findings)), elapsed, sampler.rss, sampler.vm


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--groups", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        root, home = Path(work) / "sample", Path(work) / "home"
        root.mkdir()
        home.mkdir()
        write_sample(root, args.groups)
        files = sum(1 for p in root.rglob("*") if p.is_file())
        print(
            f"sample: {files} files ({args.groups} groups), checkov {checkov.installed_version(checkov.DEFAULT_BIN)}"
        )
        print(
            f"{'run':<42} {'failed checks':>16} {'wall s':>7} {'CPU s':>6} {'peak RSS MiB':>13} {'peak VM MiB':>12}"
        )
        rows = [
            ("plain checkov, fork workers, no bound", plain(root, home, None)),
            ("plain checkov, RLIMIT_AS 1 GiB (old bound)", plain(root, home, 1024**3)),
            ("ours: one process, RSS bound 2 GiB", ours(root)),
        ]
        for name, (failed, elapsed, rss, vm) in rows:
            print(
                f"{name:<42} {failed:>16} {elapsed[0]:>7.1f} {elapsed[1]:>6.1f} {rss // MiB:>13} {vm // MiB:>12}"
            )


if __name__ == "__main__":
    main()
