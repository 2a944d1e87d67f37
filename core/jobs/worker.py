"""`panoptica worker`'s procrastinate app, built from a job registry: one task that runs our jobs by id, and the
periodic ticks (the registry's schedules, the recovery of a dead worker's jobs, the prune of procrastinate's rows).

The queue primitive (`defer`, in `core/jobs/distributed.py`) is what every enqueue uses; this module is only for
the worker process, so no domain module imports it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any

from procrastinate import App, PsycopgConnector

from core.jobs import periodic
from core.jobs.distributed import TASK, conninfo
from core.jobs.runner import run_job_by_id

if TYPE_CHECKING:
    from core.services import Services


log = logging.getLogger(__name__)
QUICK_CONCURRENCY = 8


def build_app(services: Services) -> App:
    """The procrastinate app of a worker process: one task that runs our jobs, and the periodic ones."""
    settings = services.settings
    app = App(connector=PsycopgConnector(conninfo=conninfo(settings.database_url), min_size=1, max_size=4))

    @app.task(name=TASK, pass_context=False)
    async def run(job_id: str) -> None:
        await run_job_by_id(services, job_id)

    every = f"* * * * * */{settings.periodic_seconds}"

    @app.periodic(cron=every, periodic_id="tick")
    @app.task(name="panoptica.tick", queue="quick")
    async def tick(timestamp: int) -> None:
        # Only one worker gets each timestamp (procrastinate's periodic defers are unique).
        await periodic.tick_all(services)

    @app.periodic(cron=every, periodic_id="recover")
    @app.task(name="panoptica.recover_stalled", queue="quick")
    async def recover(timestamp: int) -> None:
        await recover_stalled(app, settings.worker_stalled_seconds)

    @app.periodic(cron="17 * * * *", periodic_id="prune")
    @app.task(name="panoptica.prune", queue="quick")
    async def prune(timestamp: int) -> None:
        # procrastinate's rows of finished jobs, after a day (ours stay in `jobs`).
        await app.job_manager.delete_old_jobs(nb_hours=24, include_failed=True)

    return app


async def recover_stalled(app: App, seconds: float) -> int:
    """Jobs left `doing` by a worker without a heartbeat for `seconds` (killed, machine lost) run again."""
    stalled = list(await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=seconds))
    for job in stalled:
        log.warning("job %s of a dead worker is retried", job.id)
        await app.job_manager.retry_job(job)
    await app.job_manager.prune_stalled_workers(seconds_since_heartbeat=seconds)
    return len(stalled)


async def run_worker(services: Services, queues: list[str], concurrency: int) -> None:
    """One procrastinate worker per queue, each with its own concurrency: long scans never hold quick jobs."""
    app = build_app(services)
    settings = services.settings
    options: dict[str, Any] = {
        "wait": True,
        "install_signal_handlers": False,
        "update_heartbeat_interval": max(1.0, settings.worker_stalled_seconds / 3),
        "stalled_worker_timeout": settings.worker_stalled_seconds,
    }
    sizes = {"quick": QUICK_CONCURRENCY, "long": concurrency}
    async with app.open_async():
        workers = [
            asyncio.create_task(
                app.run_worker_async(
                    queues=[q], concurrency=sizes.get(q, concurrency), name=f"panoptica-{q}", **options
                )
            )
            for q in queues
        ]
        try:
            await asyncio.gather(*workers)
        finally:
            for task in workers:
                task.cancel()
            for task in workers:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
