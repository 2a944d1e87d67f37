"""Building the day's digests into the outbox: one DigestOutbox row per (subscription, day), built once.

The summary is read here (core); the message is rendered by the function the caller passes (`bot/digests.py`
passes its Block Kit renderer), and stored whole, so delivery only ever sends what was stored.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.db import session_scope
from core.db.columns import utcnow
from core.digests.models import DigestOutbox
from core.digests.payloads import DELIVER_DIGESTS, DeliverDigests
from core.digests.summary import DigestSummary, load_summary
from core.jobs import service as jobs
from core.jobs.models import Job
from core.jobs.runner import RetryLater
from core.slack.models import SlackSubscription

if TYPE_CHECKING:
    from core.services import Services


log = logging.getLogger(__name__)
DELIVER = DELIVER_DIGESTS.name
Renderer = Callable[[DigestSummary], dict]  # -> {"text": str, "blocks": [dict, ...]}


async def subscriptions_to_build(session: AsyncSession, day: str) -> list[SlackSubscription]:
    """Active subscriptions without a digest for `day` yet."""
    built = select(DigestOutbox.subscription_id).where(DigestOutbox.day == day)
    query = (
        select(SlackSubscription)
        .where(col(SlackSubscription.disabled_at).is_(None), col(SlackSubscription.id).not_in(built))
        .order_by(SlackSubscription.team_id, SlackSubscription.channel_id, SlackSubscription.id)
    )
    return list((await session.exec(query)).all())


async def add_digest(
    session: AsyncSession, subscription: SlackSubscription, day: str, message: dict, built_at: datetime
) -> DigestOutbox | None:
    """Adds the row in the caller's transaction; None when the (subscription, day) digest exists already."""
    row = DigestOutbox(
        subscription_id=subscription.id,
        day=day,
        channel_id=subscription.channel_id,
        team_id=subscription.team_id,
        message=message,
        next_attempt_at=built_at,
        created_at=built_at,  # where this digest's period ends and the next one's starts
    )
    try:
        async with session.begin_nested():
            session.add(row)
            await session.flush()
    except IntegrityError:  # a concurrent build won the (subscription, day) pair
        return None
    return row


async def build_day(services: Services, day: str, render: Renderer) -> int:
    """Builds the missing digests of `day`, one transaction per subscription, then asks for delivery.

    Idempotent: a second build for the same day (a retried job, a restart mid-build) only adds the rows still
    missing. Returns how many rows this call added.
    """
    async with services.sessions() as session:
        subscriptions = await subscriptions_to_build(session, day)
    added, failed = 0, 0
    for subscription in subscriptions:
        try:
            async with session_scope(services.sessions) as session:
                built_at = utcnow()
                summary = await load_summary(session, subscription, day, built_at)
                if await add_digest(session, subscription, day, render(summary), built_at) is not None:
                    added += 1
        except Exception:  # one broken subscription must not hold back the others
            log.exception("digest for subscription %s on %s not built", subscription.id, day)
            failed += 1
    async with session_scope(services.sessions) as session:
        await ensure_delivery(session)
    services.wake_jobs()
    if failed:
        raise RetryLater(f"{failed} digest(s) of {day} not built", retry_after=60)
    return added


async def ensure_delivery(session: AsyncSession, delay_seconds: float = 0) -> Job | None:
    """Enqueues a delivery pass unless one is already waiting (a running one may have passed new rows by)."""
    waiting = select(Job.id).where(Job.kind == DELIVER, Job.status == "queued").limit(1)
    if (await session.exec(waiting)).first() is not None:
        return None
    return await jobs.enqueue(session, DELIVER_DIGESTS, DeliverDigests(), delay_seconds=delay_seconds)


async def delivery_due(session: AsyncSession, now: datetime) -> bool:
    """Is any row waiting for a send: pending and due, or stuck in `sending` past its lease?"""
    return (await session.exec(select(DigestOutbox.id).where(due(now)).limit(1))).first() is not None


def due(now: datetime):
    """Rows a delivery may claim now. For `sending` rows, `next_attempt_at` is the end of the lease."""
    return (col(DigestOutbox.status).in_(("pending", "sending"))) & (col(DigestOutbox.next_attempt_at) <= now)


def seconds_until(when: datetime, now: datetime) -> float:
    return max(0.0, (when - now) / timedelta(seconds=1))
