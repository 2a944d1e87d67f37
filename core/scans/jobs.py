"""The scans' jobs: a repository's scan, a connection's scan (daily or on demand), and the daily schedule."""

from __future__ import annotations

from core.jobs.registry import Registry
from core.scans import schedule, service
from core.scans.payloads import SCAN_CONNECTION, SCAN_REPOSITORY


def register(registry: Registry) -> None:
    registry.add(SCAN_REPOSITORY, service.scan_repository_job)
    registry.add(SCAN_CONNECTION, schedule.scan_connection_job)
    registry.tick("scans", schedule.tick)
