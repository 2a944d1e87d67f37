"""Enqueue, claim and finish jobs, on SQLite and PostgreSQL alike.

Claiming is optimistic: a conditional UPDATE that only one runner can win. A job whose runner died keeps its
lease until `lease_until` and is then claimed again, so a restart loses nothing; handlers are written to be
idempotent because of that. On PostgreSQL every enqueue (and every retry) also hands the job to procrastinate
in the same transaction, for the distributed workers (`core/jobs/distributed.py`).
"""

from __future__ import annotations

import functools
import random
from collections.abc import Callable
from datetime import timedelta
from typing import Any, cast

from pydantic_core import PydanticUndefined
from sqlalchemy import Executable, bindparam, or_, text, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import configure_mappers, make_transient_to_detached
from sqlalchemy.orm.attributes import instance_dict, manager_of_class
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.db.columns import utcnow
from core.jobs import distributed
from core.jobs.models import Job
from core.jobs.registry import JobKind, as_kind

LEASE = timedelta(minutes=5)


async def enqueue(
    session: AsyncSession,
    kind: JobKind[Any] | str,
    payload: object,
    *,
    dedupe_key: str | None = None,
    queue: str | None = None,
    delay_seconds: float = 0,
    max_attempts: int | None = None,
    lock: str | None = None,
) -> Job | None:
    """Add a job in the caller's transaction. None when a job with the same dedupe key exists already.

    `kind` is a JobKind: `payload` must be its payload type (checked here, PayloadError otherwise), and the
    kind's queue and max attempts apply unless given. A bare name takes a dict payload as it is.

    One statement on both databases: `INSERT ... ON CONFLICT (dedupe_key) DO NOTHING RETURNING id`, so a
    duplicate costs no SELECT, no savepoint and no failed flush. On PostgreSQL the same statement also hands
    the inserted job to procrastinate (a data-modifying CTE: a duplicate defers nothing). The row's values are
    built as a dict (the model's defaults, no validating constructor) and the returned Job is attached to the
    session as if loaded (no further SQL; later changes to it are ordinary ORM updates)."""
    kind = as_kind(kind)
    now = utcnow()
    values: dict[str, Any] = {
        **_defaults(),
        "kind": kind.name,
        "payload": kind.dump(payload),
        "dedupe_key": dedupe_key,
        "queue": kind.queue if queue is None else queue,
        "max_attempts": kind.max_attempts if max_attempts is None else max_attempts,
        "run_after": now + timedelta(seconds=delay_seconds) if delay_seconds else now,
        "lock": lock,
        "created_at": now,
    }
    dialect = session.bind.dialect.name if session.bind is not None else ""
    statement = _insert_statement(dialect, dedupe_key is not None)
    if dialect == "postgresql":
        values[DEFER_AT] = values["run_after"] if delay_seconds else None
        values[DEFER_TASK] = distributed.TASK
    connection = await session.connection()
    if (await connection.execute(statement, values)).first() is None:
        return None  # another enqueue (maybe concurrent) holds the dedupe key
    return _attached(session, values)


JOBS = Job.__table__
JOB_COLUMNS = tuple(column.key for column in JOBS.columns)
DEFER_AT, DEFER_TASK = "procrastinate_at", "procrastinate_task"
SET_BY_ENQUEUE = frozenset(
    ("kind", "payload", "dedupe_key", "queue", "max_attempts", "run_after", "lock", "created_at")
)


@functools.cache
def _default_values() -> tuple[dict[str, Any], dict[str, Callable[[], Any]]]:
    # The model's field defaults, read once: constants, and factories called per job (an id, a dict).
    constants: dict[str, Any] = {}
    factories: dict[str, Callable[[], Any]] = {}
    for name in JOB_COLUMNS:
        if name in SET_BY_ENQUEUE:
            continue
        info = Job.model_fields[name]
        if info.default_factory is not None:
            factories[name] = cast("Callable[[], Any]", info.default_factory)
        elif info.default is not PydanticUndefined:
            constants[name] = info.default
    return constants, factories


def _defaults() -> dict[str, Any]:
    constants, factories = _default_values()
    return {**constants, **{name: factory() for name, factory in factories.items()}}


@functools.cache
def _mappers_configured() -> None:
    configure_mappers()  # what a model's constructor does first; building an instance without one does not


