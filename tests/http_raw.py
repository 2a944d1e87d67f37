"""Requests httpx will not build (a bogus Content-Length, raw bytes in a query string), sent straight to the ASGI
app: the same app and middleware the server runs, without a client that cleans the request up first."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    chunks_read: int = 0


async def raw_request(
    app,
    method: str,
    path: str,
    *,
    query: bytes = b"",
    headers: list[tuple[bytes, bytes]] | None = None,
    chunks: list[bytes] | None = None,
    host: bytes = b"testserver",
) -> RawResponse:
    chunks = list(chunks or [b""])
    response = RawResponse(status=0)

    async def receive():
        if response.chunks_read < len(chunks):
            response.chunks_read += 1
            more = response.chunks_read < len(chunks)
            return {"type": "http.request", "body": chunks[response.chunks_read - 1], "more_body": more}
        return {"type": "http.disconnect"}

    async def send(message):
        if message["type"] == "http.response.start":
            response.status = message["status"]
            response.headers = {
                k.decode("latin-1").lower(): v.decode("latin-1") for k, v in message["headers"]
            }
        elif message["type"] == "http.response.body":
            response.body += message.get("body", b"")

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "root_path": "",
        "headers": [(b"host", host), *(headers or [])],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
        "state": {},
    }
    await app(scope, receive, send)
    return response
