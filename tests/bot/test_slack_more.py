"""More of the Slack app through signed requests: permissions per command, bad input, reply fallbacks."""

import json
import logging
from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlmodel import select

from api.app import create_app
from core.audit.models import AuditEvent
from core.db import session_scope
from core.db.columns import utcnow
from core.jobs import service as jobs
from core.jobs.models import Job
from core.scans.models import ScanRun
from core.slack.models import SlackConnectOrigin, SlackSubscription
from sandbox import slack as slack_fake
from tests.api.consent import decide
from tests.api.seed import seed_repositories
from tests.bot.slack_harness import ADMIN, MEMBER, RANDOM, SECURITY, TEAM, text_of
from tests.signin import sign_in

CHANGES = [
    "connect azure contoso",
    "subscribe",
    f"unsubscribe <#{SECURITY}|security> all",
    "scan payments-api",
]


@pytest.mark.parametrize("text", CHANGES)
async def test_members_may_not_change_things(bot, text):
    await bot.link()
    response, _ = await bot.command(text, user=MEMBER)
    assert response.status_code == 200 and "Working on it" in text_of(response)
    assert "Only Slack workspace admins" in bot.replies()[-1]
    async with bot.db() as session:
        assert (await session.exec(select(SlackSubscription))).all() == []
        assert (await session.exec(select(SlackConnectOrigin))).all() == []


@pytest.mark.parametrize("text", ["status", "repos", "subscriptions", "help"])
async def test_members_may_read(bot, text):
    await bot.link()
    response, _ = await bot.command(text, user=MEMBER)
    assert response.status_code == 200
    assert "Only Slack workspace admins" not in text_of(response) and "not linked" not in text_of(response)


@pytest.mark.parametrize("text", ["subscribe", "unsubscribe all", "status contoso", "repos contoso/Payments"])
async def test_every_command_of_an_unlinked_workspace_says_how_to_link(bot, text):
    response, _ = await bot.command(text)
    assert "/panoptica link CODE" in text_of(response)
    assert slack_fake.calls(bot.sandbox.context, "response_url") == []


async def test_unknown_organization_gets_a_clear_answer(bot):
    await bot.link()
    await bot.command("connect azure no-such-org-here")
    assert ":x:" in bot.replies()[-1]
    async with bot.db() as session:
        assert (await session.exec(select(SlackConnectOrigin))).all() == []


async def test_a_plain_channel_name_asks_for_a_mention(bot):
    await bot.link()
    await bot.command("subscribe #security")
    assert "Mention the channel" in bot.replies()[-1]


async def test_a_channel_the_app_cannot_see_gets_a_clear_answer(bot):
    await bot.link()
    await bot.command("subscribe <#C0GONE|gone>")
    assert "/invite" in bot.replies()[-1]
    async with bot.db() as session:
        assert (await session.exec(select(SlackSubscription))).all() == []


async def test_subscribe_is_stored_per_channel_and_scope(bot):
    await bot.link()
    await bot.command("subscribe contoso/Payments severity>=medium")
    await bot.command("subscribe contoso/Payments severity>=low")  # same scope: the threshold changes
    await bot.command("subscribe", channel=SECURITY)
    async with bot.db() as session:
        rows = (await session.exec(select(SlackSubscription).order_by(SlackSubscription.project))).all()
    assert [(r.channel_id, r.organization, r.project, r.min_severity, r.created_by) for r in rows] == [
        (SECURITY, "", "", "HIGH", ADMIN),
        (SECURITY, "contoso", "Payments", "LOW", ADMIN),
    ]
    await bot.command("unsubscribe contoso/Payments")
    assert "Removed 1 subscription(s)" in bot.replies()[-1]
    response, _ = await bot.command("subscriptions", user=MEMBER)
    assert "all organizations, severity ≥ HIGH" in text_of(response) and "Payments" not in text_of(response)


async def test_the_app_must_be_in_the_channel(bot):
    await bot.link()
    await bot.command(f"subscribe <#{RANDOM}|random>")
    assert "/invite" in bot.replies()[-1]
    bot.sandbox.world.slack.channels[RANDOM]["is_member"] = True
    await bot.command(f"subscribe <#{RANDOM}|random>")
    assert f"<#{RANDOM}> gets a daily digest" in bot.replies()[-1]


async def test_a_member_pressing_check_connection_is_refused(bot):
    await bot.link()
    await bot.press("check_connection", "anything", user=MEMBER, message_ts="7.7", action_ts="8.8")
    await bot.run_jobs()
    assert "Only Slack workspace admins" in bot.replies()[-1]


