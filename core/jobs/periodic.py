"""The periodic ticks of the embedded default: daily scans, daily digests and the hourly retention prune.

Each tick only enqueues jobs with dedupe keys, so several processes ticking at once enqueue each slot once.
"""

from __future__ import annotations

import asyncio
import logging

from core.db.columns import utcnow
from core.digests import schedule as digests
from core.retention import flows as retention
from core.scans import schedule as scans

log = logging.getLogger(__name__)
TICKS = (("scans", scans.tick), ("digests", digests.tick), ("retention", retention.tick))


async def tick_all(services) -> None:
    now = utcnow()
    for name, tick in TICKS:
        try:
            await tick(services, now)
        except Exception:  # one failing schedule must not stop the other
            log.exception("%s schedule tick failed", name)


async def run_periodic(services, interval: float = 30.0) -> None:
    while True:
        await tick_all(services)
        await asyncio.sleep(interval)
