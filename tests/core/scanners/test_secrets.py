"""Secrets: exactly what is planted is found, look-alikes are not, and values never leave the scanner.

Every secret-looking value is generated here at test time; only the demo scenario's clearly fake values are
read from the repository.
"""

import asyncio
import base64
import secrets
import string
from pathlib import Path

import pytest

from core.scanners.secrets import SCANNER, deduplicate, detect_secrets_hits, our_hits, scan_tree
from core.scans.scanner import ScanContext, ScannerError, secret_hash
from sandbox.scenario import demo_world

KEY = b"service-key-for-tests"
BASE32 = "abcdefghijklmnopqrstuvwxyz234567"
ALNUM = string.ascii_letters + string.digits


def base32(n: int) -> str:
    while True:  # a random base32 string without any digit is possible (rarely): not what these tests want
        value = "".join(secrets.choice(BASE32) for _ in range(n))
        if any(c.isdigit() for c in value) and any(c.isalpha() for c in value):
            return value


def alnum(n: int) -> str:
    return "".join(secrets.choice(ALNUM) for _ in range(n))


def storage_key() -> str:
    return base64.b64encode(secrets.token_bytes(64)).decode()  # 88 characters, ends with ==


def write(root: Path, files: dict[str, str | bytes]) -> Path:
    for path, content in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content)
    return root


def found(findings) -> set[tuple[str, str, int]]:
    return {(f.rule.id, f.path, f.line) for f in findings}


@pytest.fixture
def planted(tmp_path):
    legacy_pat, new_pat, url_pat = base32(52), alnum(76) + "AZDO" + alnum(4), base32(52)
    account_key, keyword_key = storage_key(), storage_key()
    signature = alnum(43) + "%3D"
    sas = f"https://acct.blob.core.windows.net/c/f.csv?sv=2022-11-02&ss=b&srt=o&sp=r&se=2030-01-01&sig={signature}"
    entra = alnum(3) + "8Q~" + alnum(34)
    shared = base64.b64encode(secrets.token_bytes(32)).decode()  # 44 characters, one "="
    password = "Pw" + alnum(14)
    values = {
        "legacy": legacy_pat,
        "new": new_pat,
        "url_pat": url_pat,
        "account_key": account_key,
        "keyword_key": keyword_key,
        "sas": signature,
        "entra": entra,
        "shared": shared,
        "password": password,
    }
    files = {
        "ci/env.sh": f"#!/bin/sh\nexport AZURE_DEVOPS_EXT_PAT={legacy_pat}\naz devops project list\n",
        "tools/clone.py": f'import os\n\nTOKEN = "{new_pat}"\n',
        "tools/remote.txt": f"origin https://build:{url_pat}@dev.azure.com/contoso/Payments/_git/api (fetch)\n",
        "app/settings.json": (
            '{\n  "storage": "DefaultEndpointsProtocol=https;AccountName=a;'
            f'AccountKey={account_key};EndpointSuffix=core.windows.net"\n}}\n'
        ),
        "deploy/.env": f"AZURE_STORAGE_ACCOUNT=contoso\nAZURE_STORAGE_KEY={keyword_key}\n",
        "docs/howto.md": f"# Download\n\nUse:\n\n    curl '{sas}'\n",
        "auth/app.env": f"AZURE_CLIENT_ID=00000000-0000-0000-0000-000000000000\nAZURE_CLIENT_SECRET={entra}\n",
        "bus/appsettings.json": (
            '{"bus": "Endpoint=sb://contoso.servicebus.windows.net/;SharedAccessKeyName=send;'
            f'SharedAccessKey={shared}"}}\n'
        ),
        "db/conn.cfg": f"# database\nServer=tcp:db.example;Database=pay;User Id=app;Password={password};\n",
    }
    expected = {
        ("SECRET-AZURE-DEVOPS-PAT", "ci/env.sh", 2),
        ("SECRET-AZURE-DEVOPS-PAT", "tools/clone.py", 3),
        ("SECRET-AZURE-DEVOPS-PAT", "tools/remote.txt", 1),
        ("SECRET-AZURE-STORAGE-KEY", "app/settings.json", 2),
        ("SECRET-AZURE-STORAGE-KEY", "deploy/.env", 2),
        ("SECRET-AZURE-SAS-TOKEN", "docs/howto.md", 5),
        ("SECRET-AZURE-AD-CLIENT-SECRET", "auth/app.env", 2),
        ("SECRET-AZURE-SHARED-ACCESS-KEY", "bus/appsettings.json", 1),
        ("SECRET-CONNECTION-STRING-PASSWORD", "db/conn.cfg", 2),
    }
    return write(tmp_path, files), values, expected


