"""The daily scans: a tick enqueues, once per scheduled slot, one job per connection that re-verifies the
connection, rediscovers, then queues its posture evaluation and a scan of each selected repository.

Slots come from PANOPTICA_SCAN_SCHEDULE (cron, UTC), shifted per connection by a stable jitter (within an
hour) so that many organizations do not all start at once. Jobs are keyed by slot: any number of ticks, or
processes, enqueue each slot once; a slot missed while the service was down runs at the next tick.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from croniter import croniter
from sqlalchemy import update
from sqlmodel import col, select

from core.accounts.service import Principal
from core.connections import flows
from core.connections.models import AzureConnection, ConnectionStatus
from core.connections.service import ConnectError
from core.db import session_scope
from core.db.columns import utcnow
from core.discovery.models import AzureRepository
from core.jobs import service as jobs
from core.posture.evaluate import queue_posture
from core.scans import unchanged
from core.scans.payloads import SCAN_CONNECTION, ScanConnection
from core.scans.service import connection_batch, queue_scans, scan_versions

if TYPE_CHECKING:
    from core.services import Services


JITTER_SECONDS = 3600
SCHEDULED = (ConnectionStatus.CONNECTED, ConnectionStatus.DEGRADED)


def jitter(connection_id: str) -> timedelta:
    digest = hashlib.sha256(connection_id.encode()).digest()
    return timedelta(seconds=int.from_bytes(digest[:4], "big") % JITTER_SECONDS)


def latest_slot(schedule: str, connection_id: str, now: datetime) -> datetime:
    """The most recent scheduled time (with this connection's jitter) at or before `now`."""
    shift = jitter(connection_id)
    base = croniter(schedule, now - shift).get_prev(datetime)
    return base + shift


async def tick(services: Services, now: datetime) -> int:
    """Enqueue the connections whose latest slot has no job yet. Returns how many were enqueued."""
    async with session_scope(services.sessions) as session:
        connections = (
            await session.exec(select(AzureConnection).where(col(AzureConnection.status).in_(SCHEDULED)))
        ).all()
        enqueued = 0
        for connection in connections:
            slot = latest_slot(services.settings.scan_schedule, connection.id, now)
            job = await jobs.enqueue(
                session,
                SCAN_CONNECTION,
                ScanConnection(connection_id=connection.id, slot=slot.isoformat()),
                dedupe_key=f"daily:{connection.id}:{slot.isoformat()}",
                lock=f"connection:{connection.id}",  # never verified twice at once
            )
            enqueued += job is not None
    if enqueued:
        services.wake_jobs()
    return enqueued


async def scan_connection_job(services: Services, payload: ScanConnection) -> None:
    slot = payload.slot
    trigger = "MANUAL" if slot.startswith("manual") else "SCHEDULE"
    await scan_connection(services, payload.connection_id, slot, trigger=trigger)


async def scan_connection(services: Services, connection_id: str, slot: str, trigger: str) -> int:
    """Re-verify (access revoked or downgraded: DEGRADED, nothing stored is lost), rediscover, then queue."""
    async with services.sessions() as session:
        connection = await session.get(AzureConnection, connection_id)
    if connection is None:
        return 0
    system = Principal(account_id=connection.account_id, user_email="system", token_id="")
    try:
        result = await flows.connect(services, system, connection_id, action="verify")
    except ConnectError:
        return 0  # not proven for this account (PROOF_REQUIRED) or not consented: never scanned
    if result is None or not result.diagnosis.ok:
        return 0
    now = utcnow()
    org = services.azure.organization(connection.organization, connection.tenant_id)
    versions = scan_versions(services.settings)
    listed = await selected_repositories(services, connection_id)
    tips = await unchanged.list_branches(org, listed)
    plan = await unchanged.plan_unchanged(services, listed, tips, versions, now)
    async with session_scope(services.sessions) as session:
        repositories = await selected_repositories(services, connection_id, session)
        heads = unchanged.record_heads(repositories, tips, now)
        if heads:
            await session.exec(update(AzureRepository), params=heads)
        if services.settings.posture_enabled:
            connection = await session.get(AzureConnection, connection_id)
            assert connection is not None  # its repositories were just read in this transaction
            await queue_posture(session, connection, trigger, dedupe=f"posture:{connection_id}:{slot}")
        batch = connection_batch(connection_id, slot)
        reused = await unchanged.write_unchanged(
            session, plan, repositories, trigger=trigger, batch=batch, now=now
        )
        queued = await queue_scans(session, [r for r in repositories if r.id not in reused], trigger, slot)
    services.wake_jobs()
    return queued + len(reused)


async def selected_repositories(
    services: Services, connection_id: str, session=None
) -> list[AzureRepository]:
    """The connection's repositories that are scanned: present, not excluded, selected."""
    query = select(AzureRepository).where(
        AzureRepository.connection_id == connection_id,
        col(AzureRepository.removed_at).is_(None),
        col(AzureRepository.excluded_reason).is_(None),
        AzureRepository.selected == True,  # noqa: E712 - SQL comparison
    )
    if session is not None:
        return list((await session.exec(query)).all())
    async with services.sessions() as reader:
        return list((await reader.exec(query)).all())
