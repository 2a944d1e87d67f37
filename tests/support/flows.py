"""The way a customer connects an organization, and a day of scheduled scans, as tests drive them through the
real flows (the emulator over HTTPS, the real database)."""

from __future__ import annotations

import ssl
from datetime import datetime

import httpx

from core.accounts.service import Principal, create_account
from core.connections import flows
from core.db import session_scope
from core.db.columns import utcnow
from core.jobs.runner import JobRunner
from core.scans import schedule
from tests.signin import grant
from tests.worlds import ADMIN

DEMO_ORGANIZATION = "contoso-demo"  # sandbox/scenarios/demo.yaml
DEMO_ADMIN = "megan@contoso.onmicrosoft.com"  # its organization administrator


async def connect_organization(
    services,
    organization: str = "contoso",
    *,
    account_name: str = "Acme",
    user: str = "alice@acme.test",
    admin: str = ADMIN,
) -> tuple[str, str]:
    """A new account connects `organization`: start, the organization's administrator signs in and consents,
    Connect's diagnosis passes (discovery has run). Returns (account id, connection id)."""
    async with session_scope(services.sessions) as session:
        account = await create_account(session, account_name)
    principal = Principal(account.id, user, "")
    started = await flows.start(services, principal, organization)
    await grant(services, started, admin)
    result = await flows.connect(services, principal, started.connection.id)
    assert result.diagnosis.ok, [c for c in result.diagnosis.checks if c.status == "FAIL"]
    return account.id, started.connection.id


async def run_daily(services, now: datetime | None = None, *, max_rounds: int = 100) -> None:
    """The day's schedule tick, then every job it queued (and the jobs those queue) until none is due."""
    await schedule.tick(services, now or utcnow())
    await JobRunner(services).run_until_idle(max_rounds=max_rounds)


async def consent_demo(sandbox) -> None:
    """In the demo world nothing is granted yet: its tenant's administrator consents to our app and adds our
    service principal to the demo organization, through the emulator's admin API."""
    tenant = sandbox.world.tenants[0].id
    admin_api = sandbox.urls["admin"]
    async with httpx.AsyncClient(verify=ssl.create_default_context(cafile=str(sandbox.ca_path))) as admin:
        consented = await admin.post(f"{admin_api}/api/tenants/{tenant}/consent")
        assert consented.is_success, consented.text
        added = await admin.post(
            f"{admin_api}/api/organizations/{DEMO_ORGANIZATION}/service-principal", json={}
        )
        assert added.is_success, added.text


async def connect_demo(services, sandbox) -> tuple[str, str]:
    """The demo organization consented and connected by a new account "Contoso". Returns (account id,
    connection id)."""
    await consent_demo(sandbox)
    return await connect_organization(
        services, DEMO_ORGANIZATION, account_name="Contoso", user="admin@contoso.test", admin=DEMO_ADMIN
    )
