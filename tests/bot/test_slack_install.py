"""Multi-workspace mode: OAuth install with Bolt's state and installation stores in our database."""

import time
from urllib.parse import parse_qs, urlencode, urlparse

import httpx
import pytest
from pydantic import SecretStr
from slack_sdk.oauth.installation_store import Installation
from sqlalchemy import text

from api.app import create_app
from core.slack.client import installation_store
from sandbox import slack as slack_fake
from tests.bot.slack_harness import ADMIN, SECRET, SECURITY, TEAM, Bot


@pytest.fixture
def oauth_settings(settings, sandbox, slack_world):
    return settings.model_copy(
        update={
            "slack_api_url": sandbox.slack_api_url,
            "slack_client_id": "1111.2222",
            "slack_client_secret": SecretStr("slack-client-secret-for-tests"),
            "slack_signing_secret": SecretStr(SECRET),
            "public_url": "https://panoptica.example",
        }
    )


@pytest.fixture
async def oauth_bot(oauth_settings, sandbox, db):
    app = create_app(oauth_settings, run_jobs=False)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="https://panoptica.example"
        ) as http,
    ):
        yield Bot(app, http, sandbox, db)


async def states(db) -> list[str]:
    async with db() as session:
        return list((await session.exec(text("SELECT state FROM slack_oauth_states"))).scalars())


async def test_install_page_issues_a_state_stored_in_our_database(oauth_bot, db):
    response = await oauth_bot.http.get("/slack/install")
    assert response.status_code == 200
    start = response.text.index("https://slack.com/oauth/v2/authorize")
    link = urlparse(response.text[start : response.text.index('"', start)].replace("&amp;", "&"))
    query = parse_qs(link.query)
    assert query["client_id"] == ["1111.2222"] and "commands" in query["scope"][0]
    assert query["redirect_uri"] == ["https://panoptica.example/slack/oauth_redirect"]
    assert query["state"] == await states(db)
    assert "slack-client-secret-for-tests" not in response.text


async def test_a_forged_state_is_refused_and_installs_nothing(oauth_bot, db):
    response = await oauth_bot.http.get("/slack/oauth_redirect", params={"code": "c", "state": "forged"})
    assert response.status_code == 400
    async with db() as session:
        assert (await session.exec(text("SELECT count(*) FROM slack_bots"))).scalar() == 0


async def test_commands_use_the_installed_bot_token(oauth_bot, oauth_settings, slack_world, db):
    store = installation_store(oauth_settings, oauth_bot.app.state.services.engine)
    await store.async_save(
        Installation(
            app_id="A0PANOPTICA",
            team_id=TEAM,
            user_id=ADMIN,
            bot_token=slack_world.slack.bot_token,
            bot_id=slack_world.slack.bot_id,
            bot_user_id=slack_world.slack.bot_user_id,
            bot_scopes=["commands", "chat:write", "users:read"],
            installed_at=time.time(),
        )
    )
    await oauth_bot.link()
    slack_world.slack.response_url_uses = 0  # the answer falls back to a DM, with the installed bot's token
    await oauth_bot.command("subscribe")
    posted = slack_fake.calls(oauth_bot.sandbox.context, "chat.postMessage")
    assert [c["body"]["channel"] for c in posted] == [ADMIN]
    assert f"<#{SECURITY}> gets a daily digest" in posted[0]["body"]["text"]


async def test_a_workspace_without_installation_is_not_served(oauth_bot):
    body = urlencode(
        {
            "command": "/panoptica",
            "text": "help",
            "team_id": "T0NOBODY",
            "user_id": ADMIN,
            "channel_id": SECURITY,  # Slack sends it with every command (and we refuse one without it)
        }
    )
    response = await oauth_bot.post(body, "application/x-www-form-urlencoded")
    assert response.status_code == 200 and "reinstall this app" in response.text
    assert "Panoptica commands" not in response.text
