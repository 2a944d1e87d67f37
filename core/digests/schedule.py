"""When digests are built: a small periodic tick the API process runs (see core/jobs/periodic.py).

`tick(services, now)` enqueues the day's build once `now` has passed `settings.digest_time` (UTC), as a
durable job with the dedupe key `digests.build:{day}`, so any number of ticks, processes or restarts enqueue
it once per day. It also enqueues a delivery pass when rows are due and none is waiting, which is how a row
abandoned in `sending` by a crashed process is picked up again once its lease ends.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, time
from typing import TYPE_CHECKING

from core.db import session_scope
from core.db.columns import utcnow
from core.digests.outbox import delivery_due, ensure_delivery
from core.digests.payloads import BUILD_DIGESTS, BuildDigests
from core.jobs import service as jobs
from core.jobs.models import Job

if TYPE_CHECKING:
    from core.services import Services


log = logging.getLogger(__name__)
BUILD = BUILD_DIGESTS.name


def digest_day(digest_time: str, now: datetime) -> str | None:
    """The UTC day whose digests are due at `now`: today once `digest_time` has passed, else None."""
    hours, minutes = (int(part) for part in digest_time.split(":"))
    if now.tzinfo is None:
        raise ValueError("naive datetime: pass an aware UTC datetime")
    moment = now.astimezone(UTC)
    if moment.time() < time(hours, minutes):
        return None
    return moment.date().isoformat()


async def enqueue_daily_build(session, day: str) -> Job | None:
    """The day's build job, once: None when it was enqueued before (even if it ran already)."""
    return await jobs.enqueue(session, BUILD_DIGESTS, BuildDigests(day=day), dedupe_key=f"{BUILD}:{day}")


async def tick(services: Services, now: datetime | None = None) -> dict:
    """One scheduling step; returns what it enqueued (for tests and logs)."""
    now = now or utcnow()
    enqueued = {"build": None, "deliver": False}
    async with session_scope(services.sessions) as session:
        day = digest_day(services.settings.digest_time, now)
        if day is not None and await enqueue_daily_build(session, day) is not None:
            enqueued["build"] = day
        if await delivery_due(session, now) and await ensure_delivery(session) is not None:
            enqueued["deliver"] = True
    if enqueued["build"] or enqueued["deliver"]:
        services.wake_jobs()
    return enqueued
