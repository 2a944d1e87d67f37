"""Request limits, enforced before any endpoint parses anything.

Each path prefix has a body limit. A request whose Content-Length exceeds it is answered 413 without reading a byte;
one without a Content-Length (chunked) is read up to the limit and answered 413 at the first byte beyond it.
A body within the limit is buffered and replayed to the endpoint, so no endpoint ever reads more.

Also refused here, for every endpoint (400): a query string that is not UTF-8 (Starlette's `request.url`, used by
Bolt's OAuth handler and the trailing-slash redirect, decodes it and raised), and a NUL character in the path,
the query string or a form body (PostgreSQL refuses NUL in text, so a lookup by such a value was a 500; no
endpoint takes binary uploads). JSON bodies get the same treatment from `api.json_input`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

KIB = 1024
MIB = 1024 * KIB
# Slack's own requests are a few kilobytes (a block_actions payload with a large message is still far below);
# a consent form carries one connection id; anything else the service accepts is a small form or no body.
SLACK_MAX_BODY_BYTES = 256 * KIB
CONSENT_MAX_BODY_BYTES = 16 * KIB
DEFAULT_MAX_BODY_BYTES = 64 * KIB


@dataclass(frozen=True)
class BodyLimit:
    prefix: str
    max_bytes: int


def body_limits(graphql_max_bytes: int) -> list[BodyLimit]:
    return [
        BodyLimit("/graphql", graphql_max_bytes),
        BodyLimit("/slack/", SLACK_MAX_BODY_BYTES),
        BodyLimit("/consent/", CONSENT_MAX_BODY_BYTES),
    ]


def _human(size: int) -> str:
    if size % MIB == 0:
        return f"{size // MIB} MiB"
    if size % KIB == 0:
        return f"{size // KIB} KiB"
    return f"{size} bytes"


FORM_TYPES = (b"application/x-www-form-urlencoded", b"multipart/form-data")


def nul_in_form(body: bytes, headers) -> bool:
    content_type = next((v for n, v in headers if n == b"content-type"), b"").lower()
    if not content_type.startswith(FORM_TYPES):
        return False
    return b"\x00" in body or b"%00" in body


class RequestLimitsMiddleware:
    def __init__(self, app, limits: list[BodyLimit], default_max_bytes: int = DEFAULT_MAX_BODY_BYTES) -> None:
        self.app = app
        self.limits = sorted(limits, key=lambda limit: len(limit.prefix), reverse=True)
        self.default_max_bytes = default_max_bytes

    def limit_for(self, path: str) -> int:
        return next(
            (limit.max_bytes for limit in self.limits if path.startswith(limit.prefix)),
            self.default_max_bytes,
        )

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        query = scope.get("query_string", b"")
        try:
            query.decode("utf-8")
        except UnicodeDecodeError:
            await refuse(send, path, 400, "The query string is not valid UTF-8.")
            return
        if "\x00" in path or b"\x00" in query or b"%00" in query:
            await refuse(send, path, 400, "The URL contains a NUL character.")
            return
        limit = self.limit_for(path)
        declared = [value for name, value in scope.get("headers") or [] if name == b"content-length"]
        if declared:
            text = declared[0].strip()
            if len(declared) > 1 or not text.isdigit() or len(text) > 18:
                await refuse(send, path, 400, "The Content-Length header is not a single number.")
                return
            if int(text) > limit:
                await refuse(send, path, 413, f"The request body is larger than {_human(limit)}.")
                return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the client is gone: nobody to answer
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await refuse(send, path, 413, f"The request body is larger than {_human(limit)}.")
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if nul_in_form(body, scope.get("headers") or []):
            await refuse(send, path, 400, "The form contains a NUL character.")
            return
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body: only http.disconnect can come

        await self.app(scope, replay, send)


async def refuse(send, path: str, status: int, message: str) -> None:
    """A short JSON error: GraphQL's shape on /graphql, `{"error": ...}` elsewhere (Slack reads nothing)."""
    if path.startswith("/graphql"):
        code = "PAYLOAD_TOO_LARGE" if status == 413 else "BAD_REQUEST"
        document = {"errors": [{"message": message, "extensions": {"code": code}}]}
    else:
        document = {"error": message}
    body = json.dumps(document).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            # The rest of an oversized body is not read: the connection cannot carry another request.
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
