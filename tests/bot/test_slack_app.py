"""The Slack app through signed requests on our ASGI app, against the emulator's Slack Web API fake."""

import json
import ssl
import time
from urllib.parse import urlencode

import httpx
from sqlmodel import select

from api.app import create_app
from core.slack.models import SlackDelivery
from tests.api.conftest import new_caller
from tests.bot.slack_harness import ADMIN, MEMBER, RANDOM, SECURITY, TEAM, text_of
from tests.signin import connect_in_browser
from tests.worlds import CONTOSO_TENANT


async def test_bad_signature_and_old_timestamp_are_refused(bot):
    body = urlencode({"command": "/panoptica", "text": "help", "team_id": TEAM, "user_id": ADMIN})
    assert (await bot.post(body, "application/x-www-form-urlencoded", secret="wrong")).status_code == 401
    old = int(time.time()) - 301
    assert (await bot.post(body, "application/x-www-form-urlencoded", timestamp=old)).status_code == 401


async def test_help_and_malformed_input(bot):
    response, _ = await bot.command("help")
    assert response.status_code == 200 and "/panoptica connect azure" in text_of(response)
    response, _ = await bot.command("subscrbe #x")
    assert "Did you mean" in text_of(response) and "/panoptica subscribe" in text_of(response)
    response, _ = await bot.command("connect github acme")
    assert "Only Azure DevOps" in text_of(response)


async def test_unlinked_workspace_is_told_how_to_link(bot):
    for text in ("status", "repos", "subscriptions", "connect azure contoso", "scan x"):
        response, _ = await bot.command(text)
        assert "not linked" in text_of(response), text


async def test_link_code_is_single_use_and_admin_only(bot):
    caller = await new_caller(bot.db, bot.http, "Acme", "alice@acme.test")
    code = (await caller.graphql("mutation { createSlackLinkCode { code } }"))["data"]["createSlackLinkCode"][
        "code"
    ]
    await bot.command(f"link {code}", user=MEMBER)
    assert "Only Slack workspace admins" in bot.replies()[-1]
    await bot.command(f"link {code}")
    assert "now linked" in bot.replies()[-1]
    await bot.command(f"link {code}")
    assert "invalid, expired or already used" in bot.replies()[-1]


async def test_full_connect_flow_from_slack(bot, slack_world, sandbox):
    await bot.link()
    slack_world.tenant(CONTOSO_TENANT).service_principals.clear()
    slack_world.organization("contoso").members.clear()
    response, _ = await bot.command("connect azure https://dev.azure.com/contoso")
    assert response.status_code == 200 and "Working on it" in text_of(response)
    await bot.run_jobs()
    consent_reply = json.loads(bot.replies()[-1])
    button = consent_reply["blocks"][1]["elements"][0]
    assert button["text"]["text"] == "Sign in and approve"
    # Whoever ran connect must sign in as an administrator of the organization before consent.
    assert (await connect_in_browser(bot.http, sandbox, button["url"])).status_code == 200
    await bot.run_jobs()
    followup = bot.replies()[-1]
    assert "Consent granted for `contoso`" in followup and "Check connection" in followup
    connection_id = json.loads(followup)["blocks"][1]["elements"][0]["value"]

    await bot.press("check_connection", connection_id, message_ts="1.1", action_ts="1.2")
    await bot.run_jobs()
    assert "is not connected yet" in bot.replies()[-1] and "TF401444" in bot.replies()[-1]

    async with httpx.AsyncClient(verify=ssl.create_default_context(cafile=str(sandbox.ca_path))) as admin:
        await admin.post(
            f"{sandbox.urls['admin']}/api/organizations/contoso/service-principal",
            json={"projects": {"Payments": "projectContributor"}},
        )
    await bot.press("check_connection", connection_id, message_ts="1.1", action_ts="2.2")
    await bot.run_jobs()
    assert "is connected: 1 project(s) and 3 repositories" in bot.replies()[-1]

    response, _ = await bot.command("status contoso", user=MEMBER)
    assert "CONNECTED" in text_of(response)
    response, _ = await bot.command("repos contoso/Payments", user=MEMBER)
    assert "3 repositories" in text_of(response) and "payments-api" in text_of(response)


async def test_a_duplicated_button_press_is_handled_once(bot, slack_world):
    await bot.link()
    await bot.press("check_connection", "nope", message_ts="5.5", action_ts="6.6")
    await bot.press("check_connection", "nope", message_ts="5.5", action_ts="6.6")
    await bot.run_jobs()
    assert sum("no longer exists" in r for r in bot.replies()) == 1, bot.replies()


async def test_a_duplicate_event_delivery_is_handled_once(bot):
    event = {
        "type": "event_callback",
        "team_id": TEAM,
        "event_id": "Ev0001",
        "event": {"type": "app_uninstalled"},
    }
    first = await bot.post(json.dumps(event), "application/json")
    second = await bot.post(json.dumps(event), "application/json")
    assert first.status_code == 200 and second.status_code == 200
    async with bot.db() as session:
        keys = (await session.exec(select(SlackDelivery.key))).all()
    assert keys == ["event:Ev0001"]


async def test_subscriptions(bot):
    await bot.link()
    await bot.command(f"subscribe <#{RANDOM}|random>")
    assert "/invite @Panoptica" in bot.replies()[-1]
    await bot.command("subscribe contoso severity>=critical", user=MEMBER)
    assert "Only Slack workspace admins" in bot.replies()[-1]
    await bot.command("subscribe contoso severity>=critical")
    assert "daily digest for contoso (severity ≥ CRITICAL)" in bot.replies()[-1]
    response, _ = await bot.command("subscriptions", user=MEMBER)
    assert f"<#{SECURITY}>: contoso, severity ≥ CRITICAL" in text_of(response)
    await bot.command("unsubscribe all")
    assert "Removed 1 subscription(s)" in bot.replies()[-1]


async def test_allow_listed_user_may_change_things(bot):
    await bot.link()
    result = await bot.caller.graphql(
        'mutation { setSlackAdmins(userIds: ["U0MEMBER"]) { __typename ... on SlackAdmins { userIds } } }'
    )
    assert result["data"]["setSlackAdmins"]["userIds"] == ["U0MEMBER"]
    await bot.command("subscribe", user=MEMBER)
    assert "daily digest" in bot.replies()[-1]
    other = await new_caller(bot.db, bot.http, "Other", "mallory@other.test")
    assert (await other.graphql("{ slackAdmins }"))["data"]["slackAdmins"] == []


async def test_slack_off_keeps_the_service_running(settings, db):
    app = create_app(settings, run_jobs=False)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http,
    ):
        assert (await http.get("/healthz")).status_code == 200
        assert (await http.post("/slack/events", content=b"{}")).status_code == 404
