"""`panoptica scan PATH`, run as a user runs it: the installed command in a subprocess, the real scanners (real
checkov from `.venv-checkov`, real semgrep from `.venv-semgrep`, real detect-secrets) over the demo repositories
written to a folder, in every format, with its exit codes, zip input and bad inputs."""

from __future__ import annotations

import json
import os
import re
import secrets
import string
import subprocess
import sys
import zipfile
from pathlib import Path

import jsonschema
import pytest

from core.scans.scanner import SEVERITIES, fingerprint, secret_hash
from sandbox.osv import default_advisories
from sandbox.scenario import demo_world
from tests.data import sarif_schema

PANOPTICA = Path(sys.executable).parent / "panoptica"  # .venv/bin/panoptica, as installed by `make`
KEY = "test-secret-hash-key"
ALL_SCANNERS = ["checkov", "dependencies", "pipelines", "secrets", "semgrep"]
# Planted in the demo repositories (sandbox/scenarios), one or more per scanner.
DEMO_EXPECTED = {
    ("CKV_AZURE_59", "infra-terraform/main.tf"),  # public storage account
    ("CKV_K8S_16", "k8s-manifests/deployments/payments-api.yaml"),  # privileged container
    ("CKV_DOCKER_7", "payments-api/Dockerfile"),  # FROM ...:latest
    ("ADO-PIPE-10", "payments-api/azure-pipelines.yml"),  # Build.SourceBranch pasted into a script
    ("ADO-PIPE-10", "data-pipelines/azure-pipelines.yml"),
    ("SECRET-AWS-ACCESS-KEY", "payments-config/deploy/backup.env"),
    ("SECRET-AZURE-STORAGE-KEY", "payments-config/config/appsettings.yaml"),
    ("SECRET-GITHUB-TOKEN", "planted/ci.env"),  # ours, generated below
    ("GHSA-jfh8-c2jp-5v3q", "mfa-bridge/pom.xml"),  # log4j-core 2.14.1
    ("GHSA-8q59-q68h-6hv4", "payments-api/requirements.txt"),  # PyYAML 5.3
    ("CODE-CS-001", "merchant-portal/src/Api/Controllers/OrdersController.cs"),  # SQL injection
    ("CODE-PY-009", "payments-api/app/views.py"),  # yaml.load with yaml.Loader
}


