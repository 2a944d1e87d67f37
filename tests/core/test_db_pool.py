"""The engine on SQLite: COMMIT, ROLLBACK and the pool's reset reach the database only when a transaction is open
(sqlite3's own commit and rollback do nothing otherwise, but each call is an aiosqlite thread hand-off); a
connection given back to the pool is rolled back only when it is still in a
transaction (a Session that committed costs no second rollback), and one left open at the driver level is
never handed out again open."""

from __future__ import annotations

import tempfile

from sqlalchemy import text

from core.db import create_engine


def driver_of(sync_connection):
    """aiosqlite's connection under a SQLAlchemy Connection (in run_sync)."""
    dbapi = sync_connection.connection.dbapi_connection
    assert dbapi is not None
    return dbapi.driver_connection


def sqlite_engine():
    return create_engine(f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/pool.db")


async def test_a_transaction_left_open_at_the_driver_level_is_rolled_back_on_return():
    engine = sqlite_engine()
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE t (x INTEGER)"))
        connection = await engine.connect()

        def insert_behind_sqlalchemys_back(sync_connection) -> bool:
            dbapi = sync_connection.connection.dbapi_connection
            assert dbapi is not None
            cursor = dbapi.cursor()
            cursor.execute("INSERT INTO t VALUES (1)")
            cursor.close()
            return driver_of(sync_connection).in_transaction

        assert await connection.run_sync(insert_behind_sqlalchemys_back)
        await connection.close()  # SQLAlchemy saw no transaction: the pool's reset rolls it back
        async with engine.connect() as again:
            in_transaction = await again.run_sync(lambda c: driver_of(c).in_transaction)
            assert not in_transaction
            assert (await again.execute(text("SELECT count(*) FROM t"))).scalar() == 0
        async with engine.begin() as writer:  # and the write lock was released with it
            await writer.execute(text("INSERT INTO t VALUES (2)"))
        async with engine.connect() as reader:
            assert (await reader.execute(text("SELECT x FROM t"))).scalars().all() == [2]
    finally:
        await engine.dispose()


async def test_a_committed_unit_of_work_is_given_back_without_another_rollback():
    engine = sqlite_engine()
    rollbacks: list[str] = []
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE t (x INTEGER)"))
        async with engine.connect() as connection:
            driver = await connection.run_sync(driver_of)
        original = driver.rollback

        async def counted_rollback() -> None:
            rollbacks.append("rollback")
            await original()

        driver.rollback = counted_rollback  # aiosqlite's, on the pooled connection (handed out again next)
        async with engine.begin() as connection:
            await connection.execute(text("INSERT INTO t VALUES (1)"))
        assert rollbacks == []  # committed, then given back: nothing left to roll back
        async with engine.connect() as connection:
            await connection.execute(text("INSERT INTO t VALUES (2)"))
        assert rollbacks == ["rollback"]  # not committed: rolled back once (by the Connection, not twice)
        async with engine.connect() as connection:
            assert (await connection.execute(text("SELECT x FROM t"))).scalars().all() == [1]
    finally:
        await engine.dispose()


async def test_a_read_only_unit_of_work_sends_sqlite_no_commit_or_rollback():
    engine = sqlite_engine()
    ended: list[str] = []
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE t (x INTEGER)"))
            await connection.execute(text("INSERT INTO t VALUES (1)"))
        async with engine.connect() as connection:
            driver = await connection.run_sync(driver_of)
        commit, rollback = driver.commit, driver.rollback

        async def counted_commit() -> None:
            ended.append("commit")
            await commit()

        async def counted_rollback() -> None:
            ended.append("rollback")
            await rollback()

        driver.commit, driver.rollback = counted_commit, counted_rollback
        async with engine.connect() as connection:  # closed without commit: SQLAlchemy rolls back
            assert (await connection.execute(text("SELECT x FROM t"))).scalars().all() == [1]
        async with engine.begin() as connection:  # committed
            assert (await connection.execute(text("SELECT x FROM t"))).scalars().all() == [1]
        assert ended == []  # sqlite3 opened no transaction for a read: nothing to end, no hand-off
        async with engine.begin() as connection:
            await connection.execute(text("INSERT INTO t VALUES (2)"))
        assert ended == ["commit"]
    finally:
        await engine.dispose()


async def test_a_file_database_reuses_its_connections_on_every_sqlalchemy_admitted():
    # SQLAlchemy 2.0.30 (our floor) would otherwise open and close a connection, with its thread, per session.
    engine = create_engine(f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/pool.db")
    try:
        async with engine.connect() as connection:
            first = await connection.run_sync(driver_of)
        async with engine.connect() as connection:
            assert await connection.run_sync(driver_of) is first
    finally:
        await engine.dispose()


async def test_an_in_memory_database_stays_one_database_across_sessions():
    # A queue pool would give each new connection another, empty, in-memory database.
    engine = create_engine("sqlite+aiosqlite://")
    try:
        async with engine.connect() as writer:
            await writer.execute(text("CREATE TABLE t (x INTEGER)"))
            await writer.execute(text("INSERT INTO t VALUES (1)"))
            await writer.commit()
            async with engine.connect() as reader:  # while the writer's is still checked out
                assert (await reader.execute(text("SELECT x FROM t"))).scalars().all() == [1]
    finally:
        await engine.dispose()
