"""The SAST scanner with real semgrep from `.venv-semgrep` and our rule pack: the repository cannot steer it,
fingerprints survive line shifts, and a file that times out, does not parse or is too large is a finding, never
a quietly shorter result; a semgrep that fails is a ScannerError."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from core.scanners import sast_rules
from core.scanners.semgrep import MAX_TARGET_BYTES, SCANNER
from core.scans.scanner import ScanContext, ScannerError, fingerprint

RULES = sast_rules.RULES_DIR
KEY = b"test-key"

VULNERABLE_CS = """using System.Runtime.Serialization.Formatters.Binary;

public class Import
{
    public object Read(System.IO.Stream s)
    {
        var formatter = new BinaryFormatter();
        return formatter.Deserialize(s);
    }
}
"""
VULNERABLE_PY = """import pickle


def load(data):
    return pickle.loads(data)
"""


def context(root: Path, **options) -> ScanContext:
    return ScanContext(root=root, secret_key=KEY, timeout_seconds=300, options=options)


async def scan(root: Path, **options) -> set[tuple[str, str, int | None]]:
    return {(f.rule.id, f.path, f.line) for f in await SCANNER.scan(context(root, **options))}


async def test_the_repository_cannot_hide_findings(tmp_path):
    """A root .semgrepignore ignoring everything, a nested one, a .semgrep.yml, and nosemgrep comments."""
    (tmp_path / "src" / "legacy").mkdir(parents=True)
    (tmp_path / "src" / "Import.cs").write_text(VULNERABLE_CS)
    (tmp_path / "src" / "legacy" / "loader.py").write_text(
        VULNERABLE_PY.replace("pickle.loads(data)", "pickle.loads(data)  # nosemgrep")
    )
    (tmp_path / ".semgrepignore").write_text("*\n*.cs\nsrc/\n")
    (tmp_path / "src" / "legacy" / ".semgrepignore").write_text("*.py\n")
    (tmp_path / ".gitignore").write_text("src/\n")
    (tmp_path / ".semgrep.yml").write_text("rules: []\n")
    (tmp_path / ".semgrep").mkdir()
    (tmp_path / ".semgrep" / "settings.yml").write_text("has_shown_metrics_notification: true\n")
    found = await scan(tmp_path)
    assert found == {("CODE-CS-007", "src/Import.cs", 7), ("CODE-PY-008", "src/legacy/loader.py", 5)}


async def test_fingerprints_survive_line_shifts_and_never_hold_the_code(tmp_path):
    key = 'new SymmetricSecurityKey(Encoding.UTF8.GetBytes("planted-demo-key-not-real"))'
    source = f"public class Keys {{\n    SymmetricSecurityKey k = {key};\n}}\n"
    (tmp_path / "Keys.cs").write_text(source)
    first = await SCANNER.scan(context(tmp_path))
    (tmp_path / "Keys.cs").write_text("// a comment\n\n\n" + source)
    second = await SCANNER.scan(context(tmp_path))
    assert [(f.rule.id, f.line) for f in first] == [("CODE-CS-018", 2)]
    assert [(f.rule.id, f.line) for f in second] == [("CODE-CS-018", 5)]
    prints = [{fingerprint(f.rule.id, f.path, f.identity) for f in found} for found in (first, second)]
    assert prints[0] == prints[1]
    for finding in first:
        assert "planted-demo-key" not in finding.message + finding.identity + finding.rule.rationale


async def test_two_identical_matches_in_a_file_are_two_findings(tmp_path):
    body = (
        "import hashlib\n\n\ndef a(x):\n    return hashlib.md5(x)\n\n\ndef b(x):\n    return hashlib.md5(x)\n"
    )
    (tmp_path / "h.py").write_text(body)
    found = await SCANNER.scan(context(tmp_path))
    assert [(f.rule.id, f.line) for f in found] == [("CODE-PY-011", 5), ("CODE-PY-011", 9)]
    assert len({f.identity for f in found}) == 2


async def test_a_file_that_times_out_is_a_finding_and_the_others_are_still_scanned(tmp_path):
    (tmp_path / "Import.cs").write_text(VULNERABLE_CS)
    # A long, deeply repetitive file: several rules exceed a 1 s per-file timeout on it.
    body = "".join(f'        s = s + Request.Query["k{i}"] + "x";\n' for i in range(60000))
    (tmp_path / "Huge.cs").write_text(
        "public class HugeController : Controller {\n    public void M(string p) {\n        var s = p;\n"
        + body
        + "        new SqlCommand(s, conn);\n    }\n}\n"
    )
    found = await SCANNER.scan(context(tmp_path, semgrep_file_timeout=1))
    kinds = {(f.rule.id, f.path) for f in found}
    assert ("CODE-CS-007", "Import.cs") in kinds
    [parse] = [f for f in found if f.rule.id == "CODE-PARSE"]
    assert parse.path == "Huge.cs" and parse.rule.severity == "LOW"
    assert "timed out" in parse.message


async def test_a_too_large_file_is_a_finding_and_a_broken_one_is_still_matched(tmp_path):
    """semgrep skips files above --max-target-bytes without a word: ours says so. It recovers from syntax
    errors (tree-sitter), so a match in a broken file is still found."""
    (tmp_path / "broken.py").write_text("def broken(:\n    pickle.loads(x)\n")
    (tmp_path / "bundle.js").write_text("var a = 1;\n" * (MAX_TARGET_BYTES // 11 + 10))
    (tmp_path / "ok.py").write_text(VULNERABLE_PY)
    found = await SCANNER.scan(context(tmp_path))
    by_path = {f.path: f for f in found if f.rule.id == "CODE-PARSE"}
    assert set(by_path) == {"bundle.js"}
    assert "above the scanner's limit" in by_path["bundle.js"].message
    assert {("CODE-PY-008", "ok.py"), ("CODE-PY-008", "broken.py")} <= {(f.rule.id, f.path) for f in found}


async def test_per_file_errors_semgrep_reports_are_findings(tmp_path):
    """semgrep's per-file errors (as semgrep 1.185 prints them) become CODE-PARSE findings, one per file; an
    error type we do not know, on a file of the repository, too (named, never quoted)."""
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "ok.py").write_text(VULNERABLE_PY)
    (repo / "slow.py").write_text(VULNERABLE_PY)
    errors = [
        {"code": 3, "level": "warn", "type": "Syntax error", "path": f"{repo}/ok.py", "message": "def x(:"},
        {"code": 3, "level": "warn", "type": ["PartialParsing", [{"path": "x"}]], "path": f"{repo}/ok.py"},
        {
            "code": 2,
            "level": "warn",
            "type": "Fixpoint timeout",
            "path": f"{repo}/slow.py",
            "message": "pickle",
        },
    ]
    report = {"results": [], "errors": errors, "paths": {"scanned": [f"{repo}/slow.py"]}}
    (tmp_path / "out.json").write_text(json.dumps(report))
    fake = tmp_path / "semgrep"
    fake.write_text(f"#!/bin/sh\ncat {tmp_path / 'out.json'}\n")
    fake.chmod(0o755)
    found = await SCANNER.scan(context(repo, semgrep_bin=str(fake)))
    assert [(f.rule.id, f.path, f.rule.severity, f.message) for f in found] == [
        ("CODE-PARSE", "ok.py", "LOW",
         "semgrep could not fully analyse this file: it could not be parsed; parts of it could not be parsed"),
        ("CODE-PARSE", "slow.py", "LOW",
         "semgrep could not fully analyse this file: semgrep reported an error on it (Fixpoint timeout)"),
    ]  # fmt: skip


async def test_the_whole_run_timeout_is_a_scanner_error(tmp_path):
    (tmp_path / "ok.py").write_text(VULNERABLE_PY)
    with pytest.raises(ScannerError, match=r"timed out after 0\.5 s"):
        await SCANNER.scan(ScanContext(root=tmp_path, secret_key=KEY, timeout_seconds=0.5))


@pytest.mark.parametrize(
    ("script", "reason"),
    [
        ("echo 'not json'", "no parseable JSON"),
        ("exit 7", "an invalid rule \\(exit code 7\\)"),
        ("kill -9 $$", "killed by signal SIGKILL"),
        (
            'echo \'{"results": [], "errors": [{"type": "Rule parse error", "level": "error"}], "paths": {}}\'',
            "reported an error \\(Rule parse error\\)",
        ),
        ('echo \'{"results": [], "errors": [], "paths": {"scanned": []}}\'', "did not scan ok.py"),
    ],
)
async def test_a_failing_semgrep_is_a_scanner_error(tmp_path, script, reason):
    fake = tmp_path / "bin" / "semgrep"
    fake.parent.mkdir()
    fake.write_text(f"#!/bin/sh\n{script}\n")
    fake.chmod(0o755)
    (tmp_path / "repo").mkdir()
    (tmp_path / "repo" / "ok.py").write_text(VULNERABLE_PY)
    with pytest.raises(ScannerError, match=reason):
        await SCANNER.scan(context(tmp_path / "repo", semgrep_bin=str(fake)))


async def test_no_source_file_means_no_run(tmp_path):
    (tmp_path / "README.md").write_text("# nothing to scan\n")
    fake = tmp_path / "semgrep"
    fake.write_text("#!/bin/sh\nexit 2\n")  # would fail the scan if it ran
    fake.chmod(0o755)
    assert await SCANNER.scan(context(tmp_path, semgrep_bin=str(fake))) == []


def test_the_version_names_semgrep_and_the_rule_pack(tmp_path):
    assert {rule.id for rule in SCANNER.rules} == {"CODE-PARSE", *sast_rules.catalog()}
    assert SCANNER.version.startswith("1.185.0+rules.") and sast_rules.digest() in SCANNER.version
    copy = tmp_path / "rules"
    shutil.copytree(RULES, copy)
    before = sast_rules.digest(copy)
    target = copy / "python" / "CODE-PY-008.yaml"
    target.write_text(target.read_text().replace("pickle.loads(...)", "pickle.loads($X)"))
    assert sast_rules.digest.__wrapped__(copy) != before


async def test_every_extension_we_count_as_scanned_is_scanned_by_semgrep(tmp_path):
    """Our completeness check expects semgrep to select these files: if it did not, every scan of such a
    repository would fail. Hidden and vendored directories, spaces in names, a NUL byte: scanned too."""
    snippets = {
        "python": 'import hashlib\nhashlib.md5(b"x")\n',
        "javascript": 'const crypto = require("crypto");\ncrypto.createHash("md5");\n',
        "typescript": 'const crypto = require("crypto");\ncrypto.createHash("md5");\n',
        "go": 'package main\n\nimport "crypto/md5"\n\nfunc f() {\n\tmd5.Sum(nil)\n}\n',
        "java": 'class A { void m() throws Exception { MessageDigest.getInstance("MD5"); } }\n',
        "csharp": "class A { void M() { var h = MD5.Create(); } }\n",
    }
    expected = set()
    for language, extensions in sast_rules.LANGUAGES.items():
        for extension in extensions:
            path = f".github/{language} dir/a.{extension}"
            (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / path).write_text(snippets[language])
            expected.add(path)
    (tmp_path / "node_modules" / "x").mkdir(parents=True)
    (tmp_path / "node_modules" / "x" / "nul.py").write_text("x = 1\0\n")
    found = await SCANNER.scan(context(tmp_path))
    assert {f.path for f in found if f.rule.id != "CODE-PARSE"} == expected
