"""Delivering the outbox: each stored digest posted once, at most one message per second per channel.

A delivery pass groups the due rows by channel. Channels proceed concurrently (bounded); within a channel the
rows go one by one, each claimed, posted, and recorded:

1. **claim**: a conditional UPDATE sets the row `sending`, counts the attempt and sets its lease
   (`next_attempt_at` = now + LEASE) and commits. Only one worker wins a row.
2. **post**: `chat.postMessage` with the stored text and blocks, after the channel's pacer allows it.
3. **record**: `sent` with Slack's `ts`; or back to `pending` with a backoff (5xx, network, 429 with its
   `Retry-After`); or `failed` (the message itself is refused, or attempts are exhausted); or `dropped` with the
   subscription disabled and an audit event (the channel or the app is gone).

Guarantee: a crash before (1) commits leaves the row pending; a
crash between (1) and (2) leaves it `sending` until its lease ends, then it is claimed and sent once. Slack has
no idempotency key and we cannot read channel history, so a crash after Slack accepted the post and before (3)
commits, or a timeout after Slack accepted it, posts that digest again after the lease: at-least-once in that
window only (milliseconds wide, one database commit), exactly-once everywhere else.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import aiohttp
from slack_sdk.errors import SlackApiError
from sqlalchemy import update
from sqlmodel import col, select

from core.audit.service import record as audit
from core.db import session_scope
from core.db.columns import utcnow
from core.digests.models import DigestOutbox
from core.digests.outbox import due, ensure_delivery, seconds_until
from core.digests.payloads import DeliverDigests
from core.slack.client import client_for_team
from core.slack.models import SlackSubscription

if TYPE_CHECKING:
    from core.services import Services


log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)  # a row in `sending` longer than this is presumed abandoned (crash) and retried
PER_CHANNEL_INTERVAL = 1.0  # Slack: about one message per second per channel
MAX_CHANNELS = 50  # channels delivered concurrently by one pass
MAX_ATTEMPTS = 8
MAX_INLINE_WAIT = 30.0  # a channel waits this long for a retry within the pass; later ones go to a later pass
MAX_BACKOFF = 900.0
ACTOR = "system:digests"

# The channel (or the whole app in the workspace) is gone: retrying cannot help.
CHANNEL_GONE = {"channel_not_found", "not_in_channel", "is_archived", "channel_is_archived"}
APP_GONE = {
    "account_inactive",
    "token_revoked",
    "token_expired",
    "invalid_auth",
    "not_authed",
    "team_access_not_granted",
    "team_not_found",
    "app_uninstalled",
}
# Slack refuses this message itself: sending it again gives the same answer.
MESSAGE_REFUSED = {
    "invalid_blocks",
    "invalid_blocks_format",
    "msg_too_long",
    "msg_blocks_too_long",
    "no_text",
    "too_many_attachments",
    "invalid_arguments",
    "invalid_metadata_format",
    "invalid_metadata_schema",
}


class Clock:
    """Wall clock and sleep; tests pass a fake to assert the waits without waiting."""

    def now(self) -> datetime:
        return utcnow()

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class Pacer:
    """At most one post per `interval` seconds per key (team, channel); a 429 pushes the key's next slot.

    One pacer per process (`PACER`), shared by every delivery pass, so consecutive passes keep the pace too.
    """

    def __init__(self, interval: float = PER_CHANNEL_INTERVAL, clock: Clock | None = None) -> None:
        self.interval = interval
        self.clock = clock or Clock()
        self._next: dict[tuple[str, str], float] = {}
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}

    def delay(self, key: tuple[str, str]) -> float:
        return max(0.0, self._next.get(key, 0.0) - self.clock.monotonic())

    @contextlib.asynccontextmanager
    async def slot(self, key: tuple[str, str]):
        """Waits for the key's next slot, holds it while the caller posts, and starts the interval when the
        post is answered: Slack counts a post when it arrives, which is before its answer, so the next post
        cannot arrive within `interval` of this one, however long each request takes."""
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            delay = self.delay(key)
            if delay > 0:
                await self.clock.sleep(delay)
            try:
                yield
            finally:
                self._next[key] = max(self._next.get(key, 0.0), self.clock.monotonic() + self.interval)

    def defer(self, key: tuple[str, str], seconds: float) -> None:
        self._next[key] = max(self._next.get(key, 0.0), self.clock.monotonic() + seconds)

    def forget_idle(self) -> None:
        now = self.clock.monotonic()
        idle = [
            k
            for k, at in self._next.items()
            if at < now and not (k in self._locks and self._locks[k].locked())
        ]
        for key in idle:
            self._next.pop(key, None)
            self._locks.pop(key, None)


PACER = Pacer()
_PASS = asyncio.Lock()  # one delivery pass at a time in this process


@dataclass
class PassResult:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    dropped: int = 0
    next_due_in: float | None = None  # seconds until the earliest row still pending, if any
    channels: int = 0
    disabled_subscriptions: list[str] = field(default_factory=list)


@dataclass
class Outcome:
    status: str  # sent, retry, failed, gone
    ts: str | None = None
    error: str = ""
    retry_after: float | None = None
    scope: str = ""  # for "gone": "channel" or "team"


async def deliver_due(
    services: Services,
    *,
    clock: Clock | None = None,
    pacer: Pacer | None = None,
    max_channels: int = MAX_CHANNELS,
    rate_limit_retries: int = 1,
) -> PassResult:
    """One delivery pass over every channel with due rows. Safe to run concurrently with others: rows are
    claimed, never shared."""
    clock = clock or Clock()
    pacer = pacer or PACER
    result = PassResult()
    async with services.sessions() as session:
        keys = (
            await session.exec(
                select(DigestOutbox.team_id, DigestOutbox.channel_id).where(due(clock.now())).distinct()
            )
        ).all()
    result.channels = len(keys)
    clients: dict[str, object] = {}
    client_locks: dict[str, asyncio.Lock] = {}

    # One HTTP session for the pass: connections (and their TLS handshakes) are reused across posts.
    http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))

    async def client(team_id: str):
        async with client_locks.setdefault(team_id, asyncio.Lock()):
            if team_id not in clients:
                web = await client_for_team(
                    services.settings, services.engine, team_id, rate_limit_retries=rate_limit_retries
                )
                if web is not None:
                    web.session = http
                clients[team_id] = web
            return clients[team_id]

    limit = asyncio.Semaphore(max_channels)

    async def channel(key: tuple[str, str]) -> None:
        async with limit:
            await deliver_channel(services, key, client, clock, pacer, result)

    try:
        await asyncio.gather(*(channel((team, chan)) for team, chan in sorted(keys)))
    finally:
        await http.close()
    pacer.forget_idle()
    async with services.sessions() as session:
        later = (
            await session.exec(
                select(DigestOutbox.next_attempt_at)
                .where(col(DigestOutbox.status).in_(("pending", "sending")))
                .order_by(col(DigestOutbox.next_attempt_at))
                .limit(1)
            )
        ).first()
    result.next_due_in = seconds_until(later, clock.now()) if later is not None else None
    return result


async def deliver_channel(
    services: Services, key, client, clock: Clock, pacer: Pacer, result: PassResult
) -> None:
    """The channel's due rows one by one, paced; waits inline for short retries, leaves long ones."""
    team_id, channel_id = key
    while True:
        row = await claim_next(services, team_id, channel_id, clock.now())
        if row is None:
            wait = await next_in_channel(services, team_id, channel_id, clock.now())
            if wait is None or wait > MAX_INLINE_WAIT:
                return
            await clock.sleep(wait)
            continue
        subscription = await load_subscription(services, row.subscription_id)
        if subscription is None or subscription.disabled_at is not None:
            await finish(services, row, status="dropped", error="subscription disabled")
            result.dropped += 1
            continue
        web = await client(team_id)
        if web is None:
            outcome = Outcome("gone", error="app_uninstalled", scope="team")
        else:
            async with pacer.slot(key):
                outcome = await post(web, row)
        if outcome.status == "sent":
            await finish(services, row, status="sent", ts=outcome.ts)
            result.sent += 1
        elif outcome.status == "gone":
            disabled = await disable(services, row, subscription, outcome)
            result.dropped += 1
            result.disabled_subscriptions += disabled
            if outcome.scope == "team":
                return  # the pass's other channels of this team find their rows dropped with their subscriptions
        elif outcome.status == "failed" or row.attempts >= MAX_ATTEMPTS:
            await finish(services, row, status="failed", error=outcome.error)
            log.warning("digest %s to %s failed for good: %s", row.id, channel_id, outcome.error)
            result.failed += 1
        else:
            delay = outcome.retry_after if outcome.retry_after is not None else backoff(row.attempts)
            if outcome.retry_after is not None:
                pacer.defer(key, outcome.retry_after)  # Slack asked the whole channel to wait
            await finish(
                services,
                row,
                status="pending",
                error=outcome.error,
                next_at=clock.now() + timedelta(seconds=delay),
            )
            log.info("digest %s to %s retried in %.1fs: %s", row.id, channel_id, delay, outcome.error)
            result.retried += 1


