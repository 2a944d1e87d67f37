"""The composition root of jobs: every domain's `register(registry)`, called once, in one place.

`serve` (api/app.py), `worker` (api/worker.py) and the tests build their registry here. A kind that some module
enqueues but no module handles (a surface left out) stops the process at start-up, not a job at run time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import bot.jobs
import core.azure.jobs
import core.connections.jobs
import core.digests.jobs
import core.posture.jobs
import core.retention.jobs
import core.scans.jobs
import core.slack.jobs
from core.jobs.registry import Registry

Register = Callable[[Registry], None]

# The order of the ticks: daily scans, digests, then the hourly prune.
CORE: tuple[Register, ...] = (
    core.azure.jobs.register,
    core.slack.jobs.register,
    core.connections.jobs.register,
    core.scans.jobs.register,
    core.posture.jobs.register,
    core.digests.jobs.register,
    core.retention.jobs.register,
)
SURFACES: tuple[Register, ...] = (bot.jobs.register,)


def build_registry(registers: Iterable[Register] = CORE + SURFACES) -> Registry:
    """Every job kind with its handler, the periodic ticks, the transient-error rules; checked complete."""
    registry = Registry()
    for register in registers:
        register(registry)
    return registry.check()