def test_generated_azure_secrets_are_found_exactly(planted):
    root, _, expected = planted
    assert found(scan_tree(root, KEY)) == expected


def test_look_alikes_do_not_fire(tmp_path):
    words = "".join(secrets.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(52))
    root = write(
        tmp_path,
        {
            # 52 base32 characters with no keyword on the line: a build id, not a PAT
            "notes/ids.txt": f"build id {base32(52)}\n",
            # keyword context but only letters: a long word, not random base32
            "notes/words.txt": f"token_name = {words}\n",
            # 84 characters without the AZDO signature
            "tools/ids.py": f'REF = "{alnum(84)}"\n',
            # templated and placeholder passwords in connection strings
            "db/template.cfg": (
                "Server=tcp:db;Database=d;User Id=u;Password=$(DB_PASSWORD);\n"
                "Server=tcp:db;Database=d;User Id=u;Password={password};\n"
                "Server=tcp:db;Database=d;User Id=u;Password=<your-password>;\n"
            ),
            # "password=" outside a connection string is the keyword plugin's business, and this one is a reference
            "app/config.py": 'password = os.environ["DB_PASSWORD"]\n',
            # digests and integrity hashes (entropy plugins are off)
            "Dockerfile": f"FROM python:3.12@sha256:{secrets.token_hex(32)}\n",
            "package-lock.json": f'{{"integrity": "sha512-{base64.b64encode(secrets.token_bytes(64)).decode()}"}}\n',
            # a SAS-like query without a service version
            "docs/links.md": f"https://example.com/x?a=1&sig={alnum(40)}\n",
        },
    )
    assert scan_tree(root, KEY) == []


def test_values_never_leave_the_scanner(planted):
    root, values, _ = planted
    findings = scan_tree(root, KEY)
    dumped = repr(findings) + repr([f.__dict__ for f in findings])
    for value in values.values():
        assert value not in dumped
        assert value[4:20] not in dumped  # not even a fragment beyond the preview
    for finding in findings:
        assert finding.identity == finding.secret_hash
        assert finding.message.startswith(finding.rule.title)
    previews = {f.path: f.preview for f in findings}
    assert previews["ci/env.sh"] == f"{values['legacy'][:4]}… (52 chars)"
    assert previews["tools/clone.py"] == f"{values['new'][:4]}… (84 chars)"
    assert previews["app/settings.json"] == f"{values['account_key'][:4]}… (88 chars)"


def test_hashes_are_keyed_and_stable(planted):
    root, values, _ = planted
    first, again, other = scan_tree(root, KEY), scan_tree(root, KEY), scan_tree(root, b"another-key")
    by_path = {f.path: f.secret_hash for f in first}
    assert by_path["ci/env.sh"] == secret_hash(KEY, values["legacy"])
    assert [f.secret_hash for f in again] == [f.secret_hash for f in first]
    assert not {f.secret_hash for f in other} & {f.secret_hash for f in first}
    assert len({f.secret_hash for f in first}) == len(first)


def test_a_secret_moved_within_its_file_keeps_its_identity(tmp_path):
    line = f"conn=AccountName=a;AccountKey={storage_key()}\n"
    [before] = scan_tree(write(tmp_path / "a", {"s.txt": line}), KEY)
    [after] = scan_tree(write(tmp_path / "b", {"s.txt": "# moved\n\n" + line}), KEY)
    assert (before.line, after.line) == (1, 3)
    assert before.identity == after.identity


def test_the_same_secret_twice_in_a_file_is_one_finding(tmp_path):
    pat = base32(52)
    root = write(tmp_path, {"a.sh": f"PAT={pat}\necho\nPAT={pat}\n"})
    assert found(scan_tree(root, KEY)) == {("SECRET-AZURE-DEVOPS-PAT", "a.sh", 1)}


