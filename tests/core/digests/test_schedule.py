"""The daily tick: the build job enqueued once per day after digest_time, and delivery picked up again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import update
from sqlmodel import select

from core.db import session_scope
from core.db.columns import utcnow
from core.digests.models import DigestOutbox
from core.digests.outbox import add_digest
from core.digests.schedule import digest_day, tick
from core.jobs.models import Job
from tests.core.digests.conftest import subscribe


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2030, 1, day, hour, minute, tzinfo=UTC)


async def jobs(db, kind: str) -> list[Job]:
    async with db() as session:
        return list((await session.exec(select(Job).where(Job.kind == kind).order_by(Job.created_at))).all())


def test_digest_day_is_today_once_the_time_has_passed():
    assert digest_day("09:00", at(2, 8, 59)) is None
    assert digest_day("09:00", at(2, 9, 0)) == "2030-01-02"
    assert digest_day("09:00", at(2, 23, 59)) == "2030-01-02"
    assert digest_day("23:30", at(3, 0, 10)) is None  # yesterday's was due yesterday
    later = datetime(2030, 1, 2, 10, 30, tzinfo=UTC).astimezone(timezone(timedelta(hours=2)))
    assert digest_day("09:00", later) == "2030-01-02"  # compared in UTC, whatever the zone of `now`


async def test_tick_enqueues_the_build_once_per_day(services, db):
    services.settings = services.settings.model_copy(update={"digest_time": "09:00"})
    assert (await tick(services, at(2, 8, 59)))["build"] is None
    assert (await tick(services, at(2, 9, 0)))["build"] == "2030-01-02"
    assert (await tick(services, at(2, 9, 1)))["build"] is None
    assert (await tick(services, at(2, 22, 0)))["build"] is None
    assert (await tick(services, at(3, 8, 0)))["build"] is None
    assert (await tick(services, at(3, 9, 30)))["build"] == "2030-01-03"
    builds = await jobs(db, "digests.build")
    assert [(j.payload, j.dedupe_key) for j in builds] == [
        ({"day": "2030-01-02"}, "digests.build:2030-01-02"),
        ({"day": "2030-01-03"}, "digests.build:2030-01-03"),
    ]
    assert len(services.woken) == 2


async def test_tick_enqueues_delivery_for_a_row_abandoned_in_sending(services, db, account):
    subscription = await subscribe(db, account, "C0SECURITY")
    now = utcnow()
    async with session_scope(db) as session:
        await add_digest(session, subscription, "2030-01-02", {"text": "t"}, now)
        await session.exec(
            update(DigestOutbox).values(status="sending", next_attempt_at=now + timedelta(minutes=5))
        )
    early = now.replace(hour=0, minute=0)  # before digest_time: no build either
    assert await tick(services, early) == {"build": None, "deliver": False}  # leased: not due
    later = now + timedelta(minutes=6)
    assert (await tick(services, later))["deliver"] is True
    assert (await tick(services, later))["deliver"] is False  # one delivery pass waiting is enough
    assert len(await jobs(db, "digests.deliver")) == 1
