"""ASGI middleware that plays the scenario's faults and latency in front of every emulated host."""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass

from sandbox.scenario import Fault, WorldHolder
from sandbox.slack import send_slack_error

ORG_IN_PATH = re.compile(r"^/([A-Za-z0-9][A-Za-z0-9-]{0,49})(?:/|$)")


@dataclass
class RequestRecord:
    host: str
    method: str
    path: str
    query: str
    status: int = 0


class FaultMiddleware:
    """Applies world-wide and per-organization faults, then records the request and its status."""

    def __init__(self, app, host: str, holder: WorldHolder, log: list[RequestRecord]) -> None:
        self.app = app
        self.host = host
        self.holder = holder
        self.log = log

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        record = RequestRecord(self.host, scope["method"], scope["path"], scope["query_string"].decode())
        self.log.append(record)
        # The admin host is how tests and people clear faults: it never plays them.
        faults, latency = (
            ([], 0) if self.host == "admin" else self._faults_for(scope["method"], scope["path"])
        )
        if latency:
            await asyncio.sleep(latency / 1000)

        async def recording_send(message) -> None:
            if message["type"] == "http.response.start":
                record.status = message["status"]
            await send(message)

        for fault in faults:
            if await self._play(fault, scope, recording_send):
                return
        await self.app(scope, receive, recording_send)

    def _faults_for(self, method: str, path: str) -> tuple[list[Fault], int]:
        with self.holder.lock:
            world = self.holder.world
            candidates = list(world.faults)
            latency = 0
            match = ORG_IN_PATH.match(path)
            org = world.organization(match.group(1)) if match and self.host != "login" else None
            if org is not None:
                candidates += org.faults
                latency = org.latency_ms
            applied = [f for f in candidates if f.matches(self.host, method, path) and f.take()]
        latency += sum(f.latency_ms for f in applied)
        return applied, latency

    async def _play(self, fault: Fault, scope, send) -> bool:
        """Answer for the fault; False when the request should go on (a delay, empty pages)."""
        if fault.empty_pages:
            scope.setdefault("state", {})["empty_page"] = True
            return False
        if fault.drop_connection:
            # Promise a body, send half of it, then fail: the client sees the connection drop.
            await send(
                {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"100")]}
            )
            await send({"type": "http.response.body", "body": b'{"count": 1', "more_body": True})
            raise ConnectionAbortedError("sandbox: dropped connection (fault)")
        if fault.answer is not None:
            await send_json(send, 200, fault.answer)
            return True
        if fault.delay_only:
            scope.setdefault("state", {})["retry_after"] = fault.retry_after or 1
            return False
        if fault.status is not None:
            if self.host == "slack":  # Slack clients read {"ok": false, "error"} and an integer Retry-After
                await send_slack_error(send, fault.status, fault.retry_after)
            else:
                await send_error(send, fault.status, fault.retry_after)
            return True
        return False


async def send_json(send, status: int, body) -> None:
    headers = [(b"content-type", b"application/json; charset=utf-8")]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": json.dumps(body).encode()})


async def send_error(send, status: int, retry_after: float | None) -> None:
    headers = [(b"content-type", b"application/json; charset=utf-8")]
    if status == 429:
        message = "TF400733: Request was blocked due to exceeding usage of resource 'Concurrency' in namespace 'User'."
        headers += [
            (b"x-ratelimit-resource", b"ATCPU"),
            (b"x-ratelimit-limit", b"200"),
            (b"x-ratelimit-remaining", b"0"),
        ]
    else:
        message = f"VS402900: The service is temporarily unavailable (sandbox fault {status})."
    if retry_after is not None:
        headers.append((b"retry-after", str(retry_after).encode()))
    body = json.dumps(
        {
            "$id": "1",
            "innerException": None,
            "message": message,
            "typeName": "Sandbox.Fault, Sandbox",
            "typeKey": "ServiceUnavailableException" if status != 429 else "RequestBlockedException",
            "errorCode": 0,
            "eventId": 3000,
        }
    ).encode()
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class RetryAfterOn200:
    """Adds `Retry-After` and `X-RateLimit-Delay` to a successful answer when a delay fault applied."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        retry_after = scope.get("state", {}).get("retry_after") if scope["type"] == "http" else None
        if retry_after is None:
            await self.app(scope, receive, send)
            return

        async def add_headers(message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *message.get("headers", []),
                    (b"retry-after", str(retry_after).encode()),
                    (b"x-ratelimit-delay", b"%.3f" % float(retry_after)),
                    (b"x-ratelimit-remaining", b"0"),
                ]
            await send(message)

        await self.app(scope, receive, add_headers)
