"""The scans' job kinds and their payloads (stored as these fields, by name, in `jobs.payload`)."""

from __future__ import annotations

from dataclasses import dataclass

from core.jobs.registry import JobKind


@dataclass(frozen=True)
class ScanRepository:
    run_id: str


@dataclass(frozen=True)
class ScanConnection:
    connection_id: str
    slot: str = ""  # the daily slot's ISO time, or "manual:<id>" for an on-demand scan


# At most one scan of a repository runs at once (its job's lock); a scan is retried a few times, then FAILED.
SCAN_REPOSITORY = JobKind("scans.repository", ScanRepository, queue="long", max_attempts=4)
SCAN_CONNECTION = JobKind("scans.connection", ScanConnection, queue="long")
