"""The scans' jobs: a repository's scan, a connection's scan (daily or on demand), and the daily schedule."""

from __future__ import annotations

from core.jobs.registry import Registry
from core.scans import schedule, service


def register(registry: Registry) -> None:
    registry.add("scans.repository", service.scan_repository_job)
    registry.add("scans.connection", schedule.scan_connection_job)
    registry.tick("scans", schedule.tick)
