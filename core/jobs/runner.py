"""The in-process job runner of the embedded default: polls the jobs table and runs handlers by kind.

Handlers are plain async functions `handler(services, payload)` registered with `@handler("kind")`. The
scale-out work runs the same functions from distributed workers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

import httpx
from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from core.azure.errors import AzureError
from core.jobs import service
from core.jobs.models import Job
from core.observability.logs import correlated
from core.observability.metrics import JOB_DURATION

log = logging.getLogger(__name__)
Handler = Callable[[object, dict], Awaitable[None]]


def scan_limits(services) -> dict[str, int]:
    settings = getattr(services, "settings", None)
    return {
        "quick": DEFAULT_LIMITS["quick"],
        "long": getattr(settings, "scan_concurrency", DEFAULT_LIMITS["long"]),
    }


HANDLERS: dict[str, Handler] = {}


class RetryLater(Exception):
    """Raised by a handler for a transient failure: the job runs again after `retry_after` seconds."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


def handler(kind: str):
    def register(function: Handler) -> Handler:
        HANDLERS[kind] = function
        return function

    return register


DEFAULT_LIMITS = {"quick": 8, "long": 2}


class JobRunner:
    """One loop per queue, each with its own concurrency: a backlog of long scans never delays a quick job
    (a Slack follow-up, a connection check)."""

    def __init__(self, services, limits: dict[str, int] | None = None, poll_seconds: float = 0.5) -> None:
        self.services = services
        self.limits = limits or scan_limits(services)
        self.queues = tuple(self.limits)
        self.poll_seconds = poll_seconds
        self._loops: list[asyncio.Task] = []
        self._running: dict[str, set[asyncio.Task]] = {queue: set() for queue in self.limits}
        self._wake = {queue: asyncio.Event() for queue in self.limits}

    def start(self) -> None:
        self._loops = [
            asyncio.create_task(self._loop(queue), name=f"panoptica-jobs-{queue}") for queue in self.queues
        ]

    async def stop(self) -> None:
        tasks = [*self._loops, *(t for running in self._running.values() for t in running)]
        for task in tasks:
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
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake[queue].wait(), self.poll_seconds)

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
        await run_claimed(self.services, job)


async def run_job_by_id(services, job_id: str) -> None:
    """What a distributed worker does with a job procrastinate handed it."""
    async with services.sessions() as session:
        job = await service.claim_by_id(session, job_id)
    if job is not None:
        await run_claimed(services, job)


async def run_claimed(services, job: Job) -> str:
    """Run a claimed job's handler and record the outcome: the same code for every runner."""
    began = time.perf_counter()
    with correlated(job.id):
        outcome = await execute(services, job)
    JOB_DURATION.labels(job.kind, outcome).observe(time.perf_counter() - began)
    return outcome


async def execute(services, job: Job) -> str:
    function = HANDLERS.get(job.kind)
    try:
        if function is None:
            raise LookupError(f"no handler for job kind {job.kind}")
        await function(services, job.payload)
    except RetryLater as error:
        await record_failure(services, job, str(error), retry_after=error.retry_after)
        return "retry"
    except Exception as error:
        transient = is_transient(error)
        log.exception("job %s (%s) failed%s", job.id, job.kind, ", will retry" if transient else "")
        await record_failure(services, job, f"{type(error).__name__}: {error}", retry=transient)
        return "retry" if transient else "failed"
    async with services.sessions() as session:
        await service.finish(session, job.id)
        await session.commit()
    return "done"


async def record_failure(
    services, job: Job, error: str, retry_after: float | None = None, retry: bool = True
) -> None:
    async with services.sessions() as session:
        await service.fail(session, job, error, retry=retry, retry_after=retry_after)
        await session.commit()


# Failures that another attempt may not meet: the network, a database failover, a service's bad minute.
TRANSIENT = (ConnectionError, TimeoutError, httpx.TransportError, OperationalError, InterfaceError)


def is_transient(error: Exception) -> bool:
    """Retry only what may pass; a bug or a refusal fails the job at once, with its reason kept."""
    if isinstance(error, AzureError):
        return error.retryable
    if isinstance(error, SlackApiError):
        status = getattr(error.response, "status_code", 0) or 0
        return status >= 500 or status == 429
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, TRANSIENT)
