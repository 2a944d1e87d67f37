"""/slack/events refuses what Slack did not sign, and what Bolt or our listeners cannot read, before Bolt parses
anything: a short JSON error, no traceback, nothing stored. The OAuth routes never crash on junk."""

from __future__ import annotations

import json
import logging
import time
from urllib.parse import urlencode

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import text

from api.app import create_app
from tests.bot.slack_harness import ADMIN, SECRET, SECURITY, TEAM, Bot, sign
from tests.http_raw import raw_request

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


def crashes(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


def bolt_saw(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name.startswith("slack_bolt")]


async def stored(db) -> dict[str, int]:
    async with db() as session:
        return {
            table: (await session.exec(text(f"SELECT count(*) FROM {table}"))).scalar_one()  # noqa: S608
            for table in ("jobs", "slack_deliveries")
        }


def command(**fields) -> bytes:
    form = {
        "command": "/panoptica",
        "text": "help",
        "team_id": TEAM,
        "user_id": ADMIN,
        "channel_id": SECURITY,
    }
    return urlencode({**form, **fields}).encode()


def interaction(payload) -> bytes:
    return urlencode({"payload": payload if isinstance(payload, str) else json.dumps(payload)}).encode()


def block_actions(**changes) -> dict:
    payload = {
        "type": "block_actions",
        "team": {"id": TEAM},
        "user": {"id": ADMIN},
        "channel": {"id": SECURITY},
        "container": {"message_ts": "1.1"},
        "response_url": "https://hooks.slack.com/actions/x",
        "actions": [{"action_id": "check_connection", "value": "c1", "action_ts": "2.2", "block_id": "b"}],
    }
    return {**payload, **changes}


# --- the signature ------------------------------------------------------------------------------------------

UNSIGNED = [
    ("no headers", {}, "The request is not signed by Slack."),
    ("no signature", {"x-slack-request-timestamp": "1"}, "The request is not signed by Slack."),
    (
        "timestamp not a number",
        {"x-slack-request-timestamp": "abc", "x-slack-signature": "v0=0"},
        "not a number",
    ),
    ("timestamp 6 minutes old", "old", "more than 5 minutes from our clock"),
    ("timestamp 6 minutes ahead", "ahead", "more than 5 minutes from our clock"),
    ("another secret", "other-secret", "The Slack signature does not match."),
    ("signature of another body", "other-body", "The Slack signature does not match."),
    ("truncated signature", "truncated", "The Slack signature does not match."),
]


@pytest.mark.parametrize(("case", "headers", "message"), UNSIGNED, ids=[u[0] for u in UNSIGNED])
async def test_an_unsigned_request_is_401_and_bolt_never_sees_it(bot, caplog, case, headers, message):
    body = command(text="link 123456")
    now = int(time.time())
    if headers == "old":
        headers = sign(body, str(now - 360))
    elif headers == "ahead":
        headers = sign(body, str(now + 360))
    elif headers == "other-secret":
        headers = sign(body, secret="not-the-signing-secret")
    elif headers == "other-body":
        headers = sign(command(text="help"))
    elif headers == "truncated":
        headers = {**sign(body)}
        headers["x-slack-signature"] = headers["x-slack-signature"][:-1]
    answer = await bot.http.post("/slack/events", content=body, headers={"content-type": FORM, **headers})
    assert answer.status_code == 401
    assert answer.json() == {"error": message} or message in answer.json()["error"]
    assert bolt_saw(caplog) == [] and crashes(caplog) == []
    assert await stored(bot.db) == {"jobs": 0, "slack_deliveries": 0}


async def test_an_unsigned_non_utf8_body_is_401_not_400(bot, caplog):
    answer = await bot.http.post("/slack/events", content=b"\xff\xfe\xfd", headers={"content-type": FORM})
    assert answer.status_code == 401
    assert crashes(caplog) == []


async def test_an_oversized_unsigned_body_is_413_before_anything(bot, caplog):
    body = b"payload=" + b"a" * (20 * 1024 * 1024)
    answer = await bot.http.post("/slack/events", content=body, headers={"content-type": FORM})
    assert answer.status_code == 413
    assert answer.json() == {"error": "The request body is larger than 256 KiB."}
    assert bolt_saw(caplog) == []


async def test_a_signed_command_still_works(bot):
    body = command()
    answer = await bot.http.post("/slack/events", content=body, headers={"content-type": FORM, **sign(body)})
    assert answer.status_code == 200
    assert "Panoptica commands" in answer.text


async def test_a_signed_url_verification_is_answered(bot):
    body = json.dumps({"type": "url_verification", "challenge": "c-123"}).encode()
    answer = await bot.http.post("/slack/events", content=body, headers={"content-type": JSON, **sign(body)})
    assert answer.status_code == 200 and answer.json() == {"challenge": "c-123"}


# --- signed but malformed --------------------------------------------------------------------------------

MALFORMED = [
    ("not UTF-8", b"command=%2Fpanoptica&text=\xff", FORM, 400, "The request body is not valid UTF-8."),
    ("text/plain", b"command=/panoptica", "text/plain", 415, "Slack requests are"),
    (
        "JSON media type in capitals",
        b'{"type": "url_verification"}',
        "Application/JSON",
        415,
        "Slack requests are",
    ),
    ("form starting with {", b"{command=/panoptica", FORM, 400, "A form body cannot start with '{'."),
    ("empty form", b"", FORM, 400, "neither a slash command nor a Slack payload"),
    ("repeated form field", command() + b"&command=%2Fother", FORM, 400, "The form repeats a field."),
    ("NUL in a form field", command(team_id="T0\x00"), FORM, 400, "NUL character"),
    ("101 form fields", b"&".join(b"f%d=1" % i for i in range(101)), FORM, 400, "too many fields"),
    ("command without team_id", command(team_id=""), FORM, 400, "The slash command has no `team_id`."),
    (
        "command without channel_id",
        command(channel_id=""),
        FORM,
        400,
        "The slash command has no `channel_id`.",
    ),
    (
        "command with a 5,000-character team id",
        command(team_id="T" * 5000),
        FORM,
        400,
        "`team_id` must be a string",
    ),
    ("payload not JSON", b"payload=%7Bnot", FORM, 400, "The Slack payload is not valid JSON"),
    ("payload a list", interaction("[1]"), FORM, 400, "The Slack payload must be a JSON object."),
    ("payload a string", interaction('"x"'), FORM, 400, "must be a JSON object"),
    ("payload nested 2,000 deep", interaction("[" * 2000 + "]" * 2000), FORM, 400, "nested more than 64"),
    (
        "payload with a 5,000-digit number",
        interaction('{"type": "x", "n": ' + "9" * 5000 + "}"),
        FORM,
        400,
        "more than 100 characters",
    ),
    ("payload with NaN", interaction('{"type": "x", "n": NaN}'), FORM, 400, "JSON does not allow NaN."),
    (
        "payload with a lone surrogate",
        interaction('{"type": "block_actions", "team": {"id": "\\ud800"}}'),
        FORM,
        400,
        "lone surrogate",
    ),
    (
        "payload with a repeated key",
        interaction('{"type": "x", "type": "y"}'),
        FORM,
        400,
        'repeats the key "type"',
    ),
    ("block_actions without team", interaction(block_actions(team=None)), FORM, 400, "has no `team.id`"),
    (
        "block_actions with team a number",
        interaction(block_actions(team=5)),
        FORM,
        400,
        "`team` must be an id or an object",
    ),
    (
        "block_actions with user an object without id",
        interaction(block_actions(user={})),
        FORM,
        400,
        "has no `user.id`",
    ),
    (
        "block_actions with channel a string",
        interaction(block_actions(channel="C1")),
        FORM,
        400,
        "`channel` must be an object",
    ),
    (
        "block_actions with actions a string",
        interaction(block_actions(actions="x")),
        FORM,
        400,
        "`actions` must be a list of objects",
    ),
    ("block_actions with no actions", interaction(block_actions(actions=[])), FORM, 400, "has no `actions`"),
    (
        "action without action_id",
        interaction(block_actions(actions=[{"value": "x"}])),
        FORM,
        400,
        "no `action_id`",
    ),
    (
        "action_id a number",
        interaction(block_actions(actions=[{"action_id": 5}])),
        FORM,
        400,
        "`actions[].action_id` must be a string",
    ),
    (
        "container a list",
        interaction(block_actions(container=[])),
        FORM,
        400,
        "`container` must be an object",
    ),
    (
        "response_url a number",
        interaction(block_actions(response_url=5)),
        FORM,
        400,
        "`response_url` must be a string",
    ),
    ("JSON not JSON", b"{not", JSON, 400, "The Slack request is not valid JSON"),
    ("JSON a list", b"[1]", JSON, 400, "must be a JSON object"),
    ("event_callback without event", b'{"type": "event_callback"}', JSON, 400, "has no `event.type`"),
    ("event a string", b'{"type": "event_callback", "event": "x"}', JSON, 400, "`event` must be an object"),
    (
        "event_id a number",
        b'{"type": "event_callback", "event": {"type": "app_uninstalled"}, "event_id": 5}',
        JSON,
        400,
        "`event_id` must be a string",
    ),
    (
        "event user a list",
        b'{"type": "event_callback", "event": {"type": "app_mention", "user": []}}',
        JSON,
        400,
        "`user` must be an id or an object",
    ),
    (
        "authorizations an object",
        b'{"type": "event_callback", "event": {"type": "x"}, "authorizations": {}}',
        JSON,
        400,
        "`authorizations` must be a list",
    ),
    ("url_verification without challenge", b'{"type": "url_verification"}', JSON, 400, "has no `challenge`"),
]


@pytest.mark.parametrize(
    ("case", "body", "content_type", "status", "message"), MALFORMED, ids=[m[0] for m in MALFORMED]
)
async def test_a_signed_malformed_request_is_a_4xx_without_a_traceback(
    bot, caplog, case, body, content_type, status, message
):
    answer = await bot.http.post(
        "/slack/events", content=body, headers={"content-type": content_type, **sign(body)}
    )
    await bot.settled()
    assert answer.status_code == status, answer.text
    assert message in answer.json()["error"]
    assert crashes(caplog) == [] and bolt_saw(caplog) == []
    assert await stored(bot.db) == {"jobs": 0, "slack_deliveries": 0}


async def test_refusals_are_logged_in_one_line_without_the_body_or_signature(bot, caplog):
    body = command(text="link SECRET-LOOKING-CODE", team_id="")
    headers = sign(body)
    with caplog.at_level(logging.INFO):
        await bot.http.post("/slack/events", content=body, headers={"content-type": FORM, **headers})
    [line] = [r.getMessage() for r in caplog.records if r.name == "api.slack_http"]
    assert line == "slack request refused (400): The slash command has no `team_id`."
    assert "SECRET-LOOKING-CODE" not in caplog.text and headers["x-slack-signature"] not in caplog.text


# --- the OAuth routes --------------------------------------------------------------------------------------


@pytest.fixture
async def oauth_bot(settings, sandbox, slack_world, db):
    oauth_settings = settings.model_copy(
        update={
            "slack_api_url": sandbox.slack_api_url,
            "slack_client_id": "1111.2222",
            "slack_client_secret": SecretStr("slack-client-secret-for-tests"),
            "slack_signing_secret": SecretStr(SECRET),
            "public_url": "https://panoptica.example",
        }
    )
    app = create_app(oauth_settings, run_jobs=False)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="https://panoptica.example"
        ) as http,
    ):
        yield Bot(app, http, sandbox, db)


