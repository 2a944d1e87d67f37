"""One ownership check (core/ownership.py): another account's id is answered exactly as a missing one.

On the test database (SQLite, or PostgreSQL with PANOPTICA_TEST_DATABASE_URL), with real rows of two accounts.
"""

from __future__ import annotations

import pytest
from sqlmodel import select

from core.accounts.models import Account
from core.connections.models import AzureConnection, ConnectionStatus
from core.db import session_scope
from core.discovery.models import AzureRepository
from core.errors import NotFound
from core.findings import sarif
from core.ownership import find_owned, owned, where_owned


async def two_accounts(db) -> tuple[str, str, str]:
    """Alice's and Bob's accounts, and Bob's connection with one repository; returns (alice, bob, bob's repo)."""
    async with session_scope(db) as session:
        alice, bob = Account(name="Alice"), Account(name="Bob")
        session.add_all([alice, bob])
        await session.flush()
        connection = AzureConnection(
            account_id=bob.id,
            organization="bobs-org",
            tenant_id="t",
            created_by="bob@test",
            status=ConnectionStatus.CONNECTED,
        )
        session.add(connection)
        await session.flush()
        repository = AzureRepository(
            account_id=bob.id,
            connection_id=connection.id,
            ado_id="ado-1",
            organization="bobs-org",
            project_ado_id="p1",
            project_name="proj",
            name="payments",
            default_branch="refs/heads/main",
        )
        session.add(repository)
        await session.flush()
        return alice.id, bob.id, repository.id


async def test_another_accounts_row_is_not_found_as_a_missing_one_is(db):
    alice, bob, repository_id = await two_accounts(db)
    async with db() as session:
        assert (await owned(session, AzureRepository, repository_id, bob, "repository")).name == "payments"
        with pytest.raises(NotFound) as foreign:
            await owned(session, AzureRepository, repository_id, alice, "repository")
        with pytest.raises(NotFound) as missing:
            await owned(session, AzureRepository, "00000000-0000-0000-0000-000000000000", alice, "repository")
        assert foreign.value.message == missing.value.message == "No such repository."
        assert await find_owned(session, AzureRepository, repository_id, alice) is None
        assert (
            await find_owned(session, AzureRepository, "x" * 1000, bob) is None
        )  # never sent to the database


async def test_lists_hold_only_the_callers_rows(db):
    alice, bob, _ = await two_accounts(db)
    async with db() as session:

        async def organizations(account_id: str) -> list[str]:
            query = where_owned(select(AzureConnection), AzureConnection, account_id)
            return [c.organization for c in (await session.exec(query)).all()]

        assert await organizations(bob) == ["bobs-org"]
        assert await organizations(alice) == []


async def test_a_core_read_refuses_another_accounts_id_through_the_helper(db):
    alice, bob, repository_id = await two_accounts(db)
    async with db() as session:
        assert (await sarif.repository_sarif(session, bob, repository_id))["version"] == "2.1.0"
        with pytest.raises(NotFound, match=r"No such repository\."):
            await sarif.repository_sarif(session, alice, repository_id)
