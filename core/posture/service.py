"""Reading posture for the console (GraphQL `postureChecks`) and evaluating it on demand."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, and_, or_
from sqlmodel import col, func, select

from core.accounts.service import Principal
from core.audit.service import record
from core.connections.models import AzureConnection, ConnectionStatus
from core.db import session_scope
from core.discovery.models import AzureProject
from core.findings.service import at_least
from core.jobs.models import Job
from core.ondemand import budget
from core.ownership import owned, where_owned
from core.pagination import InvalidInput, decode_cursor, encode_cursor, page_size
from core.posture.control import REGISTRY, Control, Status, all_controls
from core.posture.evaluate import JOB as POSTURE_JOB
from core.posture.evaluate import queue_posture
from core.posture.models import PostureResult, PostureRun
from core.severity import rank

if TYPE_CHECKING:
    from core.services import Services


RESOURCE_TYPES = (
    "project",
    "repository",
    "definition",
    "endpoint",
    "variablegroup",
    "securefile",
    "queue",
    "environment",
)


@dataclass
class PostureFilter:
    statuses: list[str] = field(default_factory=list)
    min_severity: str | None = None
    control_ids: list[str] = field(default_factory=list)
    project_id: str | None = None
    repository_id: str | None = None
    resource_type: str | None = None

    def validate(self) -> None:
        unknown = set(self.statuses) - set(Status)
        if unknown:
            raise InvalidInput(f"status must be one of {', '.join(Status)}")
        if self.min_severity:
            at_least(self.min_severity)
        all_controls()
        missing = sorted(set(self.control_ids) - set(REGISTRY))
        if missing:
            raise InvalidInput(f"unknown control id(s): {', '.join(missing)}")
        if self.resource_type and self.resource_type not in RESOURCE_TYPES:
            raise InvalidInput(f"resourceType must be one of {', '.join(RESOURCE_TYPES)}")


@dataclass
class ResourceResults:
    """The results of one project (its own and its pipelines' and resources') or one repository."""

    id: str
    name: str
    project_name: str
    results: list[PostureResult]


@dataclass
class PostureReport:
    connection: AzureConnection
    latest_run: PostureRun | None
    counts: dict[str, int]  # by status, for the whole filter
    failed_by_severity: dict[str, int]
    projects: list[ResourceResults]
    repositories: list[ResourceResults]
    end_cursor: str | None
    has_next_page: bool


def conditions(connection_id: str, flt: PostureFilter) -> list[ColumnElement[bool]]:
    where = [col(PostureResult.connection_id) == connection_id]
    if flt.statuses:
        where.append(col(PostureResult.status).in_(flt.statuses))
    controls = set(flt.control_ids) or set(REGISTRY)
    if flt.min_severity:
        wanted = set(at_least(flt.min_severity))
        controls = {c for c in controls if REGISTRY[c].severity in wanted}
    if flt.control_ids or flt.min_severity:
        where.append(col(PostureResult.control_id).in_(sorted(controls)))
    if flt.project_id:
        where.append(col(PostureResult.project_id) == flt.project_id)
    if flt.repository_id:
        where.append(col(PostureResult.repository_id) == flt.repository_id)
    if flt.resource_type:
        where.append(col(PostureResult.resource_type) == flt.resource_type)
    return where


async def posture_report(
    session, account_id: str, connection_id: str, flt: PostureFilter, first: int | None, after: str | None
) -> PostureReport:
    """NotFound for another account's or an unknown connection. Repositories are paged by name."""
    flt.validate()
    connection = await owned(session, AzureConnection, connection_id, account_id, "connection")
    where = conditions(connection_id, flt)
    latest = await latest_run(session, connection_id)
    counts, failed = Counter(), Counter()
    for status, control_id, n in await counts_by_control(session, where):
        counts[status] += n
        if status == Status.FAIL:
            failed[REGISTRY[control_id].severity] += n
    projects = await project_results(session, where)
    repositories, end_cursor, has_next = await repository_results(session, where, first, after)
    return PostureReport(
        connection, latest, dict(counts), dict(failed), projects, repositories, end_cursor, has_next
    )


async def latest_run(session, connection_id: str) -> PostureRun | None:
    query = select(PostureRun).where(PostureRun.connection_id == connection_id)
    return (await session.exec(query.order_by(col(PostureRun.created_at).desc()))).first()


async def counts_by_control(session, where: list) -> list[tuple[str, str, int]]:
    """(status, control id, results) of the results matching `where`."""
    query = select(PostureResult.status, PostureResult.control_id, func.count()).where(*where)
    return list((await session.exec(query.group_by(PostureResult.status, PostureResult.control_id))).all())


async def project_results(session, where: list) -> list[ResourceResults]:
    rows = (
        await session.exec(
            select(PostureResult, AzureProject.name)
            .join(AzureProject, col(AzureProject.id) == col(PostureResult.project_id))
            .where(*where, col(PostureResult.repository_id).is_(None))
            .order_by(AzureProject.name, PostureResult.control_id, PostureResult.resource_name)
        )
    ).all()
    grouped: dict[str, ResourceResults] = {}
    for row, name in rows:
        grouped.setdefault(row.project_id, ResourceResults(row.project_id, name, name, [])).results.append(
            row
        )
    return list(grouped.values())