def test_a_password_under_a_host_line_is_reported_on_its_own_line(tmp_path):
    """The connection-string password's delimiter is looked behind, not consumed: a consumed newline put an INI
    file's `password = …` on the line before, under the connection-string rule, because that line named a host."""
    password = "Qx7vLm29" + "Trz"
    root = write(tmp_path, {"db.ini": f"[db]\nhost = db.internal;\npassword = {password}\n"})
    [finding] = scan_tree(root, KEY)
    assert (finding.path, finding.line) == ("db.ini", 3)
    assert finding.rule.id != "SECRET-CONNECTION-STRING-PASSWORD"


def test_two_detectors_on_one_value_keep_the_more_specific(tmp_path):
    pat, key = base32(52), storage_key()
    files = {
        "remote.txt": f"url = https://build:{pat}@dev.azure.com/contoso/_git/api\n",
        "conn.txt": f"DefaultEndpointsProtocol=https;AccountName=a;AccountKey={key}\n",
    }
    root = write(tmp_path, files)
    relatives = sorted(files)
    generic = {(h.rule.id, h.path) for h in detect_secrets_hits(root, relatives, False, None)}
    assert generic == {("SECRET-BASIC-AUTH", "remote.txt"), ("SECRET-AZURE-STORAGE-KEY", "conn.txt")}
    ours = [h for path in relatives for h in our_hits(path, files[path])]
    assert {(h.rule.id, h.path) for h in ours} >= {
        ("SECRET-AZURE-DEVOPS-PAT", "remote.txt"),
        ("SECRET-AZURE-STORAGE-KEY", "conn.txt"),
    }
    kept = deduplicate([*detect_secrets_hits(root, relatives, False, None), *ours])
    assert sorted((h.rule.id, h.path, h.value) for h in kept) == sorted(
        [("SECRET-AZURE-DEVOPS-PAT", "remote.txt", pat), ("SECRET-AZURE-STORAGE-KEY", "conn.txt", key)]
    )


def test_the_walk_skips_git_binaries_and_large_files_visibly_but_reads_utf16(tmp_path):
    pat = base32(52)
    line = f"AZURE_DEVOPS_EXT_PAT={pat}\n"
    root = write(
        tmp_path,
        {
            ".git/config": line,
            "node_modules/x/index.js": line,
            "bin/tool.dat": b"\0\1\2" + line.encode(),
            "big.txt": line + "x" * (2 * 1024 * 1024),
            "scripts/setup.ps1": "\ufeff".encode("utf-16-le") + line.encode("utf-16-le"),
            "scripts/setup.sh": line,
        },
    )
    findings = scan_tree(root, KEY)
    assert found(findings) == {
        ("SECRET-AZURE-DEVOPS-PAT", "scripts/setup.ps1", 1),
        ("SECRET-AZURE-DEVOPS-PAT", "scripts/setup.sh", 1),
        ("SECRET-FILE-NOT-SCANNED", "big.txt", None),  # skipped, and said so
    }
    [skipped] = [f for f in findings if f.path == "big.txt"]
    assert (skipped.rule.severity, skipped.message) == (
        "LOW",
        "Not scanned for secrets: 2.0 MiB, above the 2 MiB limit.",
    )
    assert pat not in repr(skipped)


def test_detect_secrets_plugins_still_run_behind_the_prefilter(tmp_path):
    body = "\n".join(base64.b64encode(secrets.token_bytes(48)).decode() for _ in range(4))
    root = write(
        tmp_path,
        {
            "keys/deploy.pem": f"-----BEGIN RSA PRIVATE KEY-----\n{body}\n-----END RSA PRIVATE KEY-----\n",
            "app/db.py": f'import os\n\ndb_password = "{alnum(20)}"\n',
            "app/plain.py": "def main():\n    return 1\n",
        },
    )
    assert found(scan_tree(root, KEY)) == {
        ("SECRET-PRIVATE-KEY", "keys/deploy.pem", 1),
        ("SECRET-KEYWORD", "app/db.py", 3),
    }


