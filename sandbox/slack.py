"""Slack Web API (slack.com/api/...): the few methods the bot uses, plus a receiver for response_url posts.

Like real Slack, every method answers HTTP 200 with `{"ok": false, "error": ...}` on failure, and accepts
JSON or form-encoded bodies (and query parameters, which slack_sdk uses for GET methods). Rate limiting
comes from `Fault(host="slack", status=429, retry_after=...)`, played by the fault middleware.
Every call is appended to `context.slack_calls` as {"method", "body", "at", "ok", "error", "response"}.
"""

from __future__ import annotations

import json
import math
import time
import uuid

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from sandbox import slack_page
from sandbox.scenario import SlackWorkspace

BLOCK_TYPES = {
    "section",
    "divider",
    "image",
    "actions",
    "context",
    "input",
    "file",
    "header",
    "rich_text",
    "video",
    "markdown",
}
MAX_BLOCKS = 50
MAX_TEXT = 40_000


class SlackError(Exception):
    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


async def send_slack_error(send, status: int, retry_after: float | None) -> None:
    """A fault's answer as Slack gives it: JSON `{"ok": false, "error": ...}` and an integer Retry-After.

    For the fault middleware to call on the slack host (slack_sdk's retry handler does `int(header)`,
    so "1.0" would break it, and Slack clients read `error`, not an Azure DevOps message).
    """
    error = {429: "ratelimited", 500: "internal_error", 503: "service_unavailable"}.get(status, "fatal_error")
    headers = [(b"content-type", b"application/json; charset=utf-8")]
    if status == 429 or retry_after is not None:
        headers.append((b"retry-after", str(math.ceil(retry_after or 1)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": json.dumps({"ok": False, "error": error}).encode()})


def response_url(context, response_id: str | None = None) -> str:
    """A response_url as Slack puts it in a slash command's payload; posts to it land in slack_calls."""
    return f"{context.urls['slack']}/response/{response_id or uuid.uuid4().hex}"


def calls(context, method: str) -> list[dict]:
    """The recorded calls of one method (e.g. "chat.postMessage" or "response_url"), oldest first."""
    return [c for c in list(context.slack_calls) if c["method"] == method]


def build_app(context) -> Starlette:
    messages: dict[tuple[str, str], dict] = {}  # (channel id, ts) -> message, for chat.update
    response_uses: dict[str, int] = {}
    clock = {"last": 0.0}

    def next_ts() -> str:
        # Slack's ts is "seconds.micros", unique per channel and increasing; one counter is enough here.
        now = max(time.time(), clock["last"] + 0.000001)
        clock["last"] = now
        return f"{now:.6f}"

    async def api(request: Request) -> Response:
        method = request.path_params["method"]
        body = await read_body(request)
        token = bearer(request) or body.pop("token", None)
        recorded = {"method": method, "body": body, "at": time.time()}
        try:
            handler = METHODS.get(method)
            if handler is None:
                raise SlackError("unknown_method")
            with context.holder.lock:
                slack = context.world.slack
                check_token(slack, token)
                answer = handler(slack, body, messages, next_ts)
            result = {"ok": True, **answer}
        except SlackError as exc:
            result = {"ok": False, "error": exc.error}
        recorded.update(ok=result["ok"], error=result.get("error"), response=result)
        context.slack_calls.append(recorded)
        return JSONResponse(result, headers={"x-slack-req-id": uuid.uuid4().hex})

    async def respond(request: Request) -> Response:
        response_id = request.path_params["id"]
        try:
            body = json.loads(await request.body() or b"{}")
        except ValueError:
            return PlainTextResponse("invalid_payload", status_code=400)
        recorded = {"method": "response_url", "response_id": response_id, "body": body, "at": time.time()}
        content = ("text", "blocks", "delete_original")
        if not isinstance(body, dict) or not any(body.get(key) for key in content):
            context.slack_calls.append({**recorded, "ok": False, "error": "no_text"})
            return PlainTextResponse("no_text", status_code=400)
        with context.holder.lock:
            allowed = context.world.slack.response_url_uses
        response_uses[response_id] = response_uses.get(response_id, 0) + 1
        if response_uses[response_id] > allowed:
            # Slack refuses a response_url after its fifth use (or after 30 minutes).
            context.slack_calls.append({**recorded, "ok": False, "error": "used_url"})
            return PlainTextResponse("used_url", status_code=404)
        context.slack_calls.append({**recorded, "ok": True, "error": None})
        return JSONResponse({"ok": True})

    routes = [
        Route("/api/{method}", api, methods=["GET", "POST"]),
        Route("/response/{id}", respond, methods=["POST"]),
    ]
    slack_page.add_routes(
        context, routes, response_url
    )  # the workspace as a web page (sandbox/slack_page.py)
    return Starlette(routes=routes)


# --- request parsing -------------------------------------------------------------------------------


async def read_body(request: Request) -> dict:
    """Query parameters, then the JSON or form body; JSON-in-form fields (blocks) are decoded."""
    body: dict = dict(request.query_params)
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("application/json"):
        try:
            data = json.loads(await request.body() or b"{}")
        except ValueError:
            data = {}
        if isinstance(data, dict):
            body.update(data)
    elif content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        body.update({k: v for k, v in form.items() if isinstance(v, str)})
    for key in ("blocks", "attachments", "metadata"):
        if isinstance(body.get(key), str):
            try:
                body[key] = json.loads(body[key])
            except ValueError:
                body[key] = "invalid"
    return body


def bearer(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def check_token(slack: SlackWorkspace, token: str | None) -> None:
    if not token:
        raise SlackError("not_authed")
    if token != slack.bot_token:
        raise SlackError("invalid_auth")


# --- lookups ---------------------------------------------------------------------------------------


def find_channel(slack: SlackWorkspace, key: str | None) -> tuple[str, dict]:
    """By id, by name ("security" or "#security"), or a user id (a DM, which the bot can always use)."""
    if not key:
        raise SlackError("channel_not_found")
    if key in slack.channels:
        return key, slack.channels[key]
    name = key.removeprefix("#")
    for channel_id, channel in slack.channels.items():
        if channel.get("name") == name:
            return channel_id, channel
    if key in slack.users:
        return "D" + key[1:], {"name": key, "is_im": True, "is_member": True, "members": [key]}
    raise SlackError("channel_not_found")


def find_user(slack: SlackWorkspace, user_id: str | None) -> dict:
    if not user_id or user_id not in slack.users:
        raise SlackError("user_not_found")
    return slack.users[user_id]


def writable_channel(slack: SlackWorkspace, key: str | None) -> tuple[str, dict]:
    channel_id, channel = find_channel(slack, key)
    if channel.get("is_archived"):
        raise SlackError("is_archived")
    if not channel.get("is_member", False):
        raise SlackError("not_in_channel")
    return channel_id, channel


def check_content(body: dict) -> None:
    blocks, text = body.get("blocks"), body.get("text")
    if not (text or blocks or body.get("attachments")):
        raise SlackError("no_text")
    if text and len(str(text)) > MAX_TEXT:
        raise SlackError("msg_too_long")
    if blocks is not None and not valid_blocks(blocks):
        raise SlackError("invalid_blocks")


def valid_blocks(blocks) -> bool:
    """The structural checks Slack makes before anything else (limits from slack_sdk's block models)."""
    if not isinstance(blocks, list) or len(blocks) > MAX_BLOCKS:
        return False
    for block in blocks:
        if not isinstance(block, dict) or block.get("type") not in BLOCK_TYPES:
            return False
        text = block.get("text")
        if block["type"] in ("section", "header") and text is not None and not isinstance(text, dict):
            return False
        limit = 150 if block["type"] == "header" else 3000
        if isinstance(text, dict) and len(str(text.get("text", ""))) > limit:
            return False
        if block["type"] == "section" and len(block.get("fields", [])) > 10:
            return False
    return True


def message(slack: SlackWorkspace, body: dict, ts: str) -> dict:
    found = {
        "type": "message",
        "user": slack.bot_user_id,
        "bot_id": slack.bot_id,
        "team": slack.team_id,
        "text": body.get("text", ""),
        "ts": ts,
    }
    for key in ("blocks", "attachments", "thread_ts", "metadata"):
        if body.get(key) is not None:
            found[key] = body[key]
    return found


# --- methods: (workspace, body, messages, next_ts) -> answer fields ---------------------------------


def auth_test(slack: SlackWorkspace, body: dict, messages: dict, next_ts) -> dict:
    return {
        "url": f"https://{slack.domain}.slack.com/",
        "team": slack.team_name,
        "user": "panoptica",
        "team_id": slack.team_id,
        "user_id": slack.bot_user_id,
        "bot_id": slack.bot_id,
        "is_enterprise_install": False,
    }


def post_message(slack: SlackWorkspace, body: dict, messages: dict, next_ts) -> dict:
    channel_id, _ = writable_channel(slack, body.get("channel"))
    check_content(body)
    thread_ts = body.get("thread_ts")
    if thread_ts and (channel_id, str(thread_ts)) not in messages:
        raise SlackError("thread_not_found")
    ts = next_ts()
    posted = message(slack, body, ts)
    messages[(channel_id, ts)] = posted
    return {"channel": channel_id, "ts": ts, "message": posted}


def post_ephemeral(slack: SlackWorkspace, body: dict, messages: dict, next_ts) -> dict:
    _, channel = writable_channel(slack, body.get("channel"))
    user_id = body.get("user")
    find_user(slack, user_id)
    if "members" in channel and user_id not in channel["members"]:
        raise SlackError("user_not_in_channel")
    check_content(body)
    return {"message_ts": next_ts()}


def update(slack: SlackWorkspace, body: dict, messages: dict, next_ts) -> dict:
    channel_id, _ = find_channel(slack, body.get("channel"))
    ts = str(body.get("ts", ""))
    if (channel_id, ts) not in messages:
        raise SlackError("message_not_found")
    check_content(body)
    updated = {**message(slack, body, ts), "edited": {"user": slack.bot_user_id, "ts": next_ts()}}
    messages[(channel_id, ts)] = updated
    return {"channel": channel_id, "ts": ts, "text": updated["text"], "message": updated}


def users_info(slack: SlackWorkspace, body: dict, messages: dict, next_ts) -> dict:
    user_id = body.get("user")
    user = find_user(slack, user_id)
    name = user.get("name", user_id)
    return {
        "user": {
            "id": user_id,
            "team_id": slack.team_id,
            "name": name,
            "real_name": user.get("real_name", name),
            "deleted": user.get("deleted", False),
            "is_admin": user.get("is_admin", False),
            "is_owner": user.get("is_owner", False),
            "is_primary_owner": user.get("is_primary_owner", False),
            "is_bot": user.get("is_bot", False),
            "tz": user.get("tz", "Europe/London"),
            "profile": {
                "display_name": name,
                "real_name": user.get("real_name", name),
                "email": user.get("email", f"{name}@{slack.domain}.example"),
            },
        }
    }


def conversations_info(slack: SlackWorkspace, body: dict, messages: dict, next_ts) -> dict:
    channel_id, channel = find_channel(slack, body.get("channel"))
    if channel_id not in slack.channels:  # a DM looked up by user id is not a conversation id
        raise SlackError("channel_not_found")
    return {
        "channel": {
            "id": channel_id,
            "name": channel.get("name", channel_id),
            "is_channel": not channel.get("is_private", False),
            "is_group": False,
            "is_im": False,
            "is_private": channel.get("is_private", False),
            "is_archived": channel.get("is_archived", False),
            "is_general": channel.get("name") == "general",
            "is_member": channel.get("is_member", False),
            "context_team_id": slack.team_id,
            "num_members": len(channel.get("members", slack.users)),
        }
    }


METHODS = {
    "auth.test": auth_test,
    "chat.postMessage": post_message,
    "chat.postEphemeral": post_ephemeral,
    "chat.update": update,
    "users.info": users_info,
    "conversations.info": conversations_info,
}
