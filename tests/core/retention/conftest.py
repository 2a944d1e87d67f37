from dataclasses import dataclass
from datetime import datetime

import pytest

from core.accounts.models import Account
from core.connections.models import AzureConnection
from core.db import session_scope
from core.db.columns import utcnow
from core.discovery.models import AzureProject, AzureRepository
from core.settings import Settings
from tests.core.retention.rows import insert


@dataclass
class Owned:
    """An account with one connection, one project and two repositories."""

    account_id: str
    connection_id: str
    project_id: str
    repositories: list[str]


async def new_account(db, name: str = "Acme") -> Owned:
    async with session_scope(db) as session:
        account = await insert(session, Account, name=name)
        connection = await insert(session, AzureConnection, account_id=account["id"], status="CONNECTED")
        project = await insert(session, AzureProject, connection_id=connection["id"])
        repositories = [
            (
                await insert(
                    session,
                    AzureRepository,
                    account_id=account["id"],
                    connection_id=connection["id"],
                    removed_at=None,
                )
            )["id"]
            for _ in range(2)
        ]
    return Owned(account["id"], connection["id"], project["id"], repositories)


@pytest.fixture
async def owned(db) -> Owned:
    return await new_account(db)


@pytest.fixture
def now() -> datetime:
    return utcnow()


@pytest.fixture
def retention_settings(database_url) -> Settings:
    # Two rows per statement: every rule runs several batches on these few rows.
    return Settings(database_url=database_url, retention_batch_size=2)
