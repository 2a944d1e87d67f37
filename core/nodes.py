"""Which kind of object an id names, within one account (GraphQL's `node(id:)`).

Every primary key is a random UUID (`core.db.columns.new_id`), unique across tables: the ids the API has always
answered are already global, so clients keep the ids they stored. One statement finds the kind; another
account's id, or an unknown one, finds nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import literal, union_all
from sqlmodel import col, select

from core.connections import queries as connection_queries
from core.connections.models import AzureConnection
from core.discovery.models import AzureRepository
from core.findings.models import Finding
from core.jobs.models import Job
from core.ownership import find_owned, owned_by
from core.posture.models import PostureRun
from core.scans.models import ScanRun

CONNECTION_SCAN_JOB = "scans.connection"


@dataclass
class Found:
    kind: str
    row: object  # the row; a ConnectionView for a connection, a ConnectionScanProgress for a connection scan


async def kind_of(session, account_id: str, node_id: str) -> str | None:
    """ "Repository", "Finding", "ScanRun", "AzureConnection", "ConnectionScan", "PostureRun" or None."""
    if not node_id or len(node_id) > 36:
        return None
    owned = [
        ("Repository", AzureRepository),
        ("Finding", Finding),
        ("ScanRun", ScanRun),
        ("AzureConnection", AzureConnection),
        ("PostureRun", PostureRun),
    ]
    parts = [
        select(literal(kind).label("kind")).where(model.id == node_id, owned_by(model, account_id))
        for kind, model in owned
    ]
    # A connection scan is a job; its connection (named by the job's lock) says whose it is.
    parts.append(
        select(literal("ConnectionScan").label("kind"))
        .select_from(Job)
        .join(AzureConnection, col(Job.lock) == "connection:" + col(AzureConnection.id))
        .where(Job.id == node_id, Job.kind == CONNECTION_SCAN_JOB, owned_by(AzureConnection, account_id))
    )
    return (await session.exec(union_all(*parts))).scalars().first()


async def rows_by_id(session, model, account_id: str, ids: list[str]) -> dict:
    """The account's rows of one table by id, in one statement (unknown or other accounts' ids are absent)."""
    unique = list(dict.fromkeys(ids))
    if not unique:
        return {}
    rows = await session.exec(select(model).where(col(model.id).in_(unique), owned_by(model, account_id)))
    return {row.id: row for row in rows.all()}


async def connection_scan(session, account_id: str, job_id: str) -> Job | None:
    """A connection scan's job, if it is the account's."""
    job = await session.get(Job, job_id)
    if job is None or job.kind != CONNECTION_SCAN_JOB:
        return None
    connection = await find_owned(session, AzureConnection, job.payload.get("connection_id", ""), account_id)
    return job if connection is not None else None


MODELS = {"Repository": AzureRepository, "Finding": Finding, "ScanRun": ScanRun, "PostureRun": PostureRun}


async def load(session, account_id: str, node_id: str) -> Found | None:
    """The object an id names, if it is the account's: two statements (its kind, then it)."""
    from core.scans.service import connection_scan_progress

    kind = await kind_of(session, account_id, node_id)
    if kind is None:
        return None
    if kind == "AzureConnection":
        views = await connection_queries.list_connections(session, account_id, node_id)
        return Found(kind, views[0]) if views else None
    if kind == "ConnectionScan":
        job = await session.get(Job, node_id)
        return Found(kind, await connection_scan_progress(session, job))
    return Found(kind, await session.get(MODELS[kind], node_id))
