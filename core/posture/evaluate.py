"""Evaluating a connection's posture: read each project once, run every control, keep the results.

One job per connection (`posture.connection`), queued with the daily scans and on demand. Projects are read a
few at a time (the Azure client already bounds requests per organization); all results of the connection
are replaced in one transaction, and FAIL results become findings (see `core/posture/findings.py`).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from sqlalchemy import delete, insert, update
from sqlmodel import col, select

from core.connections.models import AzureConnection
from core.db import session_scope
from core.db.columns import new_id, utcnow
from core.discovery.models import AzureProject, AzureRepository
from core.jobs import service as jobs
from core.posture.control import Status, all_controls
from core.posture.data import collect_project, parse_date
from core.posture.findings import record_posture_findings
from core.posture.models import PostureResult, PostureRun, PostureRunStatus
from core.posture.payloads import EVALUATE_POSTURE, EvaluatePosture

if TYPE_CHECKING:
    from core.services import Services


log = logging.getLogger(__name__)
PROJECTS_AT_ONCE = 4
JOB = EVALUATE_POSTURE.name


async def queue_posture(session, connection: AzureConnection, trigger: str, dedupe: str | None = None):
    """A QUEUED run and its job in the caller's transaction; None when that evaluation is queued already."""
    run = PostureRun(account_id=connection.account_id, connection_id=connection.id, trigger=trigger)
    job = await jobs.enqueue(
        session,
        EVALUATE_POSTURE,
        EvaluatePosture(run_id=run.id),
        dedupe_key=dedupe or f"posture:{run.id}",
        lock=f"posture:{connection.id}",
    )
    if job is None:
        return None
    session.add(run)
    return run


async def posture_job(services: Services, payload: EvaluatePosture) -> None:
    await evaluate_run(services, payload.run_id)


async def evaluate_run(services: Services, run_id: str) -> PostureRun | None:
    async with session_scope(services.sessions) as session:
        run = await session.get(PostureRun, run_id)
        if run is None or run.status in (PostureRunStatus.SUCCEEDED, PostureRunStatus.FAILED):
            return None  # a duplicate delivery of the job does nothing
        connection = await session.get(AzureConnection, run.connection_id)
        if connection is None:
            return None
        run.status, run.started_at = PostureRunStatus.RUNNING, utcnow()
        session.add(run)
        projects = (
            await session.exec(
                select(AzureProject).where(
                    AzureProject.connection_id == connection.id, col(AzureProject.removed_at).is_(None)
                )
            )
        ).all()
        repositories = (
            await session.exec(
                select(AzureRepository).where(
                    AzureRepository.connection_id == connection.id,
                    col(AzureRepository.removed_at).is_(None),
                    col(AzureRepository.excluded_reason).is_(None),
                    AzureRepository.selected == True,  # noqa: E712 - SQL comparison
                )
            )
        ).all()
    results, unreadable, heads = await evaluate_projects(
        services, connection, list(projects), list(repositories)
    )
    if unreadable is not None:
        return await fail(services, run_id, unreadable)
    return await store(services, run_id, connection, results, head_dates(list(repositories), heads))


async def fail(services: Services, run_id: str, error: str) -> PostureRun:
    """Nothing could be read (consent revoked, organization gone): keep the previous results and findings."""
    async with session_scope(services.sessions) as session:
        run = await session.get(PostureRun, run_id)
        assert run is not None  # the run's row outlives its job
        run.status, run.error, run.finished_at = PostureRunStatus.FAILED, error[:500], utcnow()
        session.add(run)
    log.warning("posture run %s failed: nothing could be read", run_id)
    return run


def nothing_read(data) -> bool:
    lists = (data.general_settings, data.policies, data.definitions, data.endpoints, data.environments)
    return not any(r.ok for r in lists)


async def evaluate_projects(services: Services, connection, projects, repositories):
    """(project, result) pairs; and, when not a single read succeeded in any project, why (else None)."""
    org = services.azure.organization(connection.organization, connection.tenant_id)
    controls = all_controls()
    by_project: dict[str, list] = {}
    for repository in repositories:
        by_project.setdefault(repository.project_ado_id, []).append(repository)
    gate = asyncio.Semaphore(PROJECTS_AT_ONCE)
    now = utcnow()

    async def one(project: AzureProject):
        async with gate:
            data = await collect_project(
                org,
                project,
                sorted(by_project.get(project.ado_id, []), key=lambda r: r.name),
                inactive_days=services.settings.inactive_repository_days,
                now=now,
            )
        return data, [(project, result) for c in controls for result in c.run(data)]

    evaluated = await asyncio.gather(*(one(p) for p in sorted(projects, key=lambda p: p.name)))
    heads = {rid: head for data, _ in evaluated for rid, head in data.head_dates.items()}
    if evaluated and all(nothing_read(data) for data, _ in evaluated):
        return [], evaluated[0][0].general_settings.error, heads
    return [pair for _, project_results in evaluated for pair in project_results], None, heads


def head_dates(repositories: list[AzureRepository], heads: dict[str, tuple[str, str]]) -> list[dict]:
    """Rows keeping the head dates just read, for the head the daily job listed (or, never listed yet, the
    head read): the next evaluation reads no commit while that head does not move (core/scans/unchanged.py)."""
    rows = []
    for repository in repositories:
        commit_id, date = heads.get(repository.id, ("", ""))
        when = parse_date(date)
        if when is not None and repository.head_commit in ("", commit_id):
            rows.append({"id": repository.id, "head_commit": commit_id, "head_committed_at": when})
    return rows


async def store(services: Services, run_id: str, connection, results, heads=()) -> PostureRun:
    now = utcnow()
    results = list(unique(results))
    rows = [
        {
            "id": new_id(),
            "account_id": connection.account_id,
            "connection_id": connection.id,
            "project_id": project.id,
            "repository_id": result.resource.repository_id,
            "control_id": result.control_id,
            "resource_type": result.resource.type,
            "resource_id": result.resource.id[:64],
            "resource_name": result.resource.name[:256],
            "status": result.status,
            "reason": result.reason[:500],
            "run_id": run_id,
            "evaluated_at": now,
        }
        for project, result in results
    ]
    async with session_scope(services.sessions) as session:
        run = await session.get(PostureRun, run_id)
        assert run is not None  # the run's row outlives its job
        await session.exec(delete(PostureResult).where(PostureResult.connection_id == connection.id))
        for start in range(0, len(rows), 2000):
            await session.exec(insert(PostureResult), params=rows[start : start + 2000])
        outcome = await record_posture_findings(session, connection.account_id, run_id, results, now)
        if heads:
            await session.exec(update(AzureRepository), params=list(heads))
        statuses = [r.status for _, r in results]
        run.passed = statuses.count(Status.PASS)
        run.failed = statuses.count(Status.FAIL)
        run.not_evaluated = statuses.count(Status.NOT_EVALUATED)
        run.new_findings, run.fixed_findings = outcome.new, outcome.fixed
        run.status, run.finished_at = PostureRunStatus.SUCCEEDED, now
        session.add(run)
    log.info(
        "posture of %s: %d pass, %d fail, %d not evaluated",
        connection.organization,
        run.passed,
        run.failed,
        run.not_evaluated,
    )
    return run


def unique(results):
    """One result per (project, control, resource): a resource listed twice by Azure DevOps counts once.

    Ids are per project for some resources (variable groups, queues), so the project is part of the key."""
    seen = set()
    for project, result in results:
        key = (project.id, result.control_id, result.resource.type, result.resource.id)
        if key not in seen:
            seen.add(key)
            yield project, result