async def test_the_answer_goes_by_direct_message_when_the_response_url_is_used_up(bot):
    await bot.link()
    bot.sandbox.world.slack.response_url_uses = 0  # Slack refuses the response_url now
    await bot.command("subscribe severity>=critical")
    posted = slack_fake.calls(bot.sandbox.context, "chat.postMessage")
    assert [c["body"]["channel"] for c in posted] == [ADMIN]
    assert "daily digest" in json.dumps(posted[0]["body"], ensure_ascii=False)
    assert posted[0]["body"]["text"]  # the fallback text is always there


async def test_no_message_carries_a_secret(bot, slack_world):
    await bot.link()
    await bot.command("connect azure contoso")
    await bot.command("status")
    secrets = [slack_world.slack.bot_token, "slack-signing-secret-for-tests", bot.caller.token]
    for call in bot.sandbox.context.slack_calls:
        body = json.dumps(call["body"])
        assert not any(secret in body for secret in secrets)


async def test_a_check_interrupted_by_a_restart_still_answers(bot, db):
    await bot.link()
    await bot.press("check_connection", "gone", message_ts="3.3", action_ts="4.4")
    async with db() as session:  # a runner takes the job, then its process dies
        (job,) = await jobs.claim(session, ("quick",))
        assert job.kind == "slack.check_connection"
        await session.exec(
            update(Job).where(Job.id == job.id).values(lease_until=utcnow() - timedelta(seconds=1))
        )
        await session.commit()
    restarted = create_app(bot.app.state.services.settings, run_jobs=False)
    async with restarted.router.lifespan_context(restarted):
        await restarted.state.jobs.run_until_idle()
    assert "That connection no longer exists." in bot.replies()[-1]


async def test_the_consent_follow_up_goes_by_direct_message_after_30_minutes(bot, sandbox):
    await bot.link()
    await bot.command("connect azure contoso")
    button = json.loads(bot.replies()[-1])["blocks"][1]["elements"][0]
    proven = await bot.http.get(await sign_in(sandbox, button["url"]))
    callback = await decide(sandbox, proven.headers["location"])
    async with session_scope(bot.db) as session:
        await session.exec(update(SlackConnectOrigin).values(created_at=utcnow() - timedelta(minutes=31)))
    assert (await bot.http.get(callback)).status_code == 200
    await bot.run_jobs()
    posted = slack_fake.calls(sandbox.context, "chat.postMessage")
    assert [c["body"]["channel"] for c in posted] == [ADMIN]
    assert (
        "Check connection" in json.dumps(posted[0]["body"]) and "Consent granted" in posted[0]["body"]["text"]
    )
    assert not any("Consent granted" in r for r in bot.replies())


async def test_scan_queues_one_repository_by_name(bot, db):
    await bot.link()
    await seed_repositories(db, bot.caller.account_id, 3)
    await bot.command("scan nope")
    assert "No repository named `nope`" in bot.replies()[-1]
    await bot.command("scan proj-0/repo-000")
    assert "cannot be scanned: it is empty" in bot.replies()[-1]
    await bot.command("scan proj-1/repo-001")
    assert "Scan of `repo-001` queued" in bot.replies()[-1]
    async with db() as session:
        runs = (await session.exec(select(ScanRun))).all()
    assert [(r.trigger, r.repository_id is not None) for r in runs] == [("MANUAL", True)]


async def test_a_retried_event_is_handled_once(bot, db):
    await bot.link()
    event = {
        "type": "event_callback",
        "team_id": TEAM,
        "event_id": "Ev0002",
        "event": {"type": "app_uninstalled"},
    }
    for _ in range(2):  # Slack retries an event it thinks we missed
        response = await bot.post(json.dumps(event), "application/json")
        assert response.status_code == 200
        await bot.settled()
    async with db() as session:
        query = select(AuditEvent).where(AuditEvent.action == "slack.app_uninstalled")
        events = (await session.exec(query)).all()
    assert [(e.account_id, e.subject) for e in events] == [(bot.caller.account_id, TEAM)]


async def test_without_slack_settings_the_app_says_once_that_slack_is_off(settings, db, caplog):
    caplog.set_level(logging.INFO, logger="bot.app")
    app = create_app(settings, run_jobs=False)
    async with app.router.lifespan_context(app):
        pass
    assert [r.getMessage()[:16] for r in caplog.records if r.name == "bot.app"] == ["Slack app is off"]


async def test_a_user_slack_does_not_know_is_refused_at_once(bot, db):
    await bot.link()
    await bot.command("subscribe", user="U0DELETED")
    assert "Only Slack workspace admins" in bot.replies()[-1]
    async with db() as session:
        assert (await session.exec(select(SlackSubscription))).all() == []
        assert (await session.exec(select(Job).where(Job.status != "done"))).all() == []
