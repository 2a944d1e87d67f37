"""The hourly prune is one job per hour however many processes tick, runs on the job runner, and is safe
while workers run jobs: what they are running or just finished stays."""

import asyncio
from datetime import timedelta

from sqlalchemy import select, text

from api.wiring import build_registry
from core.db import session_scope
from core.jobs import service as jobs
from core.jobs.models import Job
from core.jobs.periodic import tick_all
from core.jobs.runner import JobRunner
from core.retention.service import prune
from core.services import Services
from tests.core.retention.rows import insert

SLOW = "tests.retention.slow"


async def slow_job(services, payload: dict) -> None:
    await asyncio.sleep(0.02)


def services_for(engine, db, settings) -> Services:
    """Every job the ticks enqueue has its handler (the registry `serve` builds), and this test's slow job."""
    registry = build_registry()
    registry.add(SLOW, slow_job)
    return Services(settings=settings, engine=engine, sessions=db, tokens=None, azure=None, jobs=registry)


async def old_finished_jobs(db, now, count: int) -> set[str]:
    async with session_scope(db) as session:
        return {
            (
                await insert(
                    session,
                    Job,
                    kind="k",
                    status="done",
                    finished_at=now - timedelta(days=8),
                    dedupe_key=None,
                    lock=None,
                )
            )["id"]
            for _ in range(count)
        }


async def jobs_by_kind(db) -> dict[str, list[Job]]:
    async with db() as session:
        rows = (await session.exec(select(Job))).scalars().all()
    found: dict[str, list[Job]] = {}
    for row in rows:
        found.setdefault(row.kind, []).append(row)
    return found


async def test_ticks_enqueue_one_prune_per_hour_and_the_runner_applies_it(
    engine, db, now, retention_settings
):
    services = services_for(engine, db, retention_settings)
    old = await old_finished_jobs(db, now, 5)
    await tick_all(services)
    await tick_all(services)  # a second process ticking in the same hour adds nothing
    prunes = (await jobs_by_kind(db)).get("retention.prune", [])
    assert len(prunes) == 1

    await JobRunner(services).run_until_idle()

    remaining = await jobs_by_kind(db)
    assert not old & {j.id for j in remaining.get("k", [])}
    assert [j.status for j in remaining["retention.prune"]] == ["done"]


async def test_disabled_retention_enqueues_nothing(engine, db, retention_settings):
    settings = retention_settings.model_copy(update={"retention_enabled": False})
    await tick_all(services_for(engine, db, settings))
    assert "retention.prune" not in await jobs_by_kind(db)


async def test_prune_is_safe_while_workers_run(engine, db, now, retention_settings):
    services = services_for(engine, db, retention_settings)
    old = await old_finished_jobs(db, now, 12)
    async with session_scope(db) as session:
        for _ in range(16):
            await jobs.enqueue(session, SLOW, {})
    runner = JobRunner(services, poll_seconds=0.01)
    runner.start()
    try:
        reports = [await prune(db, retention_settings, now) for _ in range(3)]
        for _ in range(500):
            if all(j.status == "done" for j in (await jobs_by_kind(db)).get(SLOW, [])):
                break
            await asyncio.sleep(0.02)
    finally:
        await runner.stop()
    remaining = await jobs_by_kind(db)
    assert [j.status for j in remaining[SLOW]] == ["done"] * 16  # run, finished and kept
    assert not old & {j.id for j in remaining.get("k", [])}
    pruned_jobs = [next(r.rows for r in report.results if r.table == "jobs") for report in reports]
    assert sum(pruned_jobs) == 12  # the old ones, whichever prune took them; never a job that just ran
    assert (await prune(db, retention_settings, now)).rows == 0


async def test_procrastinate_rows_of_finished_jobs_go_and_of_queued_jobs_stay(
    engine, db, now, retention_settings
):
    """With PANOPTICA_JOB_RUNNER=inprocess on PostgreSQL, every enqueue also writes a procrastinate row that
    no worker ever takes: the prune removes it once our job is finished. SQLite has no such table."""
    services = services_for(engine, db, retention_settings)
    async with session_scope(db) as session:
        finished = await jobs.enqueue(session, SLOW, {})
    await JobRunner(services).run_until_idle()
    async with session_scope(db) as session:
        queued = await jobs.enqueue(session, SLOW, {}, delay_seconds=3600)
    report = await prune(db, retention_settings, now)
    result = next(r for r in report.results if r.table == "procrastinate_jobs")
    if engine.dialect.name != "postgresql":
        assert result.rows == 0
        return
    async with db() as session:
        rows = (
            await session.exec(text("SELECT args->>'job_id', status::text FROM procrastinate_jobs"))
        ).all()
    assert [job_id for job_id, _ in rows] == [queued.id]
    assert result.rows == 1 and finished.id not in {job_id for job_id, _ in rows}
