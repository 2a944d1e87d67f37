"""Shared fixtures: the emulator over real HTTPS on loopback, settings pointing at it, and a real database.

The database is SQLite in a temporary file, or the PostgreSQL named by PANOPTICA_TEST_DATABASE_URL
(`make test` sets it for its second pass when PANOPTICA_TEST_POSTGRES_URL is set).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from sqlalchemy import MetaData

from api.wiring import build_registry
from core.db import create_engine, session_factory
from core.db.migrate import upgrade_engine
from core.db.models import SQLModel
from core.services import open_services
from core.settings import Settings
from core.slack.stores import BOLT_METADATA
from sandbox.scenario import World
from sandbox.server import Sandbox
from tests.worlds import CLIENT_ID, CLIENT_SECRET, base_world


@pytest.fixture(scope="session")
def sandbox():
    with Sandbox(base_world()) as running:
        yield running


@pytest.fixture
def world(sandbox) -> World:
    """A fresh copy of the base world for each test; tests change it freely."""
    sandbox.holder.replace(base_world())
    sandbox.context.requests.clear()
    sandbox.context.slack_calls.clear()
    return sandbox.world


@pytest.fixture
def settings(sandbox, world, database_url) -> Settings:
    return Settings(
        database_url=database_url,
        entra_client_id=CLIENT_ID,
        entra_client_secret=CLIENT_SECRET,
        entra_authority_host=sandbox.authority_host,
        azure_devops_url=sandbox.devops_url,
        osv_url=sandbox.osv_url,
        ca_bundle=sandbox.ca_path,
        azure_retry_budget_seconds=5,
        consent_retry_delay_seconds=0.05,
        consent_retry_budget_seconds=2,
    )


@pytest.fixture
def services_settings() -> dict:
    """What a module's `services` change in `settings` (override this fixture in the module): {} by default."""
    return {}


@pytest.fixture
async def services(settings, db, tmp_path, services_settings):
    """A process's services over the emulator and the test database, with every job's handler (the same
    registry `serve` and `worker` build), so `JobRunner(services)` runs any job core enqueues."""
    settings = settings.model_copy(update={"key_directory": str(tmp_path), **services_settings})
    async with open_services(settings, jobs=build_registry()) as opened:
        yield opened


# --- database ----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def database_url() -> str:
    url = os.environ.get("PANOPTICA_TEST_DATABASE_URL")
    if url:
        return url
    directory = Path(tempfile.mkdtemp(prefix="panoptica-test-db-"))
    return f"sqlite+aiosqlite:///{directory}/test.db"


async def reset_database(engine) -> None:
    """Drop everything (tables and Alembic's version table) so migrations start from nothing."""

    def _drop(connection) -> None:
        if connection.dialect.name == "postgresql":
            # procrastinate's schema has types, functions and triggers besides tables.
            connection.exec_driver_sql("DROP SCHEMA public CASCADE")
            connection.exec_driver_sql("CREATE SCHEMA public")
            return
        metadata = MetaData()
        metadata.reflect(connection)
        metadata.drop_all(connection)

    async with engine.begin() as connection:
        await connection.run_sync(_drop)


@pytest.fixture(scope="session")
async def engine(database_url):
    engine = create_engine(database_url)
    await reset_database(engine)
    await upgrade_engine(engine)
    yield engine
    await engine.dispose()


@pytest.fixture
async def db(engine):
    """A session factory over a database emptied before each test."""
    async with engine.begin() as connection:
        for table in [*reversed(SQLModel.metadata.sorted_tables), *BOLT_METADATA.sorted_tables]:
            await connection.execute(table.delete())
    return session_factory(engine)
