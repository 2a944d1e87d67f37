"""Response headers every answer carries, and the Host names the service answers to.

Content-Security-Policy, by what is served:
- our own pages (`api/pages/`, and anything else that is not listed below): nothing but the one stylesheet of
  `api/pages/layout.py`, allowed by its hash; no script at all, no framing, forms only to ourselves (and to
  Microsoft Entra ID, for sign-in forms that continue there);
- GraphiQL (development only): scripts and styles from our own origin only (`api/graphql/graphiql.py`);
- Slack's OAuth pages (Bolt renders them): their inline style and Slack's "Add to Slack" image; no script.
JSON answers get the strict policy too: should a browser ever render one, it runs nothing.

Every answer also gets `X-Content-Type-Options: nosniff`, `Referrer-Policy: no-referrer`, `X-Frame-Options:
DENY` (browsers without frame-ancestors) and, unless the endpoint chose otherwise, `Cache-Control: no-store`:
nothing the service answers (pages, GraphQL, SARIF, metrics) is meant for a shared cache.
"""

from __future__ import annotations

import base64
import hashlib
from urllib.parse import urlsplit

from starlette.middleware.trustedhost import TrustedHostMiddleware

from api.pages.layout import STYLE


def csp_hash(source: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(source.encode()).digest()).decode() + "'"


def page_policy(form_targets: str = "") -> str:
    return (
        "default-src 'none'; "
        f"style-src {csp_hash(STYLE)}; img-src 'self' data:; "
        f"form-action 'self'{' ' + form_targets if form_targets else ''}; "
        "base-uri 'none'; frame-ancestors 'none'"
    )


def graphiql_policy() -> str:
    """GraphiQL's page: its scripts and styles from our own origin only (no inline script, no CDN); its fonts
    are data: URLs inside its stylesheet; it talks to /graphql only."""
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; font-src data:; "
        "img-src 'self' data:; connect-src 'self'; "
        "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    )


SLACK_PAGE_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data: https://platform.slack-edge.com; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
ALWAYS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]


class SecurityHeadersMiddleware:
    def __init__(self, app, entra_authority_host: str = "") -> None:
        self.app = app
        self.page = page_policy(origin_of(entra_authority_host)).encode()
        self.graphiql = graphiql_policy().encode()
        self.slack = SLACK_PAGE_POLICY.encode()

    def policy(self, path: str, content_type: bytes) -> bytes:
        if content_type.startswith(b"text/html"):
            if path == "/graphql":
                return self.graphiql
            if path.startswith("/slack/"):
                return self.slack
        return self.page

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")

        async def send_with_headers(message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or [])
                names = {name.lower() for name, _ in headers}
                content_type = next((v.lower() for n, v in headers if n.lower() == b"content-type"), b"")
                added = [(n, v) for n, v in ALWAYS if n not in names]
                if b"content-security-policy" not in names:
                    added.append((b"content-security-policy", self.policy(path, content_type)))
                if b"cache-control" not in names:
                    added.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers + added}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


# --- trusted hosts ---------------------------------------------------------------------------------------
# Probes and scrapers address a process by its IP (a load balancer's health check, Prometheus' service
# discovery): these paths never build a URL from Host, so any Host may reach them.
HOST_EXEMPT_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


def allowed_hosts(public_url: str, extra: str = "", development: bool = False) -> list[str]:
    """The public URL's host, loopback names, the operator's extra names (comma-separated, `*.example.com`
    allowed) and, in development, httpx/Starlette's test host `testserver`."""
    hosts = [urlsplit(public_url).hostname or "", "localhost", "127.0.0.1", "::1"]
    hosts += [host.strip().lower() for host in extra.split(",") if host.strip()]
    if development:
        hosts.append("testserver")
    return list(dict.fromkeys(host for host in hosts if host))


class TrustedHosts:
    """Starlette's TrustedHostMiddleware (400 for a Host we do not serve, so no forged Host reaches a
    `Location` or a page), except on the probe paths above."""

    def __init__(self, app, hosts: list[str]) -> None:
        self.app = app
        self.checked = TrustedHostMiddleware(app, allowed_hosts=hosts, www_redirect=False)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and scope.get("path") in HOST_EXEMPT_PATHS:
            await self.app(scope, receive, send)
            return
        await self.checked(scope, receive, send)
