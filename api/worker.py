"""`panoptica worker`: runs background jobs on PostgreSQL with procrastinate, beside any number of `serve`s.

Stops on SIGTERM or SIGINT after the jobs at hand are interrupted; they run again elsewhere (every job is
idempotent), so a rolling restart or a lost machine loses nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal

from api.wiring import build_registry
from core.jobs.worker import run_worker
from core.services import open_services
from core.settings import SettingsError, load_settings


def worker_command(args) -> int:
    registry = build_registry()  # a job kind without a handler: refused before any worker starts
    settings = load_settings()
    if not settings.distributed_jobs:
        raise SettingsError(
            "`panoptica worker` needs a PostgreSQL PANOPTICA_DATABASE_URL (and PANOPTICA_JOB_RUNNER other than "
            "inprocess); with SQLite, `panoptica serve` runs the jobs itself"
        )
    queues = [q.strip() for q in args.queues.split(",") if q.strip()]
    unknown = set(queues) - {"quick", "long"}
    if unknown or not queues:
        raise SettingsError(
            f"--queues takes quick and/or long, not {', '.join(sorted(unknown)) or 'nothing'}"
        )
    concurrency = args.concurrency or settings.scan_concurrency
    asyncio.run(serve_jobs(settings, queues, concurrency, registry))
    return 0


async def serve_jobs(settings, queues: list[str], concurrency: int, registry) -> None:
    async with open_services(settings, jobs=registry) as services:
        work = asyncio.create_task(run_worker(services, queues, concurrency))
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, work.cancel)
        with contextlib.suppress(asyncio.CancelledError):
            await work
