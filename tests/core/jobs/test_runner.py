"""The durable in-process job runner on the real database."""

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import update
from sqlmodel import select

from core.db import session_scope
from core.db.columns import utcnow
from core.jobs import service
from core.jobs.models import Job
from core.jobs.registry import Registry
from core.jobs.runner import JobRunner, RetryLater

CALLS: list[dict] = []


def registry_for_tests() -> Registry:
    """Each test's own registry: nothing process-global is changed."""
    registry = Registry()
    for kind, function in {
        "test.record": record,
        "test.flaky": flaky,
        "test.broken": broken,
        "test.buggy": buggy,
    }.items():
        registry.add(kind, function)
    return registry


@dataclass
class FakeServices:  # the runner only needs `sessions` and `jobs`; handlers get the whole object
    sessions: object
    jobs: Registry = field(default_factory=registry_for_tests)


async def record(services, payload: dict) -> None:
    CALLS.append(payload)


async def flaky(services, payload: dict) -> None:
    CALLS.append(payload)
    if len(CALLS) < 3:
        raise RetryLater("not yet", retry_after=0)


async def broken(services, payload: dict) -> None:
    raise ConnectionError("connection reset")


async def buggy(services, payload: dict) -> None:
    raise ValueError("boom")


def setup_function():
    CALLS.clear()


async def jobs(db) -> list[Job]:
    async with db() as session:
        return list((await session.exec(select(Job))).all())


async def test_runs_each_job_once_and_dedupes(db):
    async with session_scope(db) as session:
        assert await service.enqueue(session, "test.record", {"n": 1}, dedupe_key="k1")
        assert await service.enqueue(session, "test.record", {"n": 1}, dedupe_key="k1") is None
        assert await service.enqueue(session, "test.record", {"n": 2})
    runner = JobRunner(FakeServices(db))
    await runner.run_until_idle()
    await runner.run_until_idle()
    assert sorted(c["n"] for c in CALLS) == [1, 2]
    assert {j.status for j in await jobs(db)} == {"done"}


async def test_transient_failures_are_retried(db):
    async with session_scope(db) as session:
        await service.enqueue(session, "test.flaky", {"n": 1})
    await JobRunner(FakeServices(db)).run_until_idle()
    [job] = await jobs(db)
    assert (job.status, job.attempts, len(CALLS)) == ("done", 3, 3)


async def test_gives_up_after_max_attempts_with_the_reason(db):
    async with session_scope(db) as session:
        await service.enqueue(session, "test.broken", {}, max_attempts=2)
    runner = JobRunner(FakeServices(db))
    for _ in range(3):
        await runner.run_until_idle()
        async with session_scope(db) as session:  # skip the backoff instead of waiting for it
            await session.exec(update(Job).values(run_after=utcnow()))
    [job] = await jobs(db)
    assert (job.status, job.attempts) == ("failed", 2)
    assert job.last_error == "ConnectionError: connection reset"


async def test_a_bug_is_not_retried(db):
    async with session_scope(db) as session:
        await service.enqueue(session, "test.buggy", {}, max_attempts=5)
    await JobRunner(FakeServices(db)).run_until_idle()
    [job] = await jobs(db)
    assert (job.status, job.attempts, job.last_error) == ("failed", 1, "ValueError: boom")


async def test_a_job_whose_runner_died_is_run_again_after_its_lease(db):
    async with session_scope(db) as session:
        await service.enqueue(session, "test.record", {"n": 7})
    async with db() as session:
        [claimed] = await service.claim(session, ("quick",))  # a runner takes it, then dies
    assert await JobRunner(FakeServices(db)).run_once() == 0  # leased: nobody else runs it
    async with session_scope(db) as session:
        await session.exec(update(Job).values(lease_until=utcnow() - timedelta(seconds=1)))
    await JobRunner(FakeServices(db)).run_until_idle()
    [job] = await jobs(db)
    assert CALLS == [{"n": 7}] and job.status == "done" and job.attempts == 2 and claimed.id == job.id


async def test_unknown_kind_is_recorded_not_lost(db):
    async with session_scope(db) as session:
        await service.enqueue(session, "test.nobody", {}, max_attempts=1)
    await JobRunner(FakeServices(db)).run_until_idle()
    [job] = await jobs(db)
    assert job.status == "failed" and "no handler" in job.last_error


async def test_a_long_job_never_delays_a_quick_one(db):
    release = asyncio.Event()

    async def long_scan(services, payload):
        await release.wait()
        CALLS.append({"long": True})

    services = FakeServices(db)
    services.jobs.add("test.long", long_scan)
    async with session_scope(db) as session:
        await service.enqueue(session, "test.long", {}, queue="long")
        await service.enqueue(session, "test.long", {}, queue="long")
    runner = JobRunner(services, limits={"quick": 2, "long": 1}, poll_seconds=0.01)
    runner.start()
    try:
        async with session_scope(db) as session:
            await service.enqueue(session, "test.record", {"n": "quick"})
        runner.wake()
        states: list[str] = []
        # Bounded wait for the quick job and for the long queue's claim: the two queues' loops run on their own,
        # so the quick job may well be done before the long one is claimed (a PostgreSQL run saw both queued).
        for _ in range(500):
            states = sorted(j.status for j in await jobs(db) if j.kind == "test.long")
            if CALLS and "running" in states:
                break
            await asyncio.sleep(0.01)
        assert CALLS == [{"n": "quick"}]  # done while the long job holds the long queue's only slot
        assert states == ["queued", "running"]  # the long queue's limit: one at a time
    finally:
        release.set()
        await runner.stop()
