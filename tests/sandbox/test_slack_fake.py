"""The Slack Web API fake, driven by the real slack_sdk AsyncWebClient over HTTPS."""

from __future__ import annotations

import json
import ssl

import httpx
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from sandbox.scenario import Fault
from sandbox.slack import calls, response_url

TOKEN = "xoxb-sandbox-bot-token"


@pytest.fixture
def slack_world(world):
    with_slack = world.slack
    with_slack.channels = {
        "C0SECURITY": {"name": "security", "is_member": True, "members": ["U0ADMIN", "U0USER"]},
        "C0RANDOM": {"name": "random", "is_member": False},
        "C0OLD": {"name": "old", "is_member": True, "is_archived": True},
    }
    with_slack.users = {
        "U0ADMIN": {"name": "alice", "real_name": "Alice <Admin>", "is_admin": True, "is_owner": False},
        "U0USER": {"name": "bob", "is_admin": False, "is_owner": False},
        "U0OUTSIDER": {"name": "carol"},
    }
    return world


def client(sandbox, token: str = TOKEN, **kwargs) -> AsyncWebClient:
    context = ssl.create_default_context(cafile=str(sandbox.ca_path))
    return AsyncWebClient(token=token, base_url=sandbox.slack_api_url, ssl=context, **kwargs)


async def slack_error(call) -> SlackApiError:
    with pytest.raises(SlackApiError) as caught:
        await call
    return caught.value


async def test_auth_test_identifies_the_bot(sandbox, slack_world):
    answer = await client(sandbox).auth_test()
    assert answer["ok"] is True
    assert answer["user_id"] == slack_world.slack.bot_user_id
    assert answer["team_id"] == slack_world.slack.team_id
    assert answer["team"] == "Contoso"


async def test_post_message_returns_increasing_ts_and_is_recorded(sandbox, slack_world):
    slack = client(sandbox)
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*3 new* findings"}}]
    first = await slack.chat_postMessage(channel="C0SECURITY", text="3 new findings", blocks=blocks)
    second = await slack.chat_postMessage(channel="#security", text="again")
    assert first["channel"] == second["channel"] == "C0SECURITY"
    assert float(second["ts"]) > float(first["ts"])
    assert first["message"]["text"] == "3 new findings"
    assert first["message"]["blocks"] == blocks
    posted = calls(sandbox.context, "chat.postMessage")
    assert [c["body"]["text"] for c in posted] == ["3 new findings", "again"]
    assert posted[0]["body"]["blocks"] == blocks
    assert "token" not in posted[0]["body"]


async def test_form_encoded_body_like_slack_accepts(sandbox, slack_world):
    blocks = [{"type": "divider"}]
    async with httpx.AsyncClient(verify=ssl.create_default_context(cafile=str(sandbox.ca_path))) as http:
        response = await http.post(
            sandbox.slack_api_url + "chat.postMessage",
            data={"token": TOKEN, "channel": "C0SECURITY", "text": "form", "blocks": json.dumps(blocks)},
        )
    assert response.status_code == 200
    assert response.json()["ok"] is True
    assert calls(sandbox.context, "chat.postMessage")[-1]["body"]["blocks"] == blocks


async def test_channel_errors(sandbox, slack_world):
    slack = client(sandbox)
    assert (await slack_error(slack.chat_postMessage(channel="C0RANDOM", text="x"))).response[
        "error"
    ] == "not_in_channel"
    assert (await slack_error(slack.chat_postMessage(channel="C0NOPE", text="x"))).response[
        "error"
    ] == "channel_not_found"
    assert (await slack_error(slack.chat_postMessage(channel="C0OLD", text="x"))).response[
        "error"
    ] == "is_archived"
    failed = calls(sandbox.context, "chat.postMessage")
    assert [c["error"] for c in failed] == ["not_in_channel", "channel_not_found", "is_archived"]
    assert all(c["ok"] is False for c in failed)


async def test_invalid_blocks_and_missing_text(sandbox, slack_world):
    slack = client(sandbox)
    error = await slack_error(
        slack.chat_postMessage(channel="C0SECURITY", text="x", blocks=[{"type": "bogus"}])
    )
    assert error.response["error"] == "invalid_blocks"
    header = [{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}]
    error = await slack_error(slack.chat_postMessage(channel="C0SECURITY", text="x", blocks=header))
    assert error.response["error"] == "invalid_blocks"
    with pytest.warns(UserWarning, match="text"):  # slack_sdk's own warning about a missing text
        error = await slack_error(slack.chat_postMessage(channel="C0SECURITY"))
    assert error.response["error"] == "no_text"


async def test_wrong_token_is_invalid_auth(sandbox, slack_world):
    error = await slack_error(
        client(sandbox, token="xoxb-not-the-token").chat_postMessage(channel="C0SECURITY", text="x")
    )
    assert error.response.status_code == 200
    assert error.response["error"] == "invalid_auth"
    assert calls(sandbox.context, "chat.postMessage")[-1]["error"] == "invalid_auth"


