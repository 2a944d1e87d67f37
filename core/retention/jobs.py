"""The hourly retention prune, as a job and its schedule."""

from __future__ import annotations

from core.jobs.registry import Registry
from core.retention import flows
from core.retention.payloads import PRUNE


def register(registry: Registry) -> None:
    registry.add(PRUNE, flows.prune_job)
    registry.tick("retention", flows.tick)
