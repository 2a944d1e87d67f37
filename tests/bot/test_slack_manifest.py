"""The committed Slack app manifest is the one the code generates, and names what the running app serves: the
OAuth install asks for exactly its scopes and redirect URL, its URLs are our routes, its slash command answers,
and every subcommand is in its usage hint."""

import json
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
import yaml
from pydantic import SecretStr

from api.app import create_app
from bot import manifest
from core.slack.commands import USAGE
from tests.bot.slack_harness import SECRET, Bot

ROOT = Path(__file__).resolve().parents[2]
PANOPTICA = str(Path(sys.executable).with_name("panoptica"))


@pytest.fixture
async def oauth_bot(settings, sandbox, slack_world, db):
    """Multi-workspace mode (OAuth install), the mode that asks Slack for the manifest's scopes."""
    oauth = settings.model_copy(
        update={
            "slack_api_url": sandbox.slack_api_url,
            "slack_client_id": "1111.2222",
            "slack_client_secret": SecretStr("slack-client-secret-" + "for-tests"),
            "slack_signing_secret": SecretStr(SECRET),
            "public_url": "https://panoptica.example",
        }
    )
    app = create_app(oauth, run_jobs=False)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="https://panoptica.example"
        ) as http,
    ):
        yield Bot(app, http, sandbox, db)


def test_the_committed_manifest_is_the_generated_one():
    committed = (ROOT / "bot" / "manifest.yaml").read_text()
    assert committed == manifest.render(), (
        "bot/manifest.yaml is stale: panoptica slack manifest --public-url https://panoptica.example.com "
        "> bot/manifest.yaml"
    )
    printed = subprocess.run(
        [PANOPTICA, "slack", "manifest", "--public-url", manifest.PLACEHOLDER_URL],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin", "HOME": "/nonexistent"},
    ).stdout
    assert printed == committed


def test_the_manifest_names_every_command_and_escapes_channels_and_users():
    document = yaml.safe_load(manifest.render("https://panoptica.acme.test/"))
    (command,) = document["features"]["slash_commands"]
    assert command["command"] == "/panoptica" and command["should_escape"] is True
    assert command["usage_hint"].split(" | ") == list(USAGE)
    assert command["url"] == "https://panoptica.acme.test/slack/events"
    assert document["settings"]["interactivity"]["request_url"] == "https://panoptica.acme.test/slack/events"
    assert document["settings"]["event_subscriptions"]["bot_events"] == ["app_uninstalled"]
    assert len(document["display_information"]["description"]) <= 140


async def test_the_running_app_serves_what_the_manifest_says(oauth_bot):
    document = yaml.safe_load(manifest.render("https://panoptica.example"))
    install = await oauth_bot.http.get("/slack/install")
    start = install.text.index("https://slack.com/oauth/v2/authorize")
    query = parse_qs(
        urlparse(install.text[start : install.text.index('"', start)].replace("&amp;", "&")).query
    )
    assert query["scope"][0].split(",") == document["oauth_config"]["scopes"]["bot"]
    assert query["redirect_uri"] == document["oauth_config"]["redirect_urls"]

    served = {route.path for route in oauth_bot.app.routes}
    for url in [
        document["features"]["slash_commands"][0]["url"],
        document["settings"]["event_subscriptions"]["request_url"],
        *document["oauth_config"]["redirect_urls"],
    ]:
        assert urlparse(url).path in served, url


async def test_the_manifests_command_answers_at_its_url(bot):
    document = yaml.safe_load(manifest.render("http://testserver"))
    assert (
        urlparse(document["features"]["slash_commands"][0]["url"]).path == "/slack/events"
    )  # Bot posts there
    response, _ = await bot.command("help")  # the manifest's command, signed
    assert response.status_code == 200
    help_text = json.dumps(response.json(), ensure_ascii=False)
    for name in USAGE:
        assert f"/panoptica {name}" in help_text
