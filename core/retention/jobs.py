"""The hourly retention prune, as a job and its schedule."""

from __future__ import annotations

from core.jobs.registry import Registry
from core.retention import flows


def register(registry: Registry) -> None:
    registry.add(flows.JOB, flows.prune_job)
    registry.tick("retention", flows.tick)
