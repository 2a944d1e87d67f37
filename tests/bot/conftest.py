"""Fixtures of the Slack app tests: a Slack-enabled app on the emulator, and its Slack workspace."""

import httpx
import pytest
from pydantic import SecretStr

from api.app import create_app
from tests.bot.slack_harness import ADMIN, MEMBER, RANDOM, SECRET, SECURITY, Bot


@pytest.fixture
def slack_world(world):
    world.slack.users = {
        ADMIN: {"name": "alice", "is_admin": True},
        MEMBER: {"name": "bob", "is_admin": False},
    }
    world.slack.channels = {
        SECURITY: {"name": "security", "is_member": True},
        RANDOM: {"name": "random", "is_member": False},
    }
    return world


@pytest.fixture
async def bot(settings, sandbox, slack_world, db):
    slack_settings = settings.model_copy(
        update={
            "slack_api_url": sandbox.slack_api_url,
            "slack_bot_token": SecretStr(slack_world.slack.bot_token),
            "slack_signing_secret": SecretStr(SECRET),
            "public_url": "http://testserver",
        }
    )
    app = create_app(slack_settings, run_jobs=False)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http,
    ):
        yield Bot(app, http, sandbox, db)