def _attached(session: AsyncSession, values: dict[str, Any]) -> Job:
    """The stored row as a persistent Job, the way SQLAlchemy builds one it loads (no constructor)."""
    _mappers_configured()
    job = manager_of_class(Job).new_instance()
    instance_dict(job).update({name: values[name] for name in JOB_COLUMNS})
    make_transient_to_detached(job)
    session.add(job)
    return job


@functools.cache
def _insert_statement(dialect: str, deduplicated: bool) -> Executable:
    # Built once per dialect, values bound at execution: on the table, not the entity (the ORM's
    # bulk-values path and a new statement per call cost more CPU than the INSERT itself).
    if dialect == "postgresql":
        # Inside a CTE the INSERT's parameters are named explicitly (an INSERT alone takes them by column).
        statement = postgresql_insert(JOBS).values(
            {c.key: bindparam(c.key, type_=c.type) for c in JOBS.columns}
        )
        if deduplicated:
            statement = statement.on_conflict_do_nothing(index_elements=["dedupe_key"])
        inserted = statement.returning(JOBS.c.id, JOBS.c.queue, JOBS.c.lock).cte("inserted_job")
        # procrastinate's own defer function (as `distributed.defer` calls it), on the row just inserted.
        defer = text(
            distributed.defer_call(
                queue="inserted_job.queue",
                task="CAST(:procrastinate_task AS varchar)",
                lock="inserted_job.lock",
                args="jsonb_build_object('job_id', inserted_job.id)",
                at="CAST(:procrastinate_at AS timestamptz)",
            )
        )
        return select(inserted.c.id, defer).select_from(inserted)
    statement = sqlite_insert(JOBS)
    if deduplicated:
        statement = statement.on_conflict_do_nothing(index_elements=["dedupe_key"])
    return statement.returning(JOBS.c.id)


async def claim(session: AsyncSession, queues: tuple[str, ...], limit: int = 10) -> list[Job]:
    """Take due jobs (and jobs whose lease expired) for this runner."""
    now = utcnow()
    due = or_(
        (col(Job.status) == "queued") & (col(Job.run_after) <= now),
        (col(Job.status) == "running") & (col(Job.lease_until) < now),
    )
    candidates = (
        await session.exec(
            select(col(Job.id))
            .where(col(Job.queue).in_(queues), due)
            .order_by(col(Job.run_after))
            .limit(limit)
        )
    ).all()
    claimed: list[str] = []
    for job_id in candidates:
        result = await session.exec(
            update(Job)
            .where(col(Job.id) == job_id, due)
            .values(status="running", lease_until=now + LEASE, attempts=Job.attempts + 1)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:
            claimed.append(job_id)
    await session.commit()
    if not claimed:
        return []
    return list((await session.exec(select(Job).where(col(Job.id).in_(claimed)))).all())


async def claim_by_id(session: AsyncSession, job_id: str) -> Job | None:
    """For a distributed worker handed this job: take it unless it is finished. A `running` job is taken
    too: procrastinate hands a job to one worker at a time, so its previous runner is gone."""
    now = utcnow()
    result = await session.exec(
        update(Job)
        .where(col(Job.id) == job_id, col(Job.status).in_(("queued", "running")))
        .values(status="running", lease_until=now + LEASE, attempts=Job.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    await session.commit()
    if result.rowcount != 1:
        return None  # done or failed already: a duplicate delivery does nothing
    return await session.get(Job, job_id)


async def finish(session: AsyncSession, job_id: str) -> None:
    await session.exec(
        update(Job).where(col(Job.id) == job_id).values(status="done", finished_at=utcnow(), lease_until=None)
    )


async def fail(
    session: AsyncSession, job: Job, error: str, *, retry: bool, retry_after: float | None = None
) -> None:
    """Retry with exponential backoff and jitter, or give up after max_attempts."""
    if retry and job.attempts < job.max_attempts:
        delay = (
            retry_after
            if retry_after is not None
            else min(600.0, 2.0**job.attempts) * (0.5 + random.random())
        )
        run_after = utcnow() + timedelta(seconds=delay)
        values: dict[str, object] = {"status": "queued", "run_after": run_after, "lease_until": None}
    else:
        run_after = None
        values = {"status": "failed", "finished_at": utcnow(), "lease_until": None}
    await session.exec(update(Job).where(col(Job.id) == job.id).values(last_error=error[:500], **values))
    if run_after is not None and distributed.uses_procrastinate(session):
        await distributed.defer(session, job, at=run_after)  # the retry, when it is due
