"""core.scans.local below the command: a scanner that crashes is a failed scanner (never a shorter clean result),
and an OSV export on disk answers only for the scanned packages, newest record winning."""

import asyncio
import json
import zipfile

from core.dependencies.export_advisories import ExportAdvisories
from core.dependencies.package import Dependency
from core.scans.local import COMPLETE, FAILED, as_json, scan_path
from core.scans.scanner import RawFinding, Rule, ScanContext, ScannerError

RULE = Rule(id="T-1", title="A test rule", severity="LOW", category="IAC")


class Finds:
    name, version, rules = "finds", "1", (RULE,)

    async def scan(self, context: ScanContext) -> list[RawFinding]:
        return [RawFinding(RULE, "a.txt", 1, message="found", identity="a")]


class Crashes:
    name, version, rules = "crashes", "1", ()

    async def scan(self, context: ScanContext) -> list[RawFinding]:
        # An exception whose text quotes what it read: none of it may reach the outcome.
        raise ValueError("could not parse 'password=hunter2-quoted-content'")


class Refuses:
    name, version, rules = "refuses", "1", ()

    async def scan(self, context: ScanContext) -> list[RawFinding]:
        raise ScannerError("the tool is not installed")


def test_a_crash_is_a_failed_scanner_whose_reason_names_only_the_type(tmp_path):
    (tmp_path / "a.txt").write_text("x\n")
    events = []
    scan = scan_path(
        tmp_path,
        scanners=[Finds(), Crashes(), Refuses()],
        secret_key=b"k",
        timeout_seconds=5,
        progress=events.append,
    )
    assert not scan.complete
    outcomes = {o.name: (o.status, o.findings, o.reason) for o in scan.outcomes}
    assert outcomes == {
        "finds": (COMPLETE, 1, ""),
        "crashes": (FAILED, 0, "crashed (ValueError); PANOPTICA_LOG_LEVEL=DEBUG shows where"),
        "refuses": (FAILED, 0, "the tool is not installed"),
    }
    assert "hunter2" not in json.dumps(as_json(scan))
    assert [(e.scanner, e.phase) for e in events] == [
        ("finds", "started"),
        ("finds", COMPLETE),
        ("crashes", "started"),
        ("crashes", FAILED),
        ("refuses", "started"),
        ("refuses", FAILED),
    ]
    assert [(f.rule_id, f.path, f.line) for f in scan.findings] == [("T-1", "a.txt", 1)]


def record(advisory_id: str, modified: str, name: str, introduced: str = "0") -> dict:
    return {
        "id": advisory_id,
        "modified": modified,
        "affected": [
            {
                "package": {"ecosystem": "PyPI", "name": name},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": introduced}]}],
            }
        ],
    }


def test_an_export_answers_for_the_scanned_packages_with_the_newest_records(tmp_path):
    old = tmp_path / "old"
    old.mkdir()
    (old / "A.json").write_text(json.dumps(record("PYSEC-A", "2024-01-01T00:00:00Z", "PyYAML", "1")))
    newer = tmp_path / "newer.zip"
    with zipfile.ZipFile(newer, "w") as archive:
        archive.writestr("A.json", json.dumps(record("PYSEC-A", "2025-01-01T00:00:00Z", "pyyaml")))
        archive.writestr("B.json", json.dumps(record("PYSEC-B", "2025-01-01T00:00:00Z", "unrelated")))
    dep = Dependency("PyPI", "PyYAML", "5.3", "pkg:pypi/pyyaml@5.3", "requirements.txt", 1, True)
    found = asyncio.run(ExportAdvisories([old, newer]).advisories_for([dep]))
    assert list(found) == [("PyPI", "PyYAML", "5.3")]
    (only,) = found[("PyPI", "PyYAML", "5.3")]
    assert (only["id"], only["modified"]) == ("PYSEC-A", "2025-01-01T00:00:00Z")
