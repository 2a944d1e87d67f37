"""The engine's pool: on SQLite a connection given back to the pool is rolled back only when it is still in a
transaction (a Session that committed costs no second rollback), and one left open at the driver level is
never handed out again open."""

from __future__ import annotations

import tempfile

from sqlalchemy import text

from core.db import create_engine


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
            cursor = dbapi.cursor()
            cursor.execute("INSERT INTO t VALUES (1)")
            cursor.close()
            return dbapi.driver_connection.in_transaction

        assert await connection.run_sync(insert_behind_sqlalchemys_back)
        await connection.close()  # SQLAlchemy saw no transaction: the pool's reset rolls it back
        async with engine.connect() as again:
            in_transaction = await again.run_sync(
                lambda c: c.connection.dbapi_connection.driver_connection.in_transaction
            )
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
            driver = await connection.run_sync(lambda c: c.connection.dbapi_connection.driver_connection)
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
