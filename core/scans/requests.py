"""On-demand scans (GraphQL `scanRepository` / `scanConnection`, Slack `/panoptica scan`).

Idempotent while the work is queued or running: asking again answers the same run (or connection scan) and
spends nothing; once it finished, a new request scans again. New work spends one unit of the account's
on-demand budget (`core/ondemand/budget.py`); a refusal (RateLimited) changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlmodel import col, select

from core.accounts.service import Principal
from core.audit.service import record
from core.connections.models import AzureConnection, ConnectionStatus
from core.db import session_scope
from core.db.columns import new_id
from core.discovery.models import AzureRepository
from core.jobs import service as jobs
from core.jobs.models import Job
from core.ondemand import budget
from core.ownership import owned
from core.pagination import InvalidInput
from core.scans.models import ScanRun
from core.scans.payloads import SCAN_CONNECTION, ScanConnection
from core.scans.service import (
    ACTIVE_JOB,
    ConnectionScanProgress,
    active_scans,
    connection_scan_progress,
    queue_scan,
)

if TYPE_CHECKING:
    from core.services import Services


@dataclass
class ScanRequest:
    """What a request got: new work, or the work already queued or running (`already_queued`)."""

    already_queued: bool
    run: ScanRun | None = None  # a repository scan's run
    job_id: str | None = None  # a connection scan's job (verification, discovery, then the fan-out)
    connection_scan: ConnectionScanProgress | None = None  # that job's progress


async def request_repository_scan(
    services: Services, principal: Principal, repository_id: str
) -> ScanRequest:
    """Queue a scan now. NotFound for an unknown repository; InvalidInput when it cannot be scanned;
    budget.RateLimited when the account's on-demand budget is spent."""
    async with session_scope(services.sessions) as session:
        spending = await budget.hold(session, principal.account_id)
        repository = await owned(session, AzureRepository, repository_id, principal.account_id, "repository")
        if repository.removed_at is not None or repository.excluded_reason is not None:
            reason = (repository.excluded_reason or "removed").lower().replace("_", " ")
            raise InvalidInput(f"This repository cannot be scanned: it is {reason}.")
        active = await active_scans(session, [repository_id])
        if repository_id in active:  # pressing the button twice scans once
            return ScanRequest(already_queued=True, run=await session.get(ScanRun, active[repository_id]))
        await spending.spend(session, services.settings)
        run = await queue_scan(session, repository, "MANUAL")
        record(
            session,
            principal.account_id,
            principal.user_email,
            "scan.requested",
            repository.name,
            repository_id=repository.id,
        )
    services.wake_jobs()
    return ScanRequest(already_queued=False, run=run)


async def active_connection_scan(session, connection_id: str) -> Job | None:
    """The connection's scan job (daily or on demand) that is queued or running, if any."""
    query = select(Job).where(
        Job.queue == "long",
        col(Job.status).in_(ACTIVE_JOB),
        Job.kind == "scans.connection",
        Job.lock == f"connection:{connection_id}",
    )
    return (await session.exec(query)).first()


async def request_connection_scan(
    services: Services, principal: Principal, connection_id: str
) -> ScanRequest:
    """Re-verify, rediscover and scan now (a job). NotFound, InvalidInput or budget.RateLimited."""
    async with session_scope(services.sessions) as session:
        spending = await budget.hold(session, principal.account_id)
        connection = await owned(session, AzureConnection, connection_id, principal.account_id, "connection")
        if connection.status not in (ConnectionStatus.CONNECTED, ConnectionStatus.DEGRADED):
            raise InvalidInput("Connect the organization before scanning it.")
        active = await active_connection_scan(session, connection_id)
        if active is not None:  # 100 aliased scanConnection mutations verify and scan once
            progress = await connection_scan_progress(session, active)
            return ScanRequest(already_queued=True, job_id=active.id, connection_scan=progress)
        await spending.spend(session, services.settings)
        job = await jobs.enqueue(
            session,
            SCAN_CONNECTION,
            # A slot of its own, so that a request after this scan finished scans again; while it is queued
            # or running, requests answer it (above). Its fan-out skips repositories already being scanned.
            ScanConnection(connection_id=connection_id, slot=f"manual:{new_id()}"),
            lock=f"connection:{connection_id}",
        )
        assert job is not None  # no dedupe key: an enqueue always stores its job
        record(
            session,
            principal.account_id,
            principal.user_email,
            "scan.requested",
            connection.organization,
            connection_id=connection_id,
        )
        progress = await connection_scan_progress(session, job)
    services.wake_jobs()
    return ScanRequest(already_queued=False, job_id=job.id, connection_scan=progress)
