"""The real checkov on a generated sample that needs more than the old address-space bound (RLIMIT_AS 1 GiB): our
scanner, with the production defaults, reports exactly what plain checkov reports (same binary, same frameworks, no
bound); a bound far too low is a ScannerError naming it, never a shorter list; files checkov cannot parse are
IAC-PARSE findings of their own."""

import asyncio
import json
import os
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest

from core.scanners import checkov
from core.scanners.checkov import FRAMEWORKS, SCANNER, session_members
from core.scans.scanner import ScanContext, ScannerError
from tests.support.iac_samples import BROKEN, MARKER, SKIPPED, write_sample

OLD_BOUND = 1024**3


def peak_address_space(session: int) -> int:
    """The largest VmPeak (peak address space, what RLIMIT_AS bounds) among the session's processes."""
    peak = 0
    for pid in session_members(session):
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmPeak:"):
                    peak = max(peak, int(line.split()[1]) * 1024)
        except OSError:
            pass
    return peak


def plain_checkov(root: Path, home: Path) -> tuple[list[dict], int]:
    """checkov as a user runs it (parallel workers, no bound), offline; its reports and peak address space."""
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(home),
        "CKV_SKIP_PACKAGE_UPDATE_CHECK": "1",
        "BC_SKIP_MAPPING": "1",
    }
    argv = [str(checkov.DEFAULT_BIN), "-d", str(root), "--skip-download", "-o", "json", "--compact"]
    with open(home / "out.json", "wb") as out:
        process = subprocess.Popen(
            [*argv, "--framework", *FRAMEWORKS],
            stdout=out,
            stderr=subprocess.DEVNULL,
            env=env,
            cwd=home,
            start_new_session=True,
        )
        peak = 0
        while process.poll() is None:
            peak = max(peak, peak_address_space(process.pid))
            time.sleep(0.05)
    assert process.returncode == 1  # checks failed
    reports = json.loads((home / "out.json").read_text())
    return (reports if isinstance(reports, list) else [reports]), peak


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """One plain checkov run and one run of our scanner with the production defaults, on the same sample."""
    root = tmp_path_factory.mktemp("sample")
    write_sample(root)
    plain, peak = plain_checkov(root, tmp_path_factory.mktemp("home"))
    ours = asyncio.run(SCANNER.scan(ScanContext(root=root, secret_key=b"k")))
    return root, plain, peak, ours


def test_the_sample_needs_more_than_the_old_address_space_bound(runs):
    _, _, peak, _ = runs
    assert peak > OLD_BOUND  # measured ~1.5 GiB: under RLIMIT_AS 1 GiB checkov lost a third of these findings


def test_our_findings_are_exactly_plain_checkovs(runs):
    _, plain, _, ours = runs
    expected = Counter(
        (check["check_id"], check["file_path"].lstrip("/"), check["resource"])
        for report in plain
        for check in report["results"]["failed_checks"]
    )
    found = Counter((f.rule.id, f.path, f.identity) for f in ours if f.rule.id != "IAC-PARSE")
    assert sum(expected.values()) > 5000
    assert {path.split("/")[0] for _, path, _ in expected} >= {"tf0", "arm", "cfn", "k8s", "Dockerfile"}
    assert found == expected


def test_unparseable_files_are_findings_of_their_own(runs):
    root, plain, _, ours = runs
    parse = {f.path: f for f in ours if f.rule.id == "IAC-PARSE"}
    assert set(parse) == set(BROKEN)
    listed = {
        path.removeprefix(str(root.resolve()) + "/") for r in plain for path in r["results"]["parsing_errors"]
    }
    assert listed == set(BROKEN) - SKIPPED  # plain checkov never mentions the skipped ones
    assert parse["broken/main.tf"].message == (
        "checkov could not parse this file (as terraform), so none of its checks ran on it"
    )
    assert parse["broken/unterminated.json"].message == (
        "checkov could not parse this file (as arm), so none of its checks ran on it"
    )
    assert parse["broken/template.json"].message == (
        "checkov skipped this file: it is not valid JSON, so none of its checks ran on it"
    )
    assert parse["broken/pod.yaml"].message == (
        "checkov skipped this file: it is not valid YAML, so none of its checks ran on it"
    )
    rule = parse["broken/main.tf"].rule
    assert (rule.id, rule.severity, rule.category) == ("IAC-PARSE", "LOW", "IAC")
    assert rule.title and rule.rationale and rule.remediation
    assert all(f.line is None and f.identity == "unparsed" for f in parse.values())
    assert all(MARKER not in repr(f) for f in ours)  # never the file's content


async def test_a_memory_bound_far_too_low_is_an_error_not_a_shorter_list(runs):
    root, *_ = runs
    with pytest.raises(ScannerError) as error:
        await SCANNER.scan(ScanContext(root=root, secret_key=b"k", memory_limit_bytes=64 * 1024**2))
    assert str(error.value) == (
        "checkov used more than its memory bound (64 MiB resident, memory_limit_bytes) and was stopped: "
        "its report would be incomplete"
    )
    assert not [pid for pid in os.listdir("/proc") if pid.isdigit() and runs_checkov_on(pid, root)]


def runs_checkov_on(pid: str, root: Path) -> bool:
    try:
        return f"--directory={root.resolve()}".encode() in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