def backoff(attempts: int) -> float:
    """Exponential with jitter: about 2, 4, 8 ... seconds, at most MAX_BACKOFF."""
    return min(MAX_BACKOFF, 2.0**attempts) * (0.5 + random.random())


async def post(web, row: DigestOutbox) -> Outcome:
    message = row.message or {}
    try:
        answer = await web.chat_postMessage(
            channel=row.channel_id,
            text=message.get("text", ""),
            blocks=message.get("blocks") or None,
            unfurl_links=False,
            unfurl_media=False,
            # Marks our post, for a future duplicate check by anyone who may read the channel's history.
            metadata={"event_type": "panoptica_digest", "event_payload": {"digest_id": row.id}},
        )
    except SlackApiError as error:
        return classify(error)
    except (TimeoutError, aiohttp.ClientError, OSError) as error:
        # May have reached Slack (a timeout after it accepted the post): retried, at least once.
        return Outcome("retry", error=type(error).__name__)
    return Outcome("sent", ts=str(answer.get("ts") or ""))


def classify(error: SlackApiError) -> Outcome:
    response = error.response
    code = str(response.get("error") or "") if isinstance(response.data, dict) else ""
    status = response.status_code
    if status == 429:
        retry_after = response.headers.get("retry-after") or response.headers.get("Retry-After")
        try:
            seconds = float(retry_after) if retry_after is not None else PER_CHANNEL_INTERVAL
        except ValueError:
            seconds = PER_CHANNEL_INTERVAL
        return Outcome("retry", error="ratelimited", retry_after=max(seconds, PER_CHANNEL_INTERVAL))
    if code in CHANNEL_GONE:
        return Outcome("gone", error=code, scope="channel")
    if code in APP_GONE:
        return Outcome("gone", error=code, scope="team")
    if code in MESSAGE_REFUSED:
        return Outcome("failed", error=code)
    return Outcome("retry", error=code or f"HTTP {status}")


