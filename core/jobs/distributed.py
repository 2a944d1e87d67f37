"""The queue primitive of distributed workers on PostgreSQL: our durable jobs, handed to procrastinate.

The `jobs` table stays the record of every job on both databases (enqueued in the caller's transaction,
deduplicated by key, counted by `/metrics`). On PostgreSQL each enqueue also defers a procrastinate job in the
same transaction (its SQL function, so a rollback takes both back), carrying only our job id. `panoptica
worker` processes run procrastinate workers: LISTEN/NOTIFY wake-ups, `lock` so one repository is never
scanned twice at once, a periodic tick deduplicated across workers, and recovery of the jobs of a worker that
died (no heartbeat). The task runs the same handler functions as the in-process runner of the SQLite default.
The worker itself (its procrastinate app) is built in `core/jobs/worker.py`.
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from core.jobs.models import Job

TASK = "panoptica.job"


def defer_call(*, queue: str, task: str, lock: str, args: str, at: str) -> str:
    """procrastinate's defer function on one job, from SQL expressions (the fields of its row type, in order:
    queue, task, priority, lock, queueing lock, args, scheduled at)."""
    return (
        f"procrastinate_defer_jobs_v1(ARRAY[ROW({queue}, {task}, 0, {lock}, NULL, {args}, {at})"
        "::procrastinate_job_to_defer_v1])"
    )


DEFER = text(
    "SELECT " + defer_call(queue=":queue", task=":task", lock=":lock", args="CAST(:args AS jsonb)", at=":at")
)


def uses_procrastinate(session: AsyncSession) -> bool:
    return session.bind is not None and session.bind.dialect.name == "postgresql"


async def defer(session: AsyncSession, job: Job, at: datetime | None = None) -> None:
    """In the caller's transaction: procrastinate runs `job` (at `at`, or as soon as a worker is free)."""
    params = {
        "queue": job.queue,
        "task": TASK,
        "lock": job.lock,
        "args": json.dumps({"job_id": job.id}),
        "at": at,
    }
    # sqlmodel types exec for ORM statements only; a text() runs through it as through session.execute.
    await session.exec(DEFER, params=params)  # pyright: ignore[reportCallIssue, reportArgumentType]


def conninfo(database_url: str) -> str:
    """psycopg wants a libpq URL: our SQLAlchemy URL without its driver."""
    scheme, rest = database_url.split("://", 1)
    return f"postgresql://{rest}" if scheme.startswith("postgresql") else database_url
