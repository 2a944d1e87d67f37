"""A Slack you can see: a person types `/panoptica ...` on the emulated workspace's page (sandbox/slack_page.py)
as an admin or a member; the page signs it as Slack does and posts it to our app served on loopback, and shows
the app's answers (the acknowledgement, then the job's reply through the response_url) rendered from Block Kit."""

import contextlib
import socket
import threading
import time

import httpx
import pytest
import uvicorn
from pydantic import SecretStr

from api.app import create_app
from core.accounts import service as accounts
from core.db import session_scope

ADMIN, MEMBER, SECURITY = "U0ALICE", "U0BOB", "C0SECURITY"
SIGNING_SECRET = "slack-page-" + "signing-secret"


@pytest.fixture
def slack_server(settings, sandbox, world, db):
    """Our app with Slack on (the emulator's Web API), jobs in-process, served for real; the emulated workspace
    wired to it."""
    world.slack.users = {
        ADMIN: {"name": "alice", "is_admin": True},
        MEMBER: {"name": "bob", "is_admin": False},
    }
    world.slack.channels = {SECURITY: {"name": "security", "is_member": True}}
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    served = settings.model_copy(
        update={
            "public_url": url,
            "slack_api_url": sandbox.slack_api_url,
            "slack_bot_token": SecretStr(world.slack.bot_token),
            "slack_signing_secret": SecretStr(SIGNING_SECRET),
            "job_runner": "inprocess",
        }
    )
    server = uvicorn.Server(uvicorn.Config(create_app(served), log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the app did not start"
        time.sleep(0.01)
    sandbox.context.slack_app = {"url": f"{url}/slack/events", "signing_secret": SIGNING_SECRET}
    try:
        yield url
    finally:
        sandbox.context.slack_app = {}
        server.should_exit = True
        thread.join(timeout=10)
        with contextlib.suppress(OSError):
            sock.close()


async def link_code(url: str, db) -> str:
    async with session_scope(db) as session:
        account = await accounts.create_account(session, "Acme")
        issued = await accounts.issue_token(session, account.id, "alice@acme.test")
    async with httpx.AsyncClient(base_url=url) as http:
        answer = await http.post(
            "/graphql",
            json={"query": "mutation { createSlackLinkCode { code } }"},
            headers={"Authorization": f"Bearer {issued.token}"},
        )
    return answer.json()["data"]["createSlackLinkCode"]["code"]


async def send(page, person: str, text: str) -> None:
    await page.select_option("select[name=user]", person)
    await page.fill("input[name=text]", text)
    await page.click("form button")
    await page.wait_for_load_state()


async def until_shown(page, text: str, rounds: int = 60) -> None:
    """A job's reply arrives through the response_url a moment later: refresh until it is on the page."""
    for _ in range(rounds):
        if await page.get_by_text(text).count():
            return
        await page.wait_for_timeout(250)
        await page.click("text=refresh")
    raise AssertionError(f"{text!r} never shown: {await page.inner_text('#log')}")


async def test_the_chat_ops_flow_in_the_emulated_workspace(page, sandbox, slack_server, db):
    code = await link_code(slack_server, db)
    await page.goto(f"{sandbox.urls['slack']}/?channel={SECURITY}&user={ADMIN}")
    assert await page.title() == "Contoso Slack (emulated)"
    assert await page.get_by_text("No messages yet.").count() == 1

    await send(page, ADMIN, f"/panoptica link {code}")
    await until_shown(page, "This workspace is now linked to your Panoptica account.")
    assert await page.get_by_text(f"/panoptica link {code}").count() == 1  # what alice typed, shown to her

    await send(page, ADMIN, "/panoptica help")  # answered in the acknowledgement, rendered from its blocks
    await until_shown(page, "connect an Azure DevOps organization")
    assert await page.locator("#log code").count() >= 5  # `/panoptica ...` usages rendered as code

    await send(page, ADMIN, "/panoptica status")
    await until_shown(page, "No Azure DevOps organization is connected yet.")

    await send(page, MEMBER, "/panoptica subscribe")  # bob is not a workspace admin
    await until_shown(page, "Only Slack workspace admins and owners")
    # Ephemeral answers are each person's own: alice's view has none of bob's.
    await page.goto(f"{sandbox.urls['slack']}/?channel={SECURITY}&user={ADMIN}")
    assert await page.get_by_text("Only Slack workspace admins and owners").count() == 0
    assert await page.get_by_text("This workspace is now linked").count() == 1