# --- the outbox rows --------------------------------------------------------------------------------------


async def claim_next(services: Services, team_id: str, channel_id: str, now: datetime) -> DigestOutbox | None:
    """Claims the channel's next due row: `sending`, one more attempt, leased until now + LEASE."""
    async with session_scope(services.sessions) as session:
        candidates = (
            await session.exec(
                select(DigestOutbox.id)
                .where(DigestOutbox.team_id == team_id, DigestOutbox.channel_id == channel_id, due(now))
                .order_by(col(DigestOutbox.next_attempt_at), col(DigestOutbox.created_at), DigestOutbox.id)
                .limit(5)
            )
        ).all()
        for row_id in candidates:
            won = await session.exec(
                update(DigestOutbox)
                .where(col(DigestOutbox.id) == row_id, due(now))
                .values(status="sending", attempts=DigestOutbox.attempts + 1, next_attempt_at=now + LEASE)
                .execution_options(synchronize_session=False)
            )
            if won.rowcount == 1:
                return (await session.exec(select(DigestOutbox).where(DigestOutbox.id == row_id))).one()
    return None


async def next_in_channel(services: Services, team_id: str, channel_id: str, now: datetime) -> float | None:
    async with services.sessions() as session:
        when = (
            await session.exec(
                select(DigestOutbox.next_attempt_at)
                .where(
                    DigestOutbox.team_id == team_id,
                    DigestOutbox.channel_id == channel_id,
                    DigestOutbox.status == "pending",
                )
                .order_by(col(DigestOutbox.next_attempt_at))
                .limit(1)
            )
        ).first()
    return seconds_until(when, now) if when is not None else None


