from dataclasses import dataclass

import httpx
import pytest

from api.app import create_app
from core.accounts import service as accounts
from core.db import session_scope


@dataclass
class Caller:
    account_id: str
    token: str
    client: httpx.AsyncClient

    async def graphql(self, query: str, **variables) -> dict:
        response = await self.client.post(
            "/graphql",
            json={"query": query, "variables": variables},
            headers={"Authorization": f"Bearer {self.token}"},
        )
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture
async def app(settings, db):
    # Jobs and schedules run only when a test drives them (app.state.jobs.run_until_idle()).
    app = create_app(settings, run_jobs=False)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def http(app):
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def new_caller(db, http, name: str, email: str) -> Caller:
    async with session_scope(db) as session:
        account = await accounts.create_account(session, name)
        issued = await accounts.issue_token(session, account.id, email)
    return Caller(account.id, issued.token, http)


@pytest.fixture
async def alice(db, http) -> Caller:
    return await new_caller(db, http, "Acme", "alice@acme.test")


@pytest.fixture
async def mallory(db, http) -> Caller:
    return await new_caller(db, http, "Other Corp", "mallory@other.test")
