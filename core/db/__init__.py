"""Async database engine and sessions (SQLite embedded default, PostgreSQL in production)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from core.settings import normalize_database_url


def create_engine(database_url: str) -> AsyncEngine:
    url = normalize_database_url(database_url)
    if url.startswith("sqlite"):
        _ensure_sqlite_directory(url)
        engine = create_async_engine(url, connect_args={"timeout": 30})
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    engine = create_async_engine(url)
    event.listen(engine.sync_engine, "checkin", _note_checkin)
    event.listen(engine.sync_engine, "checkout", _ping_if_idle)
    return engine


# A connection back in the pool for less than this is not pinged when taken out again: under load (a burst
# of Slack commands, GraphQL pages) every checkout would otherwise cost a round trip to the server. A new
# connection is not pinged either (it was just opened). One idle longer may have been dropped by the server
# or a proxy, so it is pinged, and replaced when the ping fails (SQLAlchemy's DisconnectionError protocol).
PING_AFTER_IDLE_SECONDS = 30.0


def _note_checkin(_dbapi_connection, record) -> None:
    record.info["checked_in_at"] = time.monotonic()


def _ping_if_idle(dbapi_connection, record, _proxy) -> None:
    checked_in_at = record.info.get("checked_in_at")
    if checked_in_at is None or time.monotonic() - checked_in_at < PING_AFTER_IDLE_SECONDS:
        return
    try:
        dbapi_connection.ping()
    except Exception as error:  # the driver's own error, whatever it is: the connection is gone
        raise DisconnectionError("an idle pooled connection failed its ping") from error


def _ensure_sqlite_directory(url: str) -> None:
    path = url.split("///", 1)[1] if "///" in url else ""
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # Foreign keys are off by default in SQLite; WAL lets the API read while a job writes.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    # With WAL, NORMAL syncs at checkpoints, not at every commit: no corruption, and a commit costs no fsync.
    # (A power cut may lose the last transactions; PostgreSQL is the choice where that matters.)
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


@asynccontextmanager
async def session_scope(factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """One unit of work: commits on success, rolls back on any error."""
    async with factory() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise
