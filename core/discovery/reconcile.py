"""Reconcile what Azure DevOps lists with what we stored, in bulk, keyed by Azure DevOps ids.

New repositories are added (selected by default), a renamed one keeps its id, selection and history, one
no longer visible gets `removed_at` (kept, not deleted) and comes back if it reappears. Everything is fetched
before this runs, and it runs in one transaction: a discovery that fails half-way changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.azure.models import Project, Repository
from core.connections.models import AzureConnection
from core.db.columns import new_id
from core.discovery.models import AzureProject, AzureRepository

REPOSITORY_FIELDS = (
    "name",
    "project_ado_id",
    "project_name",
    "default_branch",
    "web_url",
    "size_bytes",
    "visibility",
    "is_fork",
    "is_disabled",
    "is_empty",
    "is_in_maintenance",
    "excluded_reason",
    "organization",
)


@dataclass
class Summary:
    projects: int = 0
    repositories: int = 0
    added: int = 0
    renamed: int = 0
    removed: int = 0
    restored: int = 0


def excluded_reason(repo: Repository) -> str | None:
    if repo.is_disabled:
        return "DISABLED"
    if repo.is_in_maintenance:
        return "IN_MAINTENANCE"
    if not repo.default_branch:
        return "EMPTY"
    return None


def repository_values(organization: str, repo: Repository) -> dict:
    return {
        "organization": organization,
        "name": repo.name[:256],
        "project_ado_id": repo.project.id,
        "project_name": repo.project.name[:64],
        "default_branch": repo.default_branch,
        "web_url": repo.web_url[:1024],
        "size_bytes": repo.size,
        "visibility": repo.project.visibility or "private",
        "is_fork": repo.is_fork,
        "is_disabled": repo.is_disabled,
        "is_empty": not repo.default_branch,
        "is_in_maintenance": repo.is_in_maintenance,
        "excluded_reason": excluded_reason(repo),
    }


async def reconcile(
    session: AsyncSession,
    connection: AzureConnection,
    projects: list[Project],
    repositories: list[Repository],
    now: datetime,
) -> Summary:
    summary = Summary(projects=len(projects), repositories=len(repositories))
    await reconcile_projects(session, connection, projects, now)
    existing = {
        row.ado_id: row
        for row in (
            await session.exec(select(AzureRepository).where(AzureRepository.connection_id == connection.id))
        ).all()
    }
    inserts, updates = [], []
    for repo in repositories:
        values = repository_values(connection.organization, repo)
        row = existing.get(repo.id)
        if row is None:
            inserts.append(
                {
                    **values,
                    "id": new_id(),
                    "account_id": connection.account_id,
                    "connection_id": connection.id,
                    "ado_id": repo.id,
                    "selected": True,
                    "discovered_at": now,
                    "updated_at": now,
                }
            )
            continue
        summary.renamed += row.name != values["name"]
        summary.restored += row.removed_at is not None
        if row.removed_at is not None or any(getattr(row, f) != values[f] for f in REPOSITORY_FIELDS):
            updates.append({**values, "id": row.id, "removed_at": None, "updated_at": now})
    seen = {repo.id for repo in repositories}
    gone = [row.id for ado_id, row in existing.items() if ado_id not in seen and row.removed_at is None]
    summary.added, summary.removed = len(inserts), len(gone)
    if inserts:
        await session.exec(insert(AzureRepository), params=inserts)
    if updates:
        await session.exec(update(AzureRepository), params=updates)
    for chunk in chunks(gone):
        await session.exec(
            update(AzureRepository)
            .where(col(AzureRepository.id).in_(chunk))
            .values(removed_at=now, updated_at=now)
            .execution_options(synchronize_session=False)
        )
    return summary


def chunks(ids: list[str], size: int = 5000):
    """Keeps IN lists under the databases' bound-parameter limits (32,766 for SQLite and asyncpg)."""
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


async def reconcile_projects(
    session, connection: AzureConnection, projects: list[Project], now: datetime
) -> None:
    existing = {
        row.ado_id: row
        for row in (
            await session.exec(select(AzureProject).where(AzureProject.connection_id == connection.id))
        ).all()
    }
    inserts, updates = [], []
    for project in projects:
        values = {"name": project.name[:64], "visibility": project.visibility or "private"}
        row = existing.get(project.id)
        if row is None:
            inserts.append(
                {
                    **values,
                    "id": new_id(),
                    "connection_id": connection.id,
                    "ado_id": project.id,
                    "discovered_at": now,
                }
            )
        elif (
            row.removed_at is not None or row.name != values["name"] or row.visibility != values["visibility"]
        ):
            updates.append({**values, "id": row.id, "removed_at": None})
    seen = {p.id for p in projects}
    gone = [row.id for ado_id, row in existing.items() if ado_id not in seen and row.removed_at is None]
    if inserts:
        await session.exec(insert(AzureProject), params=inserts)
    if updates:
        await session.exec(update(AzureProject), params=updates)
    for chunk in chunks(gone):
        await session.exec(
            update(AzureProject)
            .where(col(AzureProject.id).in_(chunk))
            .values(removed_at=now)
            .execution_options(synchronize_session=False)
        )
