"""A real browser against our app served by uvicorn on loopback and the Azure emulator.

Chromium comes from Debian's package (`make test` installs it when missing); Playwright never downloads one.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import httpx
import pytest
import uvicorn
from playwright.async_api import Browser, Page, async_playwright

from api.app import create_app
from core.accounts import service as accounts
from core.db import session_scope
from core.settings import Settings

CHROMIUM = "/usr/bin/chromium"


@dataclass
class LiveServer:
    url: str
    settings: Settings


@pytest.fixture
def live_server(settings, db) -> Iterator[LiveServer]:
    """Our app served for real on a free loopback port, its `public_url` being that address.

    After `db`, so the tables are emptied before the app starts rather than under it.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    served = settings.model_copy(update={"public_url": url})
    config = uvicorn.Config(
        create_app(served, run_jobs=False),
        log_level="warning",
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=5,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 15
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("the app did not start")
            time.sleep(0.01)
        yield LiveServer(url, served)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        with contextlib.suppress(OSError):
            sock.close()
    assert not thread.is_alive(), "the app did not stop"


@dataclass
class ApiClient:
    token: str
    http: httpx.AsyncClient

    async def graphql(self, query: str, **variables) -> dict:
        response = await self.http.post(
            "/graphql",
            json={"query": query, "variables": variables},
            headers={"Authorization": f"Bearer {self.token}"},
        )
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture
async def api(live_server, db) -> AsyncIterator[ApiClient]:
    """An account with an API token, talking GraphQL over HTTP to the live server."""
    async with session_scope(db) as session:
        account = await accounts.create_account(session, "Acme")
        issued = await accounts.issue_token(session, account.id, "alice@acme.test")
    async with httpx.AsyncClient(base_url=live_server.url, timeout=30) as http:
        yield ApiClient(issued.token, http)


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox"],  # the tests run as root, where Chromium's sandbox cannot start
        )
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
async def page(browser, live_server) -> AsyncIterator[Page]:
    """A fresh browser profile per test; closed before the live server stops (it depends on it)."""
    # The emulator's CA is generated anew for each run and is not in Chromium's trust store.
    context = await browser.new_context(ignore_https_errors=True)
    context.set_default_timeout(15_000)
    try:
        yield await context.new_page()
    finally:
        await context.close()


# --- the console journey's server (job runner on) and browser context, for test_console_*.py ---------------


@pytest.fixture
def console_server(settings, db):
    """Our app on a loopback port with its job runner on (scans run as they would in `make run`)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    served = settings.model_copy(
        update={
            "public_url": url,
            "scanners": "secrets,pipelines",
            "job_runner": "inprocess",  # on PostgreSQL too: no separate worker process in this test
        }
    )
    server = uvicorn.Server(
        uvicorn.Config(create_app(served), log_level="warning", access_log=False, lifespan="on")
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 15
        while not server.started:
            assert time.monotonic() < deadline and thread.is_alive(), "the app did not start"
            time.sleep(0.01)
        yield LiveServer(url, served)
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        with contextlib.suppress(OSError):
            sock.close()


@pytest.fixture
async def console(browser, console_server):
    context = await browser.new_context(ignore_https_errors=True, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(20_000)
    try:
        yield context
    finally:
        await context.close()