JUNK_QUERIES = [
    b"x=%ff%fe",
    b"code=%ff&state=%00",
    b"code=\xff\xfe&state=\xed\xa0\x80",
    b"code=a&code=b&state=x&state=y",
    b"state=" + b"x" * 5000 + b"&code=1",
    b"%zz=%zz&&&==&",
    b"error=%3Cscript%3Ealert(1)%3C/script%3E&state=x",
    b"&".join([b"a=1"] * 3000),
]


@pytest.mark.parametrize("path", ["/slack/install", "/slack/oauth_redirect"])
@pytest.mark.parametrize("query", JUNK_QUERIES)
async def test_oauth_routes_never_crash_on_a_junk_query_string(oauth_bot, caplog, path, query):
    answer = await raw_request(
        oauth_bot.app,
        "GET",
        path,
        query=query,
        host=b"panoptica.example",
        headers=[(b"cookie", b"slack-app-oauth-state=%ff\x00; other=\xff")],
    )
    assert 200 <= answer.status < 500, (answer.status, answer.body[:200])
    assert crashes(caplog) == []
    assert b"<script>alert" not in answer.body  # reflected, if at all, escaped
    if answer.headers.get("content-type", "").startswith("text/html"):
        policy = answer.headers["content-security-policy"]
        assert "script-src" not in policy and "frame-ancestors 'none'" in policy
