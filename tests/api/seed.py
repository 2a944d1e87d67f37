"""Rows for API tests, written straight through `core` models (discovery proper is tested elsewhere)."""

from core.connections.models import AzureConnection, ConnectionStatus
from core.db import session_scope
from core.discovery.models import AzureRepository


async def seed_repositories(db, account_id: str, count: int, organization: str = "contoso") -> str:
    async with session_scope(db) as session:
        connection = AzureConnection(
            account_id=account_id,
            organization=organization,
            tenant_id="t",
            created_by="seed@test",
            status=ConnectionStatus.CONNECTED,
        )
        session.add(connection)
        await session.flush()
        session.add_all(
            AzureRepository(
                account_id=account_id,
                connection_id=connection.id,
                ado_id=f"ado-{i}",
                organization=organization,
                project_ado_id=f"p{i % 2}",
                project_name=f"proj-{i % 2}",
                name=f"repo-{i:03d}",
                default_branch=None if i == 0 else "refs/heads/main",
                is_empty=i == 0,
                excluded_reason="EMPTY" if i == 0 else None,
            )
            for i in range(count)
        )
    return connection.id
