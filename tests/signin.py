"""Playing the administrator's browser: Microsoft's sign-in page, then the admin-consent page.

Everything goes over real HTTPS to the emulator; our own callbacks are reached either through the app
(`http`, an httpx client on the ASGI app) or, for core tests, by calling core with the callback's query.
"""

from __future__ import annotations

import html
import re
import ssl
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import httpx

from core.connections import service as consent
from core.connections import signin
from core.db import session_scope
from tests.api.consent import HIDDEN, decide
from tests.worlds import ADMIN


@dataclass
class Emulator:
    """What a browser needs to reach the emulated Microsoft pages: the CA to trust and the login host."""

    ca_path: Path
    authority_host: str

    @classmethod
    def of(cls, settings) -> Emulator:
        return cls(Path(settings.ca_bundle), settings.entra_authority_host)


def browser(sandbox) -> httpx.AsyncClient:
    return httpx.AsyncClient(verify=ssl.create_default_context(cafile=str(sandbox.ca_path)))


async def pick_account(sandbox, sign_in_url: str, upn: str) -> httpx.Response:
    """Open Microsoft's sign-in page and press `upn`'s button; Microsoft's answer."""
    async with browser(sandbox) as client:
        page = await client.get(sign_in_url)
        assert page.status_code == 200, page.text
        form = {name: html.unescape(value) for name, value in HIDDEN.findall(page.text)}
        action = re.search(r'<form method="post" action="([^"]+)"', page.text).group(1)
        return await client.post(sandbox.authority_host + action, data={**form, "upn": upn})


async def sign_in(sandbox, sign_in_url: str, upn: str = ADMIN) -> str:
    """Pick `upn` on Microsoft's sign-in page; return our callback's path and query."""
    answer = await pick_account(sandbox, sign_in_url, upn)
    assert answer.status_code == 302, answer.text
    location = urlsplit(answer.headers["location"])
    return f"{location.path}?{location.query}"


async def sign_in_page_error(sandbox, sign_in_url: str, upn: str) -> str:
    """What Microsoft's page says when it refuses the account (no redirect to us happens)."""
    answer = await pick_account(sandbox, sign_in_url, upn)
    assert answer.status_code == 400, answer.text
    return answer.text


async def connect_in_browser(http, sandbox, sign_in_url: str, upn: str = ADMIN, decision: str = "accept"):
    """Sign in, follow our callback to the consent page, decide; return our consent callback's response."""
    proven = await http.get(await sign_in(sandbox, sign_in_url, upn))
    assert proven.status_code == 303, proven.text
    return await http.get(await decide(sandbox, proven.headers["location"], decision))


async def grant(services, started, upn: str = ADMIN) -> None:
    """For core tests: sign in as an administrator and grant consent, calling core with each callback."""
    sandbox = Emulator.of(services.settings)
    params = query(await sign_in(sandbox, started.sign_in_url, upn))
    outcome = await signin.complete(services, params)
    assert outcome.kind == "proven", outcome
    params = query(await decide(sandbox, outcome.consent_url))
    async with session_scope(services.sessions) as session:
        granted = await consent.complete_consent(session, services.settings, params)
    assert granted.kind == "granted", granted


def query(path_and_query: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(path_and_query).query))