def run(*args: str, env: dict | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """The command with no PANOPTICA_* setting from the caller's environment (only what a test gives)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("PANOPTICA_")}
    return subprocess.run(
        [str(PANOPTICA), "scan", *args],
        env={**base, **(env or {})},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def github_token() -> str:
    """Always with a digit: `credential_like_words` finds the value by its digits (one run in ~550 drew none)."""
    alphabet = string.ascii_letters + string.digits
    body = [secrets.choice(alphabet) for _ in range(35)]
    body.insert(secrets.randbelow(36), secrets.choice(string.digits))
    return "ghp_" + "".join(body)


def write_demo(root: Path) -> None:
    for org in demo_world().organizations:
        for project in org.projects:
            for repo in project.repositories:
                for path, text in repo.files.items():
                    target = root / repo.name / path
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_text(text)


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> tuple[Path, str]:
    """The demo organizations' repositories, one folder each, plus a generated GitHub token in a file."""
    root = tmp_path_factory.mktemp("demo")
    write_demo(root)
    token = github_token()
    (root / "planted").mkdir()
    (root / "planted" / "ci.env").write_text(f"GITHUB_TOKEN={token}\n")
    return root, token


@pytest.fixture(scope="module")
def advisories(tmp_path_factory) -> Path:
    """The emulator's OSV advisories as an OSV export folder (one JSON record per file)."""
    folder = tmp_path_factory.mktemp("osv")
    for record in default_advisories():
        (folder / f"{record['id']}.json").write_text(json.dumps(record))
    return folder


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("scratch")


@pytest.fixture(scope="module")
def full_json(demo, advisories, scratch):
    """All scanners, --format json --output FILE."""
    root, _ = demo
    output = scratch / "report.json"
    done = run(str(root), "--format", "json", "--output", str(output), "--advisories", str(advisories),
               env={"PANOPTICA_SECRET_HASH_KEY": KEY})  # fmt: skip
    return done, json.loads(output.read_text()), output.read_text()


@pytest.fixture(scope="module")
def full_sarif(demo, advisories):
    """All scanners, --format sarif on stdout."""
    root, _ = demo
    done = run(str(root), "--format", "sarif", "--advisories", str(advisories),
               env={"PANOPTICA_SECRET_HASH_KEY": KEY})  # fmt: skip
    return done


@pytest.fixture(scope="module")
def full_table(demo, advisories):
    """All scanners, the default table on stdout."""
    root, _ = demo
    return run(str(root), "--advisories", str(advisories), env={"PANOPTICA_SECRET_HASH_KEY": KEY})


def pairs(report: dict) -> set[tuple[str, str]]:
    return {(f["rule_id"], f["path"]) for f in report["findings"]}


def test_json_has_the_planted_findings_and_every_scanner_complete(full_json, demo):
    done, report, _ = full_json
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""  # the result went to the file; stdout carries nothing else
    assert report["format_version"] == 1
    assert report["complete"] is True
    assert [(s["name"], s["status"], s["reason"]) for s in report["scanners"]] == [
        (name, "complete", "") for name in ALL_SCANNERS
    ]
    assert pairs(report) >= DEMO_EXPECTED
    for scanner in report["scanners"]:
        assert scanner["findings"] == sum(f["scanner"] == scanner["name"] for f in report["findings"])
    assert report["summary"] == {s: sum(f["severity"] == s for f in report["findings"]) for s in SEVERITIES}
    # Progress went to stderr: each scanner started and finished, with its count.
    for scanner in report["scanners"]:
        assert f"panoptica: {scanner['name']}: started" in done.stderr
        assert f"panoptica: {scanner['name']}: complete, {scanner['findings']} finding" in done.stderr


def test_json_findings_shape_and_order(full_json, demo):
    _, report, _ = full_json
    findings = report["findings"]
    keys = {"scanner", "rule_id", "title", "severity", "category", "path", "line", "end_line", "message"}
    for finding in findings:
        assert keys | {"fingerprint", "help_uri"} <= finding.keys()
        assert ("preview" in finding) == (finding["category"] == "SECRET")
        assert re.fullmatch(r"[0-9a-f]{64}", finding["fingerprint"])
    order = [(SEVERITIES.index(f["severity"]), f["path"], f["line"] or 0) for f in findings]
    assert order == sorted(order)
    assert len({f["fingerprint"] for f in findings}) == len(findings)


def test_a_secret_is_a_preview_and_the_services_fingerprint(full_json, demo):
    """With PANOPTICA_SECRET_HASH_KEY, the fingerprint is the one the service stores for that secret."""
    _, report, _ = full_json
    _, token = demo
    (planted,) = [f for f in report["findings"] if f["path"] == "planted/ci.env"]
    assert planted["rule_id"] == "SECRET-GITHUB-TOKEN"
    assert planted["severity"] == "CRITICAL"
    assert planted["preview"] == "ghp_… (40 chars)"
    assert planted["fingerprint"] == fingerprint(
        "SECRET-GITHUB-TOKEN", "planted/ci.env", secret_hash(KEY.encode(), token)
    )


def credential_like_words(root: Path, report: dict) -> set[str]:
    """The words with a digit on each line where a secret was found: the secret values (and a little more)."""
    words = set()
    for finding in report["findings"]:
        if finding["category"] == "SECRET":
            line = (root / finding["path"]).read_text().splitlines()[finding["line"] - 1]
            words |= {w for w in re.findall(r"[A-Za-z0-9+/_\-]{12,}", line) if re.search(r"\d", w)}
    return words


def test_no_secret_value_in_any_output(full_json, full_sarif, full_table, demo):
    root, token = demo
    done, report, text = full_json
    values = credential_like_words(root, report)
    assert token in values and len(values) >= 4
    outputs = [text, done.stderr, full_sarif.stdout, full_sarif.stderr, full_table.stdout, full_table.stderr]
    for output in outputs:
        assert not [value for value in values if value in output]


def test_sarif_is_valid_and_says_the_same(full_sarif, full_json):
    assert full_sarif.returncode == 0, full_sarif.stderr
    sarif = json.loads(full_sarif.stdout)  # stdout is the document and nothing else
    schema = sarif_schema()
    jsonschema.Draft4Validator(schema).validate(sarif)
    _, report, _ = full_json
    assert [run["tool"]["driver"]["name"] for run in sarif["runs"]] == [
        f"panoptica-{n}" for n in ALL_SCANNERS
    ]
    assert all(run["invocations"][0]["executionSuccessful"] for run in sarif["runs"])
    results = {
        (
            r["ruleId"],
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            r["locations"][0]["physicalLocation"]["region"]["startLine"],
            r["partialFingerprints"]["primaryLocationLineHash"],
        )
        for run in sarif["runs"]
        for r in run["results"]
    }
    assert results == {
        (f["rule_id"], f["path"], f["line"] or 1, f"{f['fingerprint']}:1") for f in report["findings"]
    }
    for run in sarif["runs"]:
        rules = run["tool"]["driver"]["rules"]
        assert all(rules[r["ruleIndex"]]["id"] == r["ruleId"] for r in run["results"])


def test_table_lists_every_finding_most_severe_first_with_a_summary(full_table, full_json):
    assert full_table.returncode == 0, full_table.stderr
    _, report, _ = full_json
    lines = full_table.stdout.splitlines()
    assert lines[0].split() == ["SEVERITY", "RULE", "LOCATION", "MESSAGE"]
    rows = [line.split()[:3] for line in lines[1 : 1 + len(report["findings"])]]
    assert rows == [
        [f["severity"], f["rule_id"], f"{f['path']}:{f['line']}" if f["line"] else f["path"]]
        for f in report["findings"]
    ]
    assert lines[1 + len(report["findings"])] == ""
    summary = lines[-1]
    counts = ", ".join(f"{n} {s}" for s, n in report["summary"].items())
    assert summary.startswith(f"{len(report['findings'])} findings ({counts}); scanners: ")
    for scanner in report["scanners"]:
        assert f"{scanner['name']} complete ({scanner['findings']} finding" in summary
    assert "planted/ci.env:1" in full_table.stdout and "[ghp_… (40 chars)]" in full_table.stdout


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    """A pipeline with a debug variable and a script: a few findings, none of them a secret."""
    root = tmp_path_factory.mktemp("small")
    (root / "azure-pipelines.yml").write_text(
        "trigger: [main]\npool: {vmImage: ubuntu-latest}\nvariables:\n  system.debug: true\n"
        "steps:\n  - script: echo $(Build.SourceBranch)\n"
    )
    return root


def test_fail_on_exits_1_at_or_above_the_severity_only(small):
    report = json.loads(run(str(small), "--scanners", "pipelines,secrets", "--format", "json").stdout)
    assert report["findings"] and report["complete"]
    worst = min(SEVERITIES.index(f["severity"]) for f in report["findings"])
    assert run(str(small), "--scanners", "pipelines,secrets", "--quiet").returncode == 0  # no --fail-on
    for index, severity in enumerate(SEVERITIES):
        done = run(str(small), "--scanners", "pipelines,secrets", "--fail-on", severity.lower(), "--quiet")
        assert done.returncode == (1 if index >= worst else 0), (severity, done.stderr)
        assert done.stdout.splitlines()[-1].startswith(f"{len(report['findings'])} finding")


def test_a_clean_folder_passes_the_strictest_fail_on(tmp_path):
    (tmp_path / "README.md").write_text("# Nothing to see\n")
    done = run(str(tmp_path), "--scanners", "pipelines,secrets,dependencies", "--fail-on", "INFO")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("no findings\n")


def test_dependencies_without_advisories_say_inventory_only(small):
    report = json.loads(run(str(small), "--scanners", "dependencies", "--format", "json").stdout)
    (outcome,) = report["scanners"]
    assert outcome["status"] == "complete"
    assert "no advisories" in outcome["note"] and "--advisories" in outcome["note"]


def test_a_zipped_export_gives_the_same_dependency_findings(demo, advisories, tmp_path):
    root, _ = demo
    export = tmp_path / "all.zip"
    with zipfile.ZipFile(export, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(advisories.iterdir()):
            archive.write(file, file.name)
    results = []
    for source in (advisories, export):
        done = run(str(root), "--scanners", "dependencies", "--format", "json", "--advisories", str(source))
        assert done.returncode == 0, done.stderr
        results.append(json.loads(done.stdout)["findings"])
    assert results[0] == results[1]
    assert {("GHSA-jfh8-c2jp-5v3q", "mfa-bridge/pom.xml")} <= {(f["rule_id"], f["path"]) for f in results[0]}


def test_an_unusable_export_fails_the_dependencies_scanner(demo, tmp_path):
    root, _ = demo
    (tmp_path / "broken.json").write_text('{"not": "an OSV record"}')
    done = run(
        str(root), "--scanners", "dependencies,secrets", "--format", "json", "--advisories", str(tmp_path)
    )
    assert done.returncode == 2
    report = json.loads(done.stdout)
    assert report["complete"] is False
    outcomes = {s["name"]: (s["status"], s["reason"]) for s in report["scanners"]}
    assert outcomes["dependencies"][0] == "failed" and "not an OSV record" in outcomes["dependencies"][1]
    assert outcomes["secrets"] == ("complete", "")


def test_a_failed_scanner_exits_2_and_keeps_the_others_results(demo, scratch):
    root, _ = demo
    output = scratch / "partial.sarif"
    done = run(str(root), "--scanners", "checkov,secrets", "--format", "sarif", "--output", str(output),
               "--fail-on", "CRITICAL", env={"PANOPTICA_CHECKOV_BIN": str(scratch / "no-such-checkov")})  # fmt: skip
    assert done.returncode == 2  # incomplete wins over "a CRITICAL finding exists"
    sarif = json.loads(output.read_text())
    runs = {run["tool"]["driver"]["name"]: run for run in sarif["runs"]}
    checkov = runs["panoptica-checkov"]["invocations"][0]
    assert checkov["executionSuccessful"] is False
    assert "not installed" in checkov["toolExecutionNotifications"][0]["message"]["text"]
    assert checkov["toolExecutionNotifications"][0]["level"] == "error"
    assert runs["panoptica-checkov"]["results"] == []
    assert {r["ruleId"] for r in runs["panoptica-secrets"]["results"]} >= {"SECRET-GITHUB-TOKEN"}
    assert "panoptica: checkov: FAILED" in done.stderr


def test_a_scanner_past_its_timeout_fails_the_run(demo):
    root, _ = demo
    done = run(str(root), "--scanners", "checkov", "--timeout", "0.01")
    assert done.returncode == 2
    assert "checkov FAILED (checkov timed out after 0.01 s)" in done.stdout.splitlines()[-1]


def test_secret_fingerprints_follow_the_key(demo):
    """Without PANOPTICA_SECRET_HASH_KEY each run has its own random key: secret fingerprints change from run to
    run (other findings' do not); with it they are stable."""
    root, _ = demo

    def prints(env=None):
        report = json.loads(
            run(str(root), "--scanners", "secrets,pipelines", "--format", "json", env=env).stdout
        )
        return {
            secret: {f["fingerprint"] for f in report["findings"] if (f["category"] == "SECRET") == secret}
            for secret in (True, False)
        }

    first, second = prints(), prints()
    assert first[False] == second[False] and first[False]
    assert first[True].isdisjoint(second[True]) and first[True]
    keyed = {"PANOPTICA_SECRET_HASH_KEY": KEY}
    assert prints(keyed) == prints(keyed)


def zip_folder(root: Path, archive_path: Path) -> None:
    with zipfile.ZipFile(archive_path, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(root.rglob("*")):
            if file.is_file():
                archive.write(file, file.relative_to(root).as_posix())


def test_a_zip_is_scanned_like_the_folder_and_leaves_nothing_behind(demo, tmp_path):
    root, _ = demo
    archive = tmp_path / "demo.zip"
    zip_folder(root, archive)
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    env = {"PANOPTICA_SECRET_HASH_KEY": KEY, "TMPDIR": str(temporary)}
    from_zip = run(str(archive), "--scanners", "secrets,pipelines", "--format", "json", env=env)
    from_folder = run(str(root), "--scanners", "secrets,pipelines", "--format", "json", env=env)
    assert from_zip.returncode == 0, from_zip.stderr
    zipped, plain = json.loads(from_zip.stdout), json.loads(from_folder.stdout)
    assert zipped["findings"] == plain["findings"]
    assert ("SECRET-GITHUB-TOKEN", "planted/ci.env") in pairs(zipped)
    assert list(temporary.iterdir()) == []  # the extraction folder is gone


def bad_zip(path: Path, entries: list[tuple[str, bytes]]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries:
            archive.writestr(name, data)
    return path


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("missing", "no such file or folder"),
        ("text", "neither a folder nor a zip file"),
        ("traversal", "Archive entry climbs out of the repository: '../evil.txt'."),
        ("bomb", "Compression ratio above 200 (a zip bomb?): 'zeros.bin'."),
        ("broken", "The archive is not a valid zip file"),
        ("scanner", "unknown scanner(s): nope (known: checkov, dependencies, pipelines, secrets, semgrep)"),
        ("advisories", "--advisories"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_nothing_written(case, expected, tmp_path):
    target, options = tmp_path / "input", []
    if case == "text":
        target.write_text("not a zip\n")
    elif case == "traversal":
        bad_zip(target, [("ok.txt", b"fine"), ("../evil.txt", b"escaped")])
    elif case == "bomb":
        bad_zip(target, [("zeros.bin", bytes(8 * 1024 * 1024))])
    elif case == "broken":
        valid = bad_zip(tmp_path / "valid.zip", [("a.txt", b"x" * 1000)]).read_bytes()
        target.write_bytes(valid[:30] + b"\0" * 40 + valid[70:])  # the end record stays, the entry is garbage
    elif case in ("scanner", "advisories"):
        target.mkdir()
        options = ["--scanners", "nope"] if case == "scanner" else ["--advisories", str(tmp_path / "absent")]
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    output = tmp_path / "report.json"
    done = run(
        str(target), *options, "--format", "json", "--output", str(output), env={"TMPDIR": str(temporary)}
    )
    assert done.returncode == 2
    assert done.stdout == ""
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("panoptica: ") and expected in line
    assert not output.exists()
    assert not (tmp_path / "evil.txt").exists()
    assert list(temporary.iterdir()) == []


@pytest.mark.parametrize(
    "options",
    [
        ["--fail-on", "SEVERE"],
        ["--timeout", "0"],
        ["--format", "xml"],
        ["--output", "/no/such/folder/r.json"],
    ],
)
def test_bad_options_exit_2_before_scanning(options, tmp_path):
    (tmp_path / "README.md").write_text("# hi\n")
    done = run(str(tmp_path), *options)
    assert done.returncode == 2
    assert done.stdout == ""
    assert "started" not in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("panoptica")