async def test_post_ephemeral(sandbox, slack_world):
    slack = client(sandbox)
    answer = await slack.chat_postEphemeral(channel="C0SECURITY", user="U0ADMIN", text="only you")
    assert answer["message_ts"]
    error = await slack_error(slack.chat_postEphemeral(channel="C0SECURITY", user="U0GHOST", text="x"))
    assert error.response["error"] == "user_not_found"
    error = await slack_error(slack.chat_postEphemeral(channel="C0SECURITY", user="U0OUTSIDER", text="x"))
    assert error.response["error"] == "user_not_in_channel"
    assert calls(sandbox.context, "chat.postEphemeral")[0]["body"]["user"] == "U0ADMIN"


async def test_update_needs_an_existing_message(sandbox, slack_world):
    slack = client(sandbox)
    posted = await slack.chat_postMessage(channel="C0SECURITY", text="Scanning…")
    updated = await slack.chat_update(channel="C0SECURITY", ts=posted["ts"], text="Scan done")
    assert updated["ts"] == posted["ts"]
    assert updated["message"]["text"] == "Scan done"
    error = await slack_error(slack.chat_update(channel="C0SECURITY", ts="1.000001", text="x"))
    assert error.response["error"] == "message_not_found"


async def test_users_info(sandbox, slack_world):
    slack = client(sandbox)
    admin = (await slack.users_info(user="U0ADMIN"))["user"]
    assert (admin["id"], admin["name"], admin["is_admin"], admin["is_owner"]) == (
        "U0ADMIN",
        "alice",
        True,
        False,
    )
    assert admin["real_name"] == "Alice <Admin>"
    assert (await slack.users_info(user="U0USER"))["user"]["is_admin"] is False
    error = await slack_error(slack.users_info(user="U0GHOST"))
    assert error.response["error"] == "user_not_found"


async def test_conversations_info(sandbox, slack_world):
    slack = client(sandbox)
    security = (await slack.conversations_info(channel="C0SECURITY"))["channel"]
    assert (security["name"], security["is_member"]) == ("security", True)
    assert (await slack.conversations_info(channel="C0RANDOM"))["channel"]["is_member"] is False
    error = await slack_error(slack.conversations_info(channel="C0NOPE"))
    assert error.response["error"] == "channel_not_found"


async def test_rate_limit_fault_answers_429_with_retry_after(sandbox, slack_world):
    slack_world.faults.append(
        Fault(host="slack", route="chat.postMessage", status=429, retry_after=1, count=1)
    )
    slack = client(sandbox)
    error = await slack_error(slack.chat_postMessage(channel="C0SECURITY", text="x"))
    assert error.response.status_code == 429
    assert float(error.response.headers["Retry-After"]) == 1
    # The fault covered one request: the next one goes through.
    assert (await slack.chat_postMessage(channel="C0SECURITY", text="x"))["ok"] is True


async def test_rate_limit_is_slack_shaped_and_the_sdk_retry_handler_recovers(sandbox, slack_world):
    slack_world.faults.append(
        Fault(host="slack", route="chat.postMessage", status=429, retry_after=1, count=1)
    )
    error = await slack_error(client(sandbox).chat_postMessage(channel="C0SECURITY", text="x"))
    assert error.response["error"] == "ratelimited"
    assert error.response.headers["Retry-After"] == "1"
    slack_world.faults[0].seen = 0
    retrying = client(sandbox, retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=1)])
    assert (await retrying.chat_postMessage(channel="C0SECURITY", text="x"))["ok"] is True
    assert slack_world.faults[0].seen == 2  # refused once, then retried by the SDK's handler


async def test_response_url_receiver_records_posts(sandbox, slack_world):
    url = response_url(sandbox.context, "cmd-1")
    assert url.startswith(sandbox.urls["slack"] + "/response/")
    verify = ssl.create_default_context(cafile=str(sandbox.ca_path))
    async with httpx.AsyncClient(verify=verify) as http:
        ok = await http.post(url, json={"response_type": "ephemeral", "text": "Working on it…"})
        empty = await http.post(url, json={"response_type": "ephemeral"})
        for _ in range(4):
            await http.post(url, json={"text": "more"})
        used = await http.post(url, json={"text": "one too many"})
    assert ok.status_code == 200 and ok.json() == {"ok": True}
    assert (empty.status_code, empty.text) == (400, "no_text")
    assert (used.status_code, used.text) == (404, "used_url")
    received = calls(sandbox.context, "response_url")
    assert received[0]["response_id"] == "cmd-1"
    assert received[0]["body"]["text"] == "Working on it…"
    assert [c["ok"] for c in received].count(True) == 5
    assert response_url(sandbox.context) != response_url(sandbox.context)
