"""A person in the console: a member of an account, signed in through Microsoft's page in a browser of their own,
and GraphQL requests with the session cookie (and the CSRF token the console sends)."""

from urllib.parse import urlsplit

import httpx

from core.accounts import service as accounts
from core.accounts import sessions
from core.audit.service import record
from core.db import session_scope
from tests.signin import Emulator, sign_in


def person(world, upn: str) -> tuple[str, str]:
    tenant, user = world.user(upn)
    return tenant.id, user.object_id


async def new_account(db, world, name: str, upn: str, audit_subject: str) -> str:
    async with session_scope(db) as session:
        account = await accounts.create_account(session, name)
        await sessions.add_member(session, account.id, *person(world, upn), upn)
        record(session, account.id, upn, "test.marker", audit_subject)
    return account.id


async def console_sign_in(app, settings, upn: str) -> httpx.AsyncClient:
    """A browser of its own: our sign-in, Microsoft's page (pick `upn`), our callback."""
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
    started = await client.get("/console/signin", params={"next": "/repositories?org=x"})
    assert started.status_code == 303, started.text
    assert urlsplit(started.headers["location"]).path.startswith("/organizations/oauth2/v2.0/authorize")
    callback = await client.get(await sign_in(Emulator.of(settings), started.headers["location"], upn))
    client.last_callback = callback
    return client


async def csrf_of(client) -> str:
    info = await client.get("/console/api/session")
    assert info.status_code == 200, info.text
    return info.json()["csrfToken"]


async def gql(client, query: str, csrf: str | None = None, **headers) -> httpx.Response:
    if csrf is not None:
        headers["X-Panoptica-CSRF"] = csrf
    return await client.post("/graphql", json={"query": query}, headers=headers)
