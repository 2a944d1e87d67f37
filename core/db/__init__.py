"""Async database engine and sessions (SQLite embedded default, PostgreSQL in production)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.pool import AsyncAdaptedQueuePool
from sqlmodel.ext.asyncio.session import AsyncSession

from core.db.errors import sqlite_path
from core.settings import normalize_database_url


def create_engine(database_url: str) -> AsyncEngine:
    url = normalize_database_url(database_url)
    if url.startswith("sqlite"):
        _ensure_sqlite_directory(url)
        engine = create_async_engine(
            url, connect_args={"timeout": 30}, pool_reset_on_return=None, **_sqlite_pool(url)
        )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "reset", _rollback_if_in_transaction)
        _end_only_open_transactions(engine.dialect)
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


def _in_transaction(dbapi_connection) -> bool:
    driver = getattr(dbapi_connection, "driver_connection", dbapi_connection)
    return bool(getattr(driver, "in_transaction", True))


def _end_only_open_transactions(dialect) -> None:
    """COMMIT and ROLLBACK reach SQLite only when a transaction is open.

    sqlite3's own commit() and rollback() do nothing when none is (it opens one at the first write, never for
    a read), but through aiosqlite each call is still a hand-off to the connection's thread: a read-only
    Session's close, or a session_scope that read and commits, paid one for nothing. Same outcome, no hop."""
    commit, rollback = dialect.do_commit, dialect.do_rollback

    def do_commit(dbapi_connection) -> None:
        if _in_transaction(dbapi_connection):
            commit(dbapi_connection)

    def do_rollback(dbapi_connection) -> None:
        if _in_transaction(dbapi_connection):
            rollback(dbapi_connection)

    # On this engine's own dialect instance (each engine has its own), not on the class.
    setattr(dialect, "do_commit", do_commit)  # noqa: B010
    setattr(dialect, "do_rollback", do_rollback)  # noqa: B010


def _rollback_if_in_transaction(dbapi_connection, _record, reset_state) -> None:
    """SQLite's reset on return: a rollback only when the connection is still in a transaction.

    SQLAlchemy's default rolls back every connection given back to the pool, also one whose Session has just
    committed or rolled back (the Session ends its transaction, then the pool resets again): with aiosqlite
    that is one more hand-off to the connection's thread per unit of work (a sixth of a Slack command's
    acknowledgement). SQLite itself says whether a transaction is open (`in_transaction`, read without a
    hand-off), so nothing that was left open goes back to the pool open. A connection given back outside
    the event loop (garbage collected) is not touched here, as SQLAlchemy's own reset does not touch it."""
    if reset_state.terminate_only or not reset_state.asyncio_safe:
        return
    if _in_transaction(dbapi_connection):
        dbapi_connection.rollback()


def _sqlite_pool(url: str) -> dict:
    """A file database gets a pool of connections on every SQLAlchemy we admit.

    Older 2.0 releases, our floor 2.0.30 among them, chose NullPool for aiosqlite files (2.1 chooses this
    queue pool): there every session opened a new connection, with its own aiosqlite thread and PRAGMAs, and
    threw it away, and the reset rules above never came into play. In memory the dialect's own choice stays
    (each new connection would be another, empty database)."""
    path = sqlite_path(url)  # `sqlite+aiosqlite://` alone is in memory too
    if not path or path.startswith(":memory:") or "mode=memory" in url:
        return {}
    return {"poolclass": AsyncAdaptedQueuePool}


def _ensure_sqlite_directory(url: str) -> None:
    path = sqlite_path(url)
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
