"""On-demand scans (GraphQL `scanRepository` / `scanConnection`, Slack `/panoptica scan`)."""

from __future__ import annotations

from sqlmodel import select

from core.accounts.service import Principal
from core.audit.service import record
from core.connections.models import AzureConnection, ConnectionStatus
from core.db import session_scope
from core.db.columns import new_id
from core.discovery.models import AzureRepository
from core.jobs import service as jobs
from core.pagination import InvalidInput
from core.scans.models import ScanRun
from core.scans.service import queue_scan


async def request_repository_scan(services, principal: Principal, repository_id: str) -> ScanRun:
    """Queue a scan now. LookupError for an unknown repository; InvalidInput when it cannot be scanned."""
    async with session_scope(services.sessions) as session:
        repository = await session.get(AzureRepository, repository_id)
        if repository is None or repository.account_id != principal.account_id:
            raise LookupError("no such repository")
        if repository.removed_at is not None or repository.excluded_reason is not None:
            reason = (repository.excluded_reason or "removed").lower().replace("_", " ")
            raise InvalidInput(f"This repository cannot be scanned: it is {reason}.")
        active = (
            await session.exec(
                select(ScanRun).where(
                    ScanRun.repository_id == repository_id, ScanRun.status.in_(("QUEUED", "RUNNING"))
                )
            )
        ).first()
        if active is not None:
            return active  # already queued or running: pressing the button twice scans once
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
    return run


async def request_connection_scan(services, principal: Principal, connection_id: str) -> None:
    async with session_scope(services.sessions) as session:
        connection = await session.get(AzureConnection, connection_id)
        if connection is None or connection.account_id != principal.account_id:
            raise LookupError("no such connection")
        if connection.status not in (ConnectionStatus.CONNECTED, ConnectionStatus.DEGRADED):
            raise InvalidInput("Connect the organization before scanning it.")
        await jobs.enqueue(
            session,
            "scans.connection",
            # A slot of its own: each request scans again (a fixed "manual" slot deduplicated every later one).
            {"connection_id": connection_id, "slot": f"manual:{new_id()}"},
            queue="long",
            lock=f"connection:{connection_id}",
        )
        record(
            session,
            principal.account_id,
            principal.user_email,
            "scan.requested",
            connection.organization,
            connection_id=connection_id,
        )
    services.wake_jobs()
