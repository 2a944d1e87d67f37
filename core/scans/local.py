"""`panoptica scan PATH`: the service's scanners over a local folder or zip, offline, with no database.

The same scanners (`core/scanners/`), the same `ScanContext` (a timeout per scanner, the memory bound, no extra
options) and the same fingerprints as a service scan of that tree. What differs, and why:

- The input: a folder is scanned in place (read only); a zip is extracted with the service's archive limits
  (core/scans/acquisition.py: traversal, links, sizes, counts, compression ratio) into a private temporary
  folder removed on every path out. Anything else is refused with one line (`InputRejected`) before any scanner
  runs.
- Advisories: nothing is fetched. `advisories` names OSV exports on disk (core/dependencies/export_advisories.py);
  without them the dependencies scanner inventories only, and its outcome says so in a note.
- Secret hashes: keyed by the caller's key (the CLI passes `PANOPTICA_SECRET_HASH_KEY` when set, so fingerprints
  match the service's; else a random key per run). Only the hash and the redacted preview ever leave a scanner.
- Completeness: each scanner's outcome is `complete` or `failed` with its reason (a `ScannerError`: timed out,
  killed, not installed, unusable output); a failed scanner never reads as a clean one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import shutil
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from core import severity as severities
from core.dependencies.export_advisories import ExportAdvisories, unusable_export
from core.findings.sarif import RunInfo, sarif_document
from core.scans import acquisition
from core.scans.scanner import (
    RawFinding,
    ScanContext,
    Scanner,
    ScannerError,
    all_scanners,
    fingerprint,
)

log = logging.getLogger(__name__)
COMPLETE, FAILED = "complete", "failed"
JSON_FORMAT_VERSION = 1  # bumped when a field of `as_json` changes meaning or goes away (adding one does not)
NO_ADVISORIES = "inventory only: no advisories offline (pass --advisories PATH, an OSV export)"


class InputRejected(Exception):
    """The path, an archive or an option cannot be scanned; one line, safe to show; nothing was scanned."""


@dataclass(frozen=True)
class LocalFinding:
    """A finding as the service would store it (the attributes core.findings.sarif reads), without a lifecycle."""

    scanner: str
    rule_id: str
    title: str
    description: str
    remediation: str
    help_uri: str
    severity: str
    category: str
    path: str
    line: int | None
    end_line: int | None
    message: str
    fingerprint: str
    preview: str | None  # secrets only: the redacted preview, never the value

    @classmethod
    def from_raw(cls, scanner: str, raw: RawFinding) -> LocalFinding:
        rule = raw.rule
        return cls(
            scanner=scanner,
            rule_id=rule.id,
            title=rule.title,
            description=rule.rationale,
            remediation=rule.remediation,
            help_uri=rule.help_uri,
            severity=rule.severity,
            category=rule.category,
            path=raw.path,
            line=raw.line,
            end_line=raw.end_line,
            message=raw.message,
            fingerprint=fingerprint(rule.id, raw.path, raw.identity),
            preview=raw.preview,
        )


@dataclass(frozen=True)
class ScannerOutcome:
    name: str
    version: str
    status: str  # COMPLETE or FAILED
    findings: int = 0
    reason: str = ""  # why it failed
    note: str = ""  # what a complete result does not cover
    seconds: float = 0.0


@dataclass(frozen=True)
class ScannerEvent:
    """Progress, for a caller that shows it (stderr): `started`, then `complete` or `failed`."""

    scanner: str
    phase: str
    findings: int = 0
    reason: str = ""
    seconds: float = 0.0


@dataclass
class LocalScan:
    target: str  # the path as given
    findings: list[LocalFinding] = field(default_factory=list)  # by severity, then path, line, rule
    outcomes: list[ScannerOutcome] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return all(o.status == COMPLETE for o in self.outcomes)

    def counts(self) -> dict[str, int]:
        counts = {s.value: 0 for s in severities.ORDER}
        for finding in self.findings:
            counts[finding.severity] += 1
        return counts

    def at_or_above(self, severity: str) -> list[LocalFinding]:
        wanted = severities.at_or_above(severity)
        return [f for f in self.findings if f.severity in wanted]


def select_scanners(names: str) -> list[Scanner]:
    """The scanners named (comma-separated; all when empty); an unknown name is refused, never skipped."""
    scanners = all_scanners()
    known = [s.name for s in scanners]
    wanted = {n.strip() for n in names.split(",") if n.strip()}
    unknown = sorted(wanted - set(known))
    if unknown:
        raise InputRejected(f"unknown scanner(s): {', '.join(unknown)} (known: {', '.join(known)})")
    return [s for s in scanners if not wanted or s.name in wanted]


def scan_path(
    path: Path,
    *,
    scanners: list[Scanner],
    secret_key: bytes,
    timeout_seconds: float,
    advisories: list[Path] | None = None,
    progress: Callable[[ScannerEvent], None] | None = None,
) -> LocalScan:
    """Scan a folder or a zip with `scanners`, one after the other as the service does. InputRejected for a
    path, archive or export that cannot be used (before any scanner runs)."""
    for export in advisories or []:
        if (reason := unusable_export(export)) is not None:
            raise InputRejected(f"--advisories {reason}")
    source = ExportAdvisories(advisories) if advisories else None
    with local_root(path) as root:
        context = ScanContext(
            root=root, secret_key=secret_key, timeout_seconds=timeout_seconds, advisories=source
        )
        results, outcomes = asyncio.run(run_scanners(scanners, context, progress or (lambda event: None)))
    return LocalScan(target=str(path), findings=collect(results), outcomes=outcomes)


@contextlib.contextmanager
def local_root(path: Path, limits: acquisition.Limits = acquisition.Limits()) -> Iterator[Path]:
    """The folder to scan: `path` itself, or the zip at `path` extracted into a private folder removed after."""
    if path.is_dir():
        if not os.access(path, os.R_OK | os.X_OK):
            raise InputRejected(f"{path}: the folder cannot be read")
        yield path.resolve()
        return
    if not path.exists():
        raise InputRejected(f"{path}: no such file or folder")
    if not path.is_file() or not zipfile.is_zipfile(path):
        raise InputRejected(f"{path}: neither a folder nor a zip file")
    if path.stat().st_size > limits.archive_bytes:
        raise InputRejected(f"{path}: the zip is larger than {limits.archive_bytes} bytes")
    workdir = Path(tempfile.mkdtemp(prefix="panoptica-local-"))  # mode 0700
    try:
        try:
            acquisition.extract_zip(path, workdir, limits)
        except acquisition.ArchiveRejected as error:
            raise InputRejected(f"{path}: {error.reason}") from None
        yield workdir
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


async def run_scanners(
    scanners: list[Scanner], context: ScanContext, progress: Callable[[ScannerEvent], None]
) -> tuple[dict[str, list[RawFinding]], list[ScannerOutcome]]:
    results: dict[str, list[RawFinding]] = {}
    outcomes = []
    for scanner in scanners:
        progress(ScannerEvent(scanner.name, "started"))
        started = time.monotonic()
        try:
            found = await scanner.scan(context)
        except Exception as error:  # a ScannerError, or a crash: either way the result is missing
            seconds = time.monotonic() - started
            if isinstance(error, ScannerError):
                reason = str(error)[:300]
            else:
                # A bug, not a verdict: the scanner's result is missing, so it fails like any other (exit 2,
                # never the "findings" exit 1). Only the type is shown: an exception's text can quote content.
                log.warning("scanner %s crashed", scanner.name, exc_info=log.isEnabledFor(logging.DEBUG))
                reason = f"crashed ({type(error).__name__}); PANOPTICA_LOG_LEVEL=DEBUG shows where"
            outcomes.append(
                ScannerOutcome(scanner.name, scanner.version, FAILED, reason=reason, seconds=seconds)
            )
            progress(ScannerEvent(scanner.name, FAILED, reason=reason, seconds=seconds))
            continue
        seconds = time.monotonic() - started
        results[scanner.name] = found
        note = NO_ADVISORIES if scanner.name == "dependencies" and context.advisories is None else ""
        outcomes.append(
            ScannerOutcome(scanner.name, scanner.version, COMPLETE, len(found), note=note, seconds=seconds)
        )
        progress(ScannerEvent(scanner.name, COMPLETE, findings=len(found), seconds=seconds))
    return results, outcomes


def collect(results: dict[str, list[RawFinding]]) -> list[LocalFinding]:
    """One finding per fingerprint, as the service stores them (core.findings.lifecycle keeps the first), sorted
    by severity, then path, line and rule."""
    unique: dict[str, LocalFinding] = {}
    for scanner, raws in results.items():
        for raw in raws:
            finding = LocalFinding.from_raw(scanner, raw)
            unique.setdefault(finding.fingerprint, finding)
    return sorted(
        unique.values(),
        key=lambda f: (severities.rank(f.severity), f.path, f.line or 0, f.rule_id, f.fingerprint),
    )


def as_json(scan: LocalScan) -> dict:
    """The documented `--format json` shape (README, "Scanning a folder locally")."""
    return {
        "format_version": JSON_FORMAT_VERSION,
        "target": scan.target,
        "complete": scan.complete,
        "summary": scan.counts(),
        "scanners": [
            {
                "name": o.name,
                "version": o.version,
                "status": o.status,
                "findings": o.findings,
                "reason": o.reason,
                "note": o.note,
            }
            for o in scan.outcomes
        ],
        "findings": [
            {
                "scanner": f.scanner,
                "rule_id": f.rule_id,
                "title": f.title,
                "severity": f.severity,
                "category": f.category,
                "path": f.path,
                "line": f.line,
                "end_line": f.end_line,
                "message": f.message,
                "fingerprint": f.fingerprint,
                **({"preview": f.preview} if f.preview is not None else {}),
                "help_uri": f.help_uri,
            }
            for f in scan.findings
        ],
    }


def as_sarif(scan: LocalScan) -> dict:
    """SARIF 2.1.0 through the service's writer: a run per scanner that ran, each saying whether it completed."""
    runs = {
        o.name: RunInfo(
            version=o.version,
            successful=o.status == COMPLETE,
            notifications=(("error", o.reason),) if o.reason else (("note", o.note),) if o.note else (),
        )
        for o in scan.outcomes
    }
    name = Path(scan.target).resolve().name or "local"  # stable per checkout (Azure Pipelines: `s`)
    return sarif_document(scan.findings, f"local/{name}/", runs)


def local_secret_key(settings) -> bytes:
    """PANOPTICA_SECRET_HASH_KEY when set: secret fingerprints then equal the service's (and stay the same from
    run to run). Else a random key for this run alone: never a fixed, published key, with which anyone holding
    the output could test guesses of a short password against its fingerprint."""
    if settings.secret_hash_key is not None:
        return settings.secret_hash_key.get_secret_value().encode()
    return secrets.token_bytes(32)
