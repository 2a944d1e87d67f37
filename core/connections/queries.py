"""Reading connections for the console, with project and repository counts in two grouped statements."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.connections.models import AzureConnection
from core.discovery.models import AzureProject, AzureRepository
from core.ownership import where_owned


@dataclass
class ConnectionView:
    connection: AzureConnection
    project_count: int
    repository_count: int


async def list_connections(session: AsyncSession, account_id: str, connection_id: str | None = None):
    query = where_owned(select(AzureConnection), AzureConnection, account_id)
    if connection_id is not None:
        query = query.where(AzureConnection.id == connection_id)
    connections = list((await session.exec(query.order_by(AzureConnection.organization))).all())
    ids = [c.id for c in connections]
    if not ids:
        return []
    projects = await counts(session, AzureProject, ids)
    repositories = await counts(session, AzureRepository, ids)
    return [ConnectionView(c, projects.get(c.id, 0), repositories.get(c.id, 0)) for c in connections]


async def counts(session: AsyncSession, model, connection_ids: list[str]) -> dict[str, int]:
    query = (
        select(model.connection_id, func.count())
        .where(col(model.connection_id).in_(connection_ids), col(model.removed_at).is_(None))
        .group_by(model.connection_id)
    )
    return dict((await session.exec(query)).all())
