"""The periodic prune: once an hour, one job (deduplicated by its hour, so any number of ticking processes
or workers enqueue it once) applies every retention rule; and the `panoptica prune` entry point."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from core.db import session_scope
from core.db.columns import utcnow
from core.jobs import service as jobs
from core.retention.payloads import PRUNE, Prune
from core.retention.service import PruneReport, prune

if TYPE_CHECKING:
    from core.services import Services


log = logging.getLogger(__name__)
JOB = PRUNE.name


async def tick(services: Services, now: datetime) -> bool:
    """Enqueue this hour's prune (once). True when this call enqueued it."""
    if not services.settings.retention_enabled:
        return False
    async with session_scope(services.sessions) as session:
        job = await jobs.enqueue(
            session,
            PRUNE,
            Prune(hour=now.strftime("%Y-%m-%dT%H")),
            dedupe_key=f"{JOB}:{now:%Y-%m-%dT%H}",
            lock=JOB,
        )
    if job is not None:
        services.wake_jobs()
    return job is not None


async def prune_job(services: Services, payload: Prune) -> None:
    report = await prune(services.sessions, services.settings, utcnow())
    log.info(
        "retention: %d rows pruned (%s), longest statement %.3f s",
        report.rows,
        ", ".join(f"{r.table} {r.rows}" for r in report.results if r.rows) or "nothing",
        report.longest_statement_seconds,
    )


async def prune_now(sessions, settings, dry_run: bool) -> PruneReport:
    return await prune(sessions, settings, utcnow(), dry_run=dry_run)


def render(report: PruneReport) -> str:
    """One line per rule: table, rows (that would go, in a dry run), and the rule."""
    verb = "would go" if report.dry_run else "pruned"
    width = max(len(r.table) for r in report.results)
    lines = [f"{r.table:<{width}}  {r.rows:>10}  {r.rule}" for r in report.results]
    lines.append(f"{'total':<{width}}  {report.rows:>10}  rows {verb}")
    return "\n".join(lines)