async def load_subscription(services: Services, subscription_id: str) -> SlackSubscription | None:
    async with services.sessions() as session:
        return await session.get(SlackSubscription, subscription_id)


async def finish(
    services: Services,
    row: DigestOutbox,
    *,
    status: str,
    ts: str | None = None,
    error: str = "",
    next_at: datetime | None = None,
) -> None:
    """Records an attempt's end, fenced on the claim (status `sending`, same attempt number): a worker whose
    lease ran out cannot overwrite what the row's new owner records."""
    values: dict = {"status": status, "last_error": error[:300]}
    if ts is not None:
        values["sent_ts"] = ts
    if next_at is not None:
        values["next_attempt_at"] = next_at
    async with session_scope(services.sessions) as session:
        await session.exec(
            update(DigestOutbox)
            .where(
                col(DigestOutbox.id) == row.id,
                col(DigestOutbox.status) == "sending",
                col(DigestOutbox.attempts) == row.attempts,
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )


async def disable(
    services: Services, row: DigestOutbox, subscription: SlackSubscription, outcome: Outcome
) -> list[str]:
    """The channel (or the app in that workspace) is gone: disable the subscriptions that post there, drop
    their waiting digests, and tell each account through the audit log. Returns the disabled ids."""
    reason = f"slack: {outcome.error}"
    now = utcnow()
    async with session_scope(services.sessions) as session:
        where = [SlackSubscription.team_id == row.team_id, col(SlackSubscription.disabled_at).is_(None)]
        if outcome.scope == "channel":
            where.append(SlackSubscription.channel_id == row.channel_id)
        subscriptions = list((await session.exec(select(SlackSubscription).where(*where))).all())
        for gone in subscriptions:
            gone.disabled_at = now
            gone.disabled_reason = reason[:200]
            session.add(gone)
            audit(
                session,
                gone.account_id,
                ACTOR,
                "slack.subscription.disabled",
                gone.id,
                team_id=gone.team_id,
                channel_id=gone.channel_id,
                reason=outcome.error,
            )
        ids = [s.id for s in subscriptions]
        if ids:
            await session.exec(
                update(DigestOutbox)
                .where(
                    col(DigestOutbox.subscription_id).in_(ids),
                    col(DigestOutbox.status) == "pending",
                )
                .values(status="dropped", last_error=reason[:300])
                .execution_options(synchronize_session=False)
            )
        await session.exec(
            update(DigestOutbox)
            .where(
                col(DigestOutbox.id) == row.id,
                col(DigestOutbox.status) == "sending",
                col(DigestOutbox.attempts) == row.attempts,
            )
            .values(status="dropped", last_error=reason[:300])
            .execution_options(synchronize_session=False)
        )
    log.warning(
        "slack %s for digest %s (channel %s): %d subscription(s) disabled",
        outcome.error,
        row.id,
        row.channel_id,
        len(ids),
    )
    return ids


# --- the job ----------------------------------------------------------------------------------------------


async def deliver_job(services: Services, payload: DeliverDigests) -> None:
    """A delivery pass; schedules the next one when rows wait for a later retry."""
    async with _PASS:
        result = await deliver_due(services)
    log.info(
        "digests delivered: %d sent, %d retried, %d failed, %d dropped over %d channel(s)",
        result.sent,
        result.retried,
        result.failed,
        result.dropped,
        result.channels,
    )
    if result.next_due_in is not None:
        async with session_scope(services.sessions) as session:
            await ensure_delivery(session, delay_seconds=result.next_due_in)
