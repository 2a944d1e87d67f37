"""What one enqueue costs and stores, counted with SQLAlchemy's cursor events on the real database: one
statement (the INSERT with ON CONFLICT; on PostgreSQL procrastinate's defer is part of it), a duplicate dedupe
key stores nothing and returns None, a refused payload runs no SQL, and the returned Job is the stored row."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import pytest
from sqlalchemy import event, text
from sqlmodel import select

from core.db import session_scope
from core.jobs import service
from core.jobs.models import Job
from core.jobs.registry import JobKind, PayloadError


@dataclass(frozen=True)
class Ping:
    target: str
    times: int = 1


PING = JobKind("test.ping", Ping, queue="long", max_attempts=3)


@contextlib.contextmanager
def counted(engine):
    statements: list[str] = []

    def note(_conn, _cursor, statement, *_args) -> None:
        statements.append(" ".join(statement.split()).upper())

    event.listen(engine.sync_engine, "before_cursor_execute", note)
    try:
        yield statements
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", note)


async def procrastinate_job_ids(engine, db) -> list[str]:
    if engine.dialect.name != "postgresql":
        return []
    async with db() as session:
        # This test's jobs only: procrastinate's table is not emptied between tests, ours is.
        rows = await session.exec(
            text(
                "SELECT args->>'job_id' FROM procrastinate_jobs "
                "WHERE args->>'job_id' IN (SELECT id FROM jobs) ORDER BY id"
            )
        )
        return [row[0] for row in rows.all()]


async def test_one_enqueue_is_one_statement_and_returns_the_stored_row(engine, db):
    async with session_scope(db) as session:
        with counted(engine) as statements:
            job = await service.enqueue(session, PING, Ping(target="a"), dedupe_key="ping:a", lock="L")
    assert len(statements) == 1, statements  # the commit is no statement; no SELECT, no second INSERT
    assert "INSERT INTO JOBS" in statements[0] and "ON CONFLICT" in statements[0]
    assert job is not None
    async with db() as session:
        stored = (await session.exec(select(Job))).one()
    assert (stored.id, stored.kind, stored.queue, stored.max_attempts, stored.lock) == (
        job.id,
        "test.ping",
        "long",
        3,
        "L",
    )
    assert stored.payload == {"target": "a", "times": 1}  # the dataclass's fields by name, as before
    assert (stored.status, stored.attempts, stored.last_error, stored.lease_until) == ("queued", 0, "", None)
    assert (job.status, job.attempts, job.payload, job.dedupe_key) == ("queued", 0, stored.payload, "ping:a")
    assert abs((stored.run_after - job.run_after).total_seconds()) < 1e-3
    # On PostgreSQL the same statement handed the job to procrastinate (distributed workers).
    assert await procrastinate_job_ids(engine, db) == (
        [job.id] if engine.dialect.name == "postgresql" else []
    )


async def test_a_second_enqueue_with_the_same_key_stores_nothing(engine, db):
    async with session_scope(db) as session:
        first = await service.enqueue(session, PING, Ping(target="a"), dedupe_key="ping:a")
    deferred = await procrastinate_job_ids(engine, db)
    async with session_scope(db) as session:
        with counted(engine) as statements:
            second = await service.enqueue(session, PING, Ping(target="b"), dedupe_key="ping:a")
    assert second is None and len(statements) == 1
    async with db() as session:
        stored = (await session.exec(select(Job))).all()
    assert [(j.id, j.payload["target"]) for j in stored] == [(first.id if first else "", "a")]
    assert await procrastinate_job_ids(engine, db) == deferred  # the duplicate deferred nothing either


async def test_a_refused_payload_runs_no_sql_and_stores_nothing(engine, db):
    async with session_scope(db) as session:
        with counted(engine) as statements:
            with pytest.raises(PayloadError, match=r"payload does not fit Ping \(target: Input should be"):
                await service.enqueue(session, PING, Ping(target=5))  # type: ignore[arg-type]
            with pytest.raises(PayloadError, match="must be a Ping, not dict"):
                await service.enqueue(session, PING, {"target": "a"})
    assert statements == []
    async with db() as session:
        assert (await session.exec(select(Job))).all() == []


async def test_the_returned_job_is_persistent_and_later_changes_are_updates(engine, db):
    async with session_scope(db) as session:
        job = await service.enqueue(session, PING, Ping(target="a"), delay_seconds=60)
        assert job is not None
        job.last_error = "changed in the same transaction"
    async with db() as session:
        stored = (await session.exec(select(Job))).one()
    assert stored.last_error == "changed in the same transaction"
    assert (stored.run_after - stored.created_at).total_seconds() == pytest.approx(60, abs=1)
