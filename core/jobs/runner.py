"""The in-process job runner of the embedded default: polls the jobs table and runs handlers by kind.

Handlers are plain async functions `handler(services, payload)` registered with `@handler("kind")`. The
scale-out work runs the same functions from distributed workers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from core.jobs import service
from core.jobs.models import Job

log = logging.getLogger(__name__)
Handler = Callable[[object, dict], Awaitable[None]]
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


class JobRunner:
    def __init__(
        self, services, queues: tuple[str, ...] = ("quick", "long"), poll_seconds: float = 0.5
    ) -> None:
        self.services = services
        self.queues = queues
        self.poll_seconds = poll_seconds
        self._task: asyncio.Task | None = None
        self._wake = asyncio.Event()

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="panoptica-job-runner")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def wake(self) -> None:
        """Called after an enqueue, so a Slack follow-up does not wait for the next poll."""
        self._wake.set()

    async def _loop(self) -> None:
        while True:
            try:
                ran = await self.run_once()
            except Exception:  # the loop must survive a database hiccup
                log.exception("job runner iteration failed")
                ran = 0
            if not ran:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.poll_seconds)

    async def run_once(self) -> int:
        async with self.services.sessions() as session:
            jobs = await service.claim(session, self.queues)
        await asyncio.gather(*(self._run(job) for job in jobs))
        return len(jobs)

    async def run_until_idle(self, max_rounds: int = 100) -> None:
        """For tests and scripts: run due jobs until none is left (jobs delayed into the future stay)."""
        for _ in range(max_rounds):
            if not await self.run_once():
                return

    async def _run(self, job: Job) -> None:
        function = HANDLERS.get(job.kind)
        try:
            if function is None:
                raise LookupError(f"no handler for job kind {job.kind}")
            await function(self.services, job.payload)
        except RetryLater as error:
            await self._record(job, str(error), retry=True, retry_after=error.retry_after)
        except Exception as error:
            log.exception("job %s (%s) failed", job.id, job.kind)
            await self._record(job, f"{type(error).__name__}: {error}", retry=True)
        else:
            async with self.services.sessions() as session:
                await service.finish(session, job.id)
                await session.commit()

    async def _record(self, job: Job, error: str, *, retry: bool, retry_after: float | None = None) -> None:
        async with self.services.sessions() as session:
            await service.fail(session, job, error, retry=retry, retry_after=retry_after)
            await session.commit()
