"""`/slack/*` in front of Bolt: nothing reaches Bolt unless Slack signed it and it has the shape Bolt and our
listeners read.

Bolt parses a request body before it verifies the signature, and its parsers and extractors assume Slack's
shapes (`"id" in team`, `body["actions"][0]`, `event.get(...)`): junk, signed or not, became HTTP 500 with a
traceback. Here, in order:
1. the body is already bounded (`api.http_limits`, 256 KiB);
2. the signature: `X-Slack-Signature` is `v0=` + HMAC-SHA256(signing secret, `v0:{timestamp}:{raw body}`), the
   timestamp within 5 minutes of our clock (Slack's documented scheme). Computed over the raw bytes, because
   slack_sdk's SignatureVerifier decodes the body and converts the timestamp without guarding either;
   refused with 401;
3. the body: UTF-8, the two media types Slack sends, strict JSON (`api.json_input`), unique form fields, the
   fields Bolt's extractors and our listeners read of the types they expect; refused with 400 (415 for another
   media type). Refusals are one INFO line naming the reason, never the body or the signature.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from api import json_input

log = logging.getLogger(__name__)

MAX_AGE_SECONDS = 5 * 60
MAX_ID_LENGTH = 100  # Slack ids, timestamps and trigger ids are far shorter
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"

# What Bolt's context extractors (slack_bolt.request.internals) and payload matchers read, by expected type.
ID_OR_OBJECT = ("team", "user", "channel", "enterprise")  # a string id, or an object whose "id" is one
NESTED = ("event", "view", "item", "message", "previous_message", "assistant_thread", "function_data")
OBJECTS = (*NESTED, "container", "workflow_step")
NULLABLE = ("view", "item", "message", "previous_message", "assistant_thread")  # Bolt checks isinstance first
LISTS_OF_OBJECTS = ("authorizations", "actions", "response_urls")
IDS = (
    "type",
    "team_id",
    "user_id",
    "channel_id",
    "enterprise_id",
    "context_team_id",
    "context_enterprise_id",
    "api_app_id",
    "event_id",
    "trigger_id",
    "thread_ts",
    "user_team",
    "channel_type",
    "subtype",
    "bot_id",
    "function_execution_id",
    "app_installed_team_id",
    "callback_id",
    "command",
)
STRINGS = ("response_url", "challenge", "token", "bot_access_token")


class Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def refusal(error: Refused) -> JSONResponse:
    log.info("slack request refused (%s): %s", error.status, error.message)
    return JSONResponse({"error": error.message}, status_code=error.status)


def verify_signature(secret: str, headers, body: bytes, now: float | None = None) -> None:
    timestamp = headers.get("x-slack-request-timestamp", "")
    signature = headers.get("x-slack-signature", "")
    if not timestamp or not signature:
        raise Refused(401, "The request is not signed by Slack.")
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
        raise Refused(401, "The Slack request timestamp is not a number.")
    if abs((time.time() if now is None else now) - int(timestamp)) > MAX_AGE_SECONDS:
        raise Refused(401, "The Slack request timestamp is more than 5 minutes from our clock.")
    digest = hmac.new(secret.encode(), b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(f"v0={digest}".encode(), signature.encode("latin-1")):
        raise Refused(401, "The Slack signature does not match.")


def parse_body(body: bytes, content_type: str) -> dict:
    """The body as Bolt will parse it, once it is known to be something Bolt can parse without failing."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused(400, "The request body is not valid UTF-8.") from None
    # Bolt compares the media type exactly (no case folding) and parses a body starting with "{" as JSON
    # whatever its type: accept only what both of us read the same way.
    media = content_type.split(";")[0]
    try:
        if media == JSON:
            data = json_input.loads(text, what="The Slack request")
        elif media == FORM:
            if text.startswith("{"):
                raise Refused(400, "A form body cannot start with '{'.")
            data = form_fields(text)
            if "payload" in data:
                data = json_input.loads(data["payload"], what="The Slack payload")
        else:
            raise Refused(415, f"Slack requests are {FORM} or {JSON}.")
    except json_input.BadJSON as error:
        raise Refused(400, str(error)) from None
    if not isinstance(data, dict):
        raise Refused(400, "The Slack payload must be a JSON object.")
    check_envelope(data)
    check_kind(data)
    return data


def form_fields(text: str) -> dict[str, str]:
    try:
        pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=100)
    except ValueError:
        raise Refused(400, "The form has too many fields.") from None
    fields = dict(pairs)
    if len(fields) != len(pairs):
        raise Refused(400, "The form repeats a field.")
    for name, value in pairs:
        try:
            json_input.check_text(name + value, what="The form")
        except json_input.BadJSON as error:
            raise Refused(400, str(error)) from None
    return fields


