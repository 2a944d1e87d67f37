"""The in-process job runner of the embedded default: polls the jobs table and runs handlers by kind.

Handlers are plain async functions `handler(services, payload)`, found by kind in the process's job registry
(`services.jobs`, built by the composition root; `core/jobs/registry.py`). The distributed workers run the same
functions.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING

from core.jobs import service
from core.jobs.models import Job
from core.jobs.registry import PayloadError, Registry
from core.observability.logs import correlated
from core.observability.metrics import JOB_DURATION

if TYPE_CHECKING:
    from core.services import Services


log = logging.getLogger(__name__)


def scan_limits(services: Services) -> dict[str, int]:
    settings = getattr(services, "settings", None)
    return {
        "quick": DEFAULT_LIMITS["quick"],
        "long": getattr(settings, "scan_concurrency", DEFAULT_LIMITS["long"]),
    }


class RetryLater(Exception):
    """Raised by a handler for a transient failure: the job runs again after `retry_after` seconds."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


DEFAULT_LIMITS = {"quick": 8, "long": 2}


class JobRunner:
    """One loop per queue, each with its own concurrency: a backlog of long scans never delays a quick job
    (a Slack follow-up, a connection check)."""

    def __init__(
        self,
        services: Services,
        limits: dict[str, int] | None = None,
        poll_seconds: float = 0.5,
        registry: Registry | None = None,
    ) -> None:
        self.services = services
        self.registry = registry or registry_of(services)
        self.limits = limits or scan_limits(services)
        self.queues = tuple(self.limits)
        self.poll_seconds = poll_seconds
        self._loops: list[asyncio.Task[None]] = []
        self._running: dict[str, set[asyncio.Task[None]]] = {queue: set() for queue in self.limits}
        self._wake = {queue: asyncio.Event() for queue in self.limits}

    def start(self) -> None:
        self._loops = [
            asyncio.create_task(self._loop(queue), name=f"panoptica-jobs-{queue}") for queue in self.queues
        ]

    async def stop(self) -> None:
        tasks = [*self._loops, *(t for running in self._running.values() for t in running)]
        for task in tasks:
            task.cancel()
        pending = {t for t in tasks if not t.done()}
        while pending:  # a task that swallowed its cancellation (a library's doing) is cancelled again
            _, pending = await asyncio.wait(pending, timeout=1)
            for task in pending:
                task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._loops = []

    def wake(self) -> None:
        """Called after an enqueue, so a Slack follow-up does not wait for the next poll."""
        for event in self._wake.values():
            event.set()

    async def _loop(self, queue: str) -> None:
        while True:
            free = self.limits[queue] - len(self._running[queue])
            started = 0
            if free > 0:
                try:
                    started = await self._start_jobs(queue, free)
                except Exception:  # the loop must survive a database hiccup
                    log.exception("job runner iteration failed")
            if not started:
                self._wake[queue].clear()
                # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancellation that
                # arrives as the wait ends, and the loop (and `stop`, which awaits it) then never ends.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.poll_seconds):
                        await self._wake[queue].wait()

    async def _start_jobs(self, queue: str, free: int) -> int:
        async with self.services.sessions() as session:
            jobs = await service.claim(session, (queue,), limit=free)
        for job in jobs:
            task = asyncio.create_task(self._run(job), name=f"job-{job.kind}")
            self._running[queue].add(task)
            task.add_done_callback(
                lambda done, q=queue: (self._running[q].discard(done), self._wake[q].set())
            )
        return len(jobs)

    async def run_once(self) -> int:
        """For tests and scripts: claim due jobs of every queue and run them to the end."""
        ran = 0
        for queue in self.queues:
            async with self.services.sessions() as session:
                jobs = await service.claim(session, (queue,), limit=self.limits[queue])
            await asyncio.gather(*(self._run(job) for job in jobs))
            ran += len(jobs)
        return ran

    async def run_until_idle(self, max_rounds: int = 100) -> None:
        """For tests and scripts: run due jobs until none is left (jobs delayed into the future stay)."""
        for _ in range(max_rounds):
            if not await self.run_once():
                return

    async def _run(self, job: Job) -> None:
        await run_claimed(self.services, job, self.registry)


def registry_of(services: Services) -> Registry:
    registry = getattr(services, "jobs", None)
    if registry is None:
        raise ValueError(
            "no job registry on these services: open them with jobs=build_registry() (api/wiring.py)"
        )
    return registry


async def run_job_by_id(services: Services, job_id: str) -> None:
    """What a distributed worker does with a job procrastinate handed it."""
    async with services.sessions() as session:
        job = await service.claim_by_id(session, job_id)
    if job is not None:
        await run_claimed(services, job, registry_of(services))


async def run_claimed(services: Services, job: Job, registry: Registry) -> str:
    """Run a claimed job's handler and record the outcome: the same code for every runner."""
    began = time.perf_counter()
    with correlated(job.id):
        outcome = await execute(services, job, registry)
    JOB_DURATION.labels(job.kind, outcome).observe(time.perf_counter() - began)
    return outcome


async def execute(services: Services, job: Job, registry: Registry) -> str:
    registered = registry.get(job.kind)
    try:
        if registered is None:
            raise LookupError(f"no handler for job kind {job.kind}")
        await registered.handler(services, registered.kind.load(job.payload))
    except RetryLater as error:
        await record_failure(services, job, str(error), retry_after=error.retry_after)
        return "retry"
    except PayloadError as error:  # a stored payload that no attempt will make fit
        log.error("job %s (%s) failed: %s", job.id, job.kind, error)
        await record_failure(services, job, str(error), retry=False)
        return "failed"
    except Exception as error:
        transient = registry.is_transient(error)
        log.exception("job %s (%s) failed%s", job.id, job.kind, ", will retry" if transient else "")
        await record_failure(services, job, f"{type(error).__name__}: {error}", retry=transient)
        return "retry" if transient else "failed"
    async with services.sessions() as session:
        await service.finish(session, job.id)
        await session.commit()
    return "done"


async def record_failure(
    services: Services, job: Job, error: str, retry_after: float | None = None, retry: bool = True
) -> None:
    async with services.sessions() as session:
        await service.fail(session, job, error, retry=retry, retry_after=retry_after)
        await session.commit()
