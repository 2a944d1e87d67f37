"""The periodic ticks of the embedded default (and of a worker's tick task): the registry's schedules, daily
scans, daily digests and the hourly retention prune among them.

Each tick only enqueues jobs with dedupe keys, so several processes ticking at once enqueue each slot once.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from core.db.columns import utcnow
from core.jobs.runner import registry_of

if TYPE_CHECKING:
    from core.services import Services


log = logging.getLogger(__name__)


async def tick_all(services: Services) -> None:
    now = utcnow()
    for name, tick in registry_of(services).ticks:
        try:
            await tick(services, now)
        except Exception:  # one failing schedule must not stop the other
            log.exception("%s schedule tick failed", name)


async def run_periodic(services: Services, interval: float = 30.0) -> None:
    while True:
        await tick_all(services)
        await asyncio.sleep(interval)