def _wrong(key: str, expected: str) -> Refused:
    return Refused(400, f"The Slack payload's `{key}` must be {expected}.")


def check_envelope(data: dict, depth: int = 0) -> None:
    """Types of the fields Bolt's extractors read, here and in the objects they descend into."""
    for key in IDS:
        value = data.get(key)
        if value is not None and (not isinstance(value, str) or len(value) > MAX_ID_LENGTH):
            raise _wrong(key, f"a string of at most {MAX_ID_LENGTH} characters")
    for key in STRINGS:
        if key in data and data[key] is not None and not isinstance(data[key], str):
            raise _wrong(key, "a string")
    for key in ID_OR_OBJECT:
        value = data.get(key)
        if value is None or (isinstance(value, str) and len(value) <= MAX_ID_LENGTH):
            continue
        if not isinstance(value, dict):
            raise _wrong(key, "an id or an object")
        if depth < 3:
            check_envelope(value, depth + 1)
        if "id" in value and (not isinstance(value["id"], str) or len(value["id"]) > MAX_ID_LENGTH):
            raise _wrong(f"{key}.id", "a string id")
    for key in OBJECTS:
        if key not in data or (data[key] is None and key in NULLABLE):
            continue
        if not isinstance(data[key], dict):
            raise _wrong(key, "an object")
        if key in NESTED and depth < 3:
            check_envelope(data[key], depth + 1)
    for key in LISTS_OF_OBJECTS:
        if key in data:  # Bolt tests these with `in`, then takes len() or [0]: null is no better than junk
            items = data[key]
            if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
                raise _wrong(key, "a list of objects")
            if depth < 3:
                for item in items:
                    check_envelope(item, depth + 1)
    for key in ("is_enterprise_install", "is_ext_shared_channel"):
        if data.get(key) is not None and not isinstance(data[key], bool | str):
            raise _wrong(key, "a boolean")


def check_kind(data: dict) -> None:
    """What our listeners (bot/app.py) and Bolt's matchers need, for the requests we handle."""
    if "command" in data:  # a slash command (form fields, all strings)
        for key in ("team_id", "user_id", "channel_id"):
            if not data.get(key):
                raise Refused(400, f"The slash command has no `{key}`.")
        return
    kind = data.get("type")
    if kind is None and "ssl_check" not in data:
        raise Refused(400, "The request is neither a slash command nor a Slack payload.")
    if kind == "block_actions":
        for key in ("team", "user"):
            if not isinstance(data.get(key), dict) or not data[key].get("id"):
                raise Refused(400, f"The block_actions payload has no `{key}.id`.")
        if data.get("channel") is not None and not isinstance(data["channel"], dict):
            raise _wrong("channel", "an object")
        actions = data.get("actions")
        if not actions:
            raise Refused(400, "The block_actions payload has no `actions`.")
        for action in actions:
            for key in ("action_id", "block_id", "action_ts"):
                if action.get(key) is not None and not isinstance(action[key], str):
                    raise _wrong(f"actions[].{key}", "a string")
            if not action.get("action_id"):
                raise Refused(400, "An action has no `action_id`.")
    elif kind == "event_callback":
        event = data.get("event")
        if not isinstance(event, dict) or not isinstance(event.get("type"), str):
            raise Refused(400, "The event_callback has no `event.type`.")
    elif kind == "url_verification" and not isinstance(data.get("challenge"), str):
        raise Refused(400, "The url_verification has no `challenge`.")


def check_oauth_query(request: Request) -> None:
    """The OAuth routes read `code`, `state` and `error`: short, single, NUL-free strings."""
    for name, value in request.query_params.multi_items():
        if "\x00" in name or "\x00" in value or len(value) > 2000:
            raise Refused(400, "The query string is not one Slack sends.")
    for name in ("code", "state", "error"):
        if len(request.query_params.getlist(name)) > 1:
            raise Refused(400, f"`{name}` is given more than once.")


async def slack_endpoint(request: Request) -> Response:
    handler = request.app.state.slack
    if handler is None:
        return JSONResponse({"error": "The Slack app is not configured."}, status_code=404)
    try:
        if request.method == "POST":
            body = await request.body()  # bounded by api.http_limits
            secret = request.app.state.settings.slack_signing_secret.get_secret_value()
            verify_signature(secret, request.headers, body)
            parse_body(body, request.headers.get("content-type", ""))
        else:
            check_oauth_query(request)
    except Refused as error:
        return refusal(error)
    return await handler.handle(request)
