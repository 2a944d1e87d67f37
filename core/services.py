"""The long-lived services a process shares: settings, the database, Entra tokens and the Azure client."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from core.azure.client import AzureDevOps
from core.azure.tokens import TokenProvider
from core.db import create_engine, session_factory
from core.jobs.registry import Registry
from core.settings import Settings


@dataclass
class Services:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    tokens: TokenProvider
    azure: AzureDevOps
    # Set by the process that runs jobs: called after an enqueue so the job starts without waiting for a poll.
    wake_jobs: Callable[[], None] = lambda: None
    # Every job kind's handler, the ticks, the transient errors: built by the composition root (api/wiring.py).
    jobs: Registry | None = None


@contextlib.asynccontextmanager
async def open_services(settings: Settings, jobs: Registry | None = None) -> AsyncGenerator[Services, None]:
    engine = create_engine(settings.database_url)
    tokens = TokenProvider(settings)
    try:
        async with AzureDevOps(settings, tokens) as azure:
            yield Services(settings, engine, session_factory(engine), tokens, azure, jobs=jobs)
    finally:
        tokens.close()
        await engine.dispose()
