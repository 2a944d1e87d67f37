"""Building the outbox and delivering it to the emulator's Slack fake through a real AsyncWebClient."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from functools import partial

from sqlalchemy import update
from sqlmodel import select

from bot.digests import build_digests, render_digest
from core.audit.models import AuditEvent
from core.db import create_engine, session_factory, session_scope
from core.db.columns import utcnow
from core.digests import delivery
from core.digests.delivery import Pacer, deliver_due
from core.digests.models import DigestOutbox
from core.digests.outbox import build_day
from core.digests.payloads import BuildDigests
from core.jobs.models import Job
from core.jobs.runner import JobRunner
from core.slack.models import SlackSubscription
from sandbox.scenario import Fault
from tests.core.digests.conftest import (
    DigestServices,
    FakeClock,
    outbox,
    posts,
    slack_statuses,
    subscribe,
)

DAY = "2030-01-02"


def render(services):
    return partial(render_digest, console_url=services.settings.public_url)


async def deliver(services, clock=None, **kw):
    clock = clock or FakeClock()
    return await deliver_due(services, clock=clock, pacer=Pacer(clock=clock), **kw)


async def test_build_is_idempotent_per_subscription_and_day(services, db, account):
    await subscribe(db, account, "C0SECURITY")
    await subscribe(db, account, "C0PLATFORM", organization="contoso")
    await subscribe(db, account, "C0SECURITY", organization="fabrikam", disabled_at=utcnow())
    assert await build_day(services, DAY, render(services)) == 2
    assert await build_day(services, DAY, render(services)) == 0
    await subscribe(db, account, "C0PLATFORM", organization="fabrikam")
    assert await build_day(services, DAY, render(services)) == 1
    rows = await outbox(db)
    assert len(rows) == 3 and {r.status for r in rows} == {"pending"}
    assert all(r.message["text"] and r.message["blocks"] for r in rows)
    async with db() as session:
        waiting = (await session.exec(select(Job).where(Job.kind == "digests.deliver"))).all()
    assert len(waiting) == 1  # one delivery pass waiting, however many builds asked for it


async def test_delivers_each_row_once_with_the_stored_message(services, sandbox, db, account):
    await subscribe(db, account, "C0SECURITY")
    await subscribe(db, account, "C0PLATFORM")
    await build_day(services, DAY, render(services))
    result = await deliver(services)
    assert (result.sent, result.retried, result.failed) == (2, 0, 0)
    rows = {r.channel_id: r for r in await outbox(db)}
    sent = {c["body"]["channel"]: c for c in posts(sandbox)}
    assert set(sent) == {"C0SECURITY", "C0PLATFORM"}
    for channel, row in rows.items():
        assert row.status == "sent" and row.attempts == 1
        assert row.sent_ts == sent[channel]["response"]["ts"]
        assert sent[channel]["body"]["text"] == row.message["text"]
        assert sent[channel]["body"]["blocks"] == row.message["blocks"]
        assert services.settings.slack_bot_token.get_secret_value() not in str(sent[channel]["body"])
    await deliver(services)  # nothing left to send
    assert len(posts(sandbox, ok=None)) == 2


async def test_429_honours_retry_after_then_posts_once(services, sandbox, world, db, account):
    await subscribe(db, account, "C0SECURITY")
    await build_day(services, DAY, render(services))
    world.faults.append(Fault(host="slack", route="chat.postMessage", status=429, retry_after=3, count=1))
    clock = FakeClock()
    # No client-side 429 retry: the delivery itself must wait for Retry-After.
    result = await deliver(services, clock, rate_limit_retries=0)
    assert slack_statuses(sandbox, 429) == 1
    assert len(posts(sandbox)) == 1 and result.sent == 1 and result.retried == 1
    assert clock.sleeps == [3.0]  # waited what Slack asked, then sent without a further pacing wait
    [row] = await outbox(db)
    assert (row.status, row.attempts) == ("sent", 2)


async def test_429_absorbed_by_the_clients_safety_net_posts_once(services, sandbox, world, db, account):
    await subscribe(db, account, "C0SECURITY")
    await build_day(services, DAY, render(services))
    world.faults.append(Fault(host="slack", route="chat.postMessage", status=429, retry_after=1, count=1))
    await deliver(services)  # slack_sdk's handler sleeps Retry-After and retries the same request
    assert slack_statuses(sandbox, 429) == 1 and len(posts(sandbox)) == 1
    [row] = await outbox(db)
    assert (row.status, row.attempts) == ("sent", 1)


async def test_a_burst_of_5xx_is_retried_with_backoff_then_posts_once(services, sandbox, world, db, account):
    await subscribe(db, account, "C0SECURITY")
    await build_day(services, DAY, render(services))
    world.faults.append(Fault(host="slack", route="chat.postMessage", status=503, count=3))
    clock = FakeClock()
    result = await deliver(services, clock)
    assert slack_statuses(sandbox, 503) == 3 and len(posts(sandbox)) == 1
    assert (result.sent, result.retried) == (1, 3)
    # Exponential backoff with jitter: attempt n waits 2**n seconds times a factor in [0.5, 1.5).
    assert len(clock.sleeps) == 3
    assert all(2**n * 0.5 <= wait < 2**n * 1.5 for n, wait in enumerate(clock.sleeps, start=1)), clock.sleeps
    [row] = await outbox(db)
    assert (row.status, row.attempts) == ("sent", 4)


async def test_persistent_failure_leaves_the_row_for_a_later_pass_then_gives_up(
    services, sandbox, world, db, account
):
    await subscribe(db, account, "C0SECURITY")
    await build_day(services, DAY, render(services))
    world.faults.append(Fault(host="slack", route="chat.postMessage", status=500))
    clock = FakeClock()
    first = await deliver(services, clock)
    [row] = await outbox(db)
    assert row.status == "pending" and first.next_due_in is not None and first.next_due_in > 0
    for _ in range(delivery.MAX_ATTEMPTS):
        clock.t += delivery.MAX_BACKOFF * 2  # skip the backoff instead of waiting for it
        await deliver(services, clock)
    [row] = await outbox(db)
    assert (row.status, row.attempts) == ("failed", delivery.MAX_ATTEMPTS)
    assert slack_statuses(sandbox, 500) == delivery.MAX_ATTEMPTS and posts(sandbox) == []


async def test_restart_between_enqueue_and_send_delivers_exactly_once(
    slack_settings, sandbox, engine, db, account
):
    await subscribe(db, account, "C0SECURITY")
    first = DigestServices(slack_settings, engine, db)
    await build_digests(first, BuildDigests(day=DAY))  # the build job ran; the process dies before delivering
    assert len(await outbox(db)) == 1 and posts(sandbox, ok=None) == []

    restarted_engine = create_engine(slack_settings.database_url)
    try:
        restarted = DigestServices(slack_settings, restarted_engine, session_factory(restarted_engine))
        runner = JobRunner(restarted)
        await runner.run_until_idle()
        await build_digests(
            restarted, BuildDigests(day=DAY)
        )  # the build job retried after the restart: adds nothing
        await runner.run_until_idle()
    finally:
        await restarted_engine.dispose()
    assert len(posts(sandbox, ok=None)) == 1
    [row] = await outbox(db)
    assert row.status == "sent" and row.sent_ts == posts(sandbox)[0]["response"]["ts"]


async def test_a_row_left_sending_past_its_lease_is_delivered_exactly_once(services, sandbox, db, account):
    await subscribe(db, account, "C0SECURITY")
    await subscribe(db, account, "C0PLATFORM")
    await build_day(services, DAY, render(services))
    now = utcnow()
    async with session_scope(db) as session:  # two workers claimed a row each; one died, one is still at it
        await session.exec(
            update(DigestOutbox)
            .where(DigestOutbox.channel_id == "C0SECURITY")
            .values(status="sending", attempts=1, next_attempt_at=now - timedelta(seconds=1))
        )
        await session.exec(
            update(DigestOutbox)
            .where(DigestOutbox.channel_id == "C0PLATFORM")
            .values(status="sending", attempts=1, next_attempt_at=now + delivery.LEASE)
        )
    await deliver(services)
    await deliver(services)
    assert [c["body"]["channel"] for c in posts(sandbox, ok=None)] == ["C0SECURITY"]
    rows = {r.channel_id: r for r in await outbox(db)}
    assert (rows["C0SECURITY"].status, rows["C0SECURITY"].attempts) == ("sent", 2)
    assert rows["C0PLATFORM"].status == "sending"  # its owner's lease still runs: nobody else posts it


async def test_a_gone_channel_disables_its_subscriptions_without_retrying(services, sandbox, db, account):
    gone = [
        await subscribe(db, account, "C0DELETED"),  # channel_not_found
        await subscribe(db, account, "C0DELETED", organization="contoso"),
        await subscribe(db, account, "C0OUTSIDE"),  # not_in_channel
        await subscribe(db, account, "C0OLD"),  # is_archived
    ]
    kept = await subscribe(db, account, "C0SECURITY")
    await build_day(services, DAY, render(services))
    result = await deliver(services)
    await deliver(services)
    errors = sorted(c["error"] for c in posts(sandbox, ok=False))
    assert errors == ["channel_not_found", "is_archived", "not_in_channel"]  # one try each, no retry
    assert len(posts(sandbox)) == 1 and result.sent == 1
    async with db() as session:
        subscriptions = {s.id: s for s in (await session.exec(select(SlackSubscription))).all()}
        events = (await session.exec(select(AuditEvent))).all()
    assert sorted(result.disabled_subscriptions) == sorted(s.id for s in gone)
    for subscription in gone:
        stored = subscriptions[subscription.id]
        assert stored.disabled_at is not None and stored.disabled_reason.startswith("slack: ")
    assert subscriptions[kept.id].disabled_at is None
    assert sorted(e.subject for e in events) == sorted(s.id for s in gone)
    assert {e.action for e in events} == {"slack.subscription.disabled"}
    assert {e.account_id for e in events} == {account.id}
    by_subscription = {e.subject: e.details["reason"] for e in events}
    assert by_subscription[gone[0].id] == by_subscription[gone[1].id] == "channel_not_found"
    statuses = sorted(r.status for r in await outbox(db))
    assert statuses == ["dropped"] * 4 + ["sent"]
    await build_day(services, "2030-01-03", render(services))  # disabled subscriptions get no more digests
    assert len([r for r in await outbox(db) if r.day == "2030-01-03"]) == 1


async def test_an_uninstalled_app_disables_the_workspaces_subscriptions(
    services, sandbox, world, db, account
):
    await subscribe(db, account, "C0SECURITY")
    await subscribe(db, account, "C0PLATFORM")
    await build_day(services, DAY, render(services))
    world.slack.bot_token = "xoxb-rotated"  # our token is no longer valid: invalid_auth
    result = await deliver(services, max_channels=1)
    assert [c["error"] for c in posts(sandbox, ok=None)] == ["invalid_auth"]  # the other channel is not tried
    assert len(result.disabled_subscriptions) == 2
    assert {r.status for r in await outbox(db)} == {"dropped"}


async def test_posts_to_one_channel_are_paced_one_second_apart(services, sandbox, db, account):
    for org in ("", "contoso", "fabrikam"):
        await subscribe(db, account, "C0SECURITY", organization=org)
    await build_day(services, DAY, render(services))
    clock = FakeClock()
    result = await deliver(services, clock)
    assert result.sent == 3 and [c["body"]["channel"] for c in posts(sandbox)] == ["C0SECURITY"] * 3
    # The post itself takes no virtual time: the pacer asked for exactly one interval before each later post.
    assert clock.sleeps == [delivery.PER_CHANNEL_INTERVAL] * 2


class GatedClock(FakeClock):
    """A pacing wait returns once every channel has had its first post (or after a bounded wait): delivered
    one channel after the other, the second channel's first post would only come after the first's second."""

    def __init__(self, sandbox, channels: int) -> None:
        super().__init__()
        self.sandbox, self.channels = sandbox, channels

    async def sleep(self, seconds: float) -> None:
        await super().sleep(seconds)
        for _ in range(200):
            if len({c["body"]["channel"] for c in posts(self.sandbox)}) >= self.channels:
                return
            await asyncio.sleep(0.01)


async def test_channels_are_delivered_concurrently(services, sandbox, db, account):
    for channel in ("C0SECURITY", "C0PLATFORM"):
        for org in ("", "contoso"):
            await subscribe(db, account, channel, organization=org)
    await build_day(services, DAY, render(services))
    clock = GatedClock(sandbox, channels=2)
    await deliver(services, clock)
    order = [c["body"]["channel"] for c in posts(sandbox)]
    assert len(order) == 4 and set(order[:2]) == {"C0SECURITY", "C0PLATFORM"}


async def test_the_pacer_waits_out_the_interval_and_a_deferral():
    clock = FakeClock()
    pacer = Pacer(1.0, clock)
    key = ("T", "C")

    async def post(key, seconds: float = 0.0) -> None:
        async with pacer.slot(key):
            clock.t += seconds  # the request's own duration

    await post(key, seconds=0.5)
    clock.t += 0.25
    await post(key)  # the interval runs from the answer: 1.0 - 0.25
    await post(("T", "other"))  # another channel does not wait
    pacer.defer(key, 5)
    await post(key)
    assert clock.sleeps == [0.75, 5.0]