async def repository_results(session, where: list, first: int | None, after: str | None):
    size = page_size(first)
    keys = select(PostureResult.resource_name, PostureResult.repository_id).where(
        *where, col(PostureResult.repository_id).is_not(None)
    )
    if after:
        name, rid = decode_cursor(after, 2)
        keys = keys.where(
            or_(
                col(PostureResult.resource_name) > name,
                and_(col(PostureResult.resource_name) == name, col(PostureResult.repository_id) > rid),
            )
        )
    keys = (
        keys.distinct()
        .order_by(PostureResult.resource_name, col(PostureResult.repository_id))
        .limit(size + 1)
    )
    page = (await session.exec(keys)).all()
    has_next = len(page) > size
    page = page[:size]
    if not page:
        return [], None, False
    ids = [rid for _, rid in page]
    rows = (
        await session.exec(
            select(PostureResult, AzureProject.name)
            .join(AzureProject, col(AzureProject.id) == col(PostureResult.project_id))
            .where(*where, col(PostureResult.repository_id).in_(ids))
            .order_by(PostureResult.control_id)
        )
    ).all()
    grouped: dict[str, list] = defaultdict(list)
    project_names = {}
    for row, project_name in rows:
        grouped[row.repository_id].append(row)
        project_names[row.repository_id] = project_name
    repositories = [
        ResourceResults(rid, name, project_names.get(rid, ""), grouped[rid]) for name, rid in page
    ]
    last_name, last_id = page[-1]
    return repositories, encode_cursor(last_name, last_id), has_next


def control_catalog() -> list[Control]:
    return all_controls()


@dataclass
class PostureRequest:
    run: PostureRun
    already_queued: bool  # an evaluation was queued or running: this answers it, nothing more is queued


async def request_posture_evaluation(
    services: Services, principal: Principal, connection_id: str
) -> PostureRequest:
    """Evaluate now. NotFound for an unknown connection; InvalidInput when it is not connected;
    budget.RateLimited when the account's on-demand budget is spent (nothing is queued)."""
    async with session_scope(services.sessions) as session:
        spending = await budget.hold(session, principal.account_id)
        connection = await owned(session, AzureConnection, connection_id, principal.account_id, "connection")
        if connection.status not in (ConnectionStatus.CONNECTED, ConnectionStatus.DEGRADED):
            raise InvalidInput("Connect the organization before evaluating its posture.")
        active = await active_evaluation(session, connection_id)
        if active is not None:
            return PostureRequest(active, already_queued=True)  # pressing the button twice evaluates once
        await spending.spend(session, services.settings)
        run = await queue_posture(session, connection, "MANUAL")
        assert run is not None  # its dedupe key is the new run's own id: never queued already
        record(
            session, principal.account_id, principal.user_email, "posture.requested", connection.organization
        )
    services.wake_jobs()
    return PostureRequest(run, already_queued=False)


async def active_evaluation(session, connection_id: str) -> PostureRun | None:
    """The connection's evaluation (daily or on demand) whose job is queued or running. The job decides, not
    the run row: a run whose job failed for good may still say RUNNING and must not block the next one."""
    query = select(Job.payload).where(
        Job.queue == "long",  # with the status: the claimable index, which holds few active rows
        col(Job.status).in_(("queued", "running")),
        Job.kind == POSTURE_JOB,
        Job.lock == f"posture:{connection_id}",
    )
    payload = (await session.exec(query)).first()
    return await session.get(PostureRun, payload["run_id"]) if payload else None


@dataclass
class ConnectionPosture:
    """What `/panoptica posture` shows for one organization."""

    organization: str
    latest_run: PostureRun | None
    counts: dict[str, int]
    worst: list[tuple[str, str, int]]  # (control id, title, failing resources), most severe first


async def posture_overview(session, account_id: str, organization: str | None) -> list[ConnectionPosture]:
    """Per connection of the account (or the one organization): counts and the most severe failing controls."""
    query = where_owned(select(AzureConnection), AzureConnection, account_id)
    connections = [
        c
        for c in (await session.exec(query.order_by(AzureConnection.organization))).all()
        if organization in (None, c.organization.lower())
    ]
    all_controls()  # the registry the counts are read against
    overview = []
    for connection in connections:
        counts, failing = Counter(), []
        for status, control_id, n in await counts_by_control(
            session, conditions(connection.id, PostureFilter())
        ):
            counts[status] += n
            if status == Status.FAIL:
                failing.append((control_id, REGISTRY[control_id].title, n))
        worst = sorted(failing, key=lambda w: (rank(REGISTRY[w[0]].severity), -w[2], w[0]))
        latest = await latest_run(session, connection.id)
        overview.append(ConnectionPosture(connection.organization, latest, dict(counts), worst))
    return overview
