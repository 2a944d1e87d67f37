"""Secrets: exactly what is planted is found, and the values never leave the scanner."""

import base64
import secrets
import string
from pathlib import Path

from core.scanners.secrets import scan_tree
from sandbox.scenario import demo_world

KEY = b"service-key-for-tests"


def base32(n: int) -> str:
    return "".join(secrets.choice("abcdefghijklmnopqrstuvwxyz234567") for _ in range(n))


def alnum(n: int) -> str:
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(n))


def write(root: Path, files: dict[str, str]) -> Path:
    for path, text in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return root


def found(findings) -> set[tuple[str, str, int]]:
    return {(f.rule.id, f.path, f.line) for f in findings}


def test_generated_azure_secrets_are_found_and_never_exposed(tmp_path):
    legacy_pat, new_pat = base32(52), alnum(76) + "AZDO" + alnum(4)
    storage_key = base64.b64encode(secrets.token_bytes(64)).decode()
    sas = "https://acct.blob.core.windows.net/c?sv=2022-11-02&ss=b&srt=o&sp=r&se=2030-01-01&sig=" + alnum(40)
    values = [legacy_pat, new_pat, storage_key, sas.rsplit("=", 1)[1]]
    root = write(
        tmp_path,
        {
            "ci/env.sh": f"export AZURE_DEVOPS_EXT_PAT={legacy_pat}\n",
            "tools/clone.py": f'TOKEN = "{new_pat}"\n',
            "app/settings.json": f'{{"storage": "DefaultEndpointsProtocol=https;AccountName=a;AccountKey={storage_key}"}}\n',
            "docs/howto.md": f"Download with:\n\n    curl '{sas}'\n",
            "notes/ids.txt": f"build id {base32(52)}\n",  # base32 without keyword context: not a PAT
            "db/conn.cfg": "Server=tcp:x;Database=d;User Id=u;Password=Hunter2Pass;\n",
        },
    )
    findings = scan_tree(root, KEY)
    assert found(findings) == {
        ("SECRET-AZURE-DEVOPS-PAT", "ci/env.sh", 1),
        ("SECRET-AZURE-DEVOPS-PAT", "tools/clone.py", 1),
        ("SECRET-AZURE-STORAGE-KEY", "app/settings.json", 1),
        ("SECRET-AZURE-SAS-TOKEN", "docs/howto.md", 3),
        ("SECRET-CONNECTION-STRING-PASSWORD", "db/conn.cfg", 1),
    }
    dumped = repr(findings)
    for value in [*values, "Hunter2Pass"]:
        assert value not in dumped
    pat_finding = next(f for f in findings if f.path == "ci/env.sh")
    assert pat_finding.preview == f"{legacy_pat[:4]}… (52 chars)"
    assert pat_finding.secret_hash == pat_finding.identity
    again = scan_tree(root, KEY)
    other_key = scan_tree(root, b"another-key")
    assert {f.secret_hash for f in again} == {f.secret_hash for f in findings}
    assert not {f.secret_hash for f in other_key} & {f.secret_hash for f in findings}


def test_a_secret_moved_within_its_file_keeps_its_identity(tmp_path):
    key = base64.b64encode(secrets.token_bytes(64)).decode()
    line = f"conn=AccountName=a;AccountKey={key}\n"
    [before] = scan_tree(write(tmp_path / "a", {"s.txt": line}), KEY)
    [after] = scan_tree(write(tmp_path / "b", {"s.txt": "# moved\n\n" + line}), KEY)
    assert (before.line, after.line) == (1, 3) and before.identity == after.identity


def test_the_demo_scenario_plants_exactly_two_secrets(tmp_path):
    for org in demo_world().organizations:
        for project in org.projects:
            for repo in project.repositories:
                findings = scan_tree(write(tmp_path / repo.id, repo.files), KEY)
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