def test_inline_allowlist_pragmas_are_not_honoured(tmp_path):
    root = write(
        tmp_path, {"a.sh": f"export AZURE_DEVOPS_EXT_PAT={base32(52)}  # pragma: allowlist secret\n"}
    )
    assert found(scan_tree(root, KEY)) == {("SECRET-AZURE-DEVOPS-PAT", "a.sh", 1)}


def test_entropy_plugins_only_when_asked(tmp_path):
    blob = base64.b64encode(secrets.token_bytes(60)).decode()
    root = write(tmp_path, {"data.py": f'blob = "{blob}"\n'})
    assert scan_tree(root, KEY) == []
    assert found(scan_tree(root, KEY, entropy=True)) == {("SECRET-HIGH-ENTROPY", "data.py", 1)}


def entropy_sources(tmp_path: Path, name: str, literal: str) -> set[str]:
    root = write(tmp_path / name, {f"{name}.py": f'value = "{literal}"\n'})
    return {hit.source for hit in detect_secrets_hits(root, [f"{name}.py"], True, None)}


def test_each_entropy_limit_can_fire_and_spares_low_entropy_values(tmp_path):
    """Per charset, a random value over its limit and a patterned one under it. The hex limit was 4.0, the most a
    16-symbol alphabet can reach: no hex string ever fired."""
    hex_digits = list("0123456789abcdef")
    secrets.SystemRandom().shuffle(hex_digits)
    random_hex = "".join(hex_digits) + secrets.token_hex(8)  # all 16 symbols, then 16 random: entropy >= 3.7
    assert entropy_sources(tmp_path, "hex", random_hex) == {"HexHighEntropyString"}
    assert entropy_sources(tmp_path, "hex_low", "deadbeef" * 4) == set()
    random_base64 = base64.b64encode(secrets.token_bytes(60)).decode()  # 80 characters: entropy about 5.6
    assert entropy_sources(tmp_path, "b64", random_base64) == {"Base64HighEntropyString"}
    assert entropy_sources(tmp_path, "b64_low", "correct-horse-battery-staple-correct-horse") == set()
    # and the whole scan reports both, as one rule
    root = write(tmp_path / "both", {"a.py": f'h = "{random_hex}"\nb = "{random_base64}"\n'})
    assert found(scan_tree(root, KEY, entropy=True)) == {
        ("SECRET-HIGH-ENTROPY", "a.py", 1),
        ("SECRET-HIGH-ENTROPY", "a.py", 2),
    }
    assert scan_tree(root, KEY) == []


async def test_the_scanner_runs_off_the_event_loop_and_concurrently(planted):
    root, _, expected = planted
    context = ScanContext(root=root, secret_key=KEY)
    results = await asyncio.gather(*(SCANNER.scan(context) for _ in range(4)))
    assert all(found(r) == expected for r in results)
    assert {rule.id for rule in SCANNER.rules} >= {rule for rule, _, _ in expected}


async def test_the_deadline_and_a_missing_root_are_scanner_errors(planted, tmp_path):
    root, _, _ = planted
    with pytest.raises(ScannerError, match="timed out"):
        await SCANNER.scan(ScanContext(root=root, secret_key=KEY, timeout_seconds=-1))
    with pytest.raises(ScannerError):
        await SCANNER.scan(ScanContext(root=tmp_path / "missing", secret_key=KEY))


def demo_repositories():
    for org in demo_world().organizations:
        for project in org.projects:
            yield from project.repositories


def test_the_demo_scenario_plants_exactly_its_secrets(tmp_path):
    names = set()
    for repo in demo_repositories():
        names.add(repo.name)
        findings = scan_tree(write(tmp_path / f"{repo.name}-{repo.id}", repo.files), KEY)
        expected = (
            {
                ("SECRET-AZURE-STORAGE-KEY", "config/appsettings.yaml", 4),
                ("SECRET-AWS-ACCESS-KEY", "deploy/backup.env", 3),
                ("SECRET-AWS-SECRET-KEY", "deploy/backup.env", 4),
            }
            if repo.name == "payments-config"
            else set()
        )
        assert found(findings) == expected, repo.name
    assert {"payments-config", "payments-api", "identity-service", "infra-terraform"} <= names
