"""Reading what discovery stored: the Repositories table of the console, and selection changes."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, exists, false, func, literal_column, or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.audit.service import record
from core.db.columns import utcnow
from core.discovery.models import AzureRepository
from core.discovery.search import repository_search
from core.errors import NotFound
from core.findings.models import Finding
from core.findings.service import ACTIVE, at_least
from core.ownership import owned_by
from core.pagination import (
    TOTAL_COUNT_CAP,
    Count,
    InvalidInput,
    Page,
    capped_count,
    decode_cursor,
    encode_cursor,
    page_size,
)


@dataclass
class RepositoryFilter:
    connection_id: str | None = None
    organization: str | None = None
    project: str | None = None
    search: str | None = None
    include_excluded: bool = True
    selected: bool | None = None
    include_removed: bool = False
    provider: str | None = None  # only AZURE_DEVOPS exists yet
    scan_status: str | None = None
    visibility: str | None = None
    min_severity: str | None = None  # repositories with an active finding at or above it
    sort: str = "NAME"  # NAME or PROJECT (project, then name)


async def _conditions(
    session: AsyncSession, account_id: str, flt: RepositoryFilter
) -> list[ColumnElement[bool]]:
    search = await repository_search(session, flt.search) if flt.search else None
    if search is not None and search.by_candidates:
        # Read by primary key: `+` keeps SQLite off the account's index, which would walk every row of it.
        conditions = [literal_column("+azure_repositories.account_id") == account_id]
    else:
        conditions = [owned_by(AzureRepository, account_id)]
    if flt.connection_id:
        conditions.append(col(AzureRepository.connection_id) == flt.connection_id)
    if flt.organization:
        conditions.append(func.lower(AzureRepository.organization) == flt.organization.lower())
    if flt.project:
        conditions.append(func.lower(AzureRepository.project_name) == flt.project.lower())
    if search is not None:  # flt.search was given
        conditions.append(search.condition)
    if not flt.include_excluded:
        conditions.append(col(AzureRepository.excluded_reason).is_(None))
    if flt.selected is not None:
        conditions.append(col(AzureRepository.selected) == flt.selected)
    if not flt.include_removed:
        conditions.append(col(AzureRepository.removed_at).is_(None))
    if flt.provider and flt.provider != "AZURE_DEVOPS":
        conditions.append(false())
    if flt.scan_status:
        conditions.append(col(AzureRepository.scan_status) == flt.scan_status)
    if flt.visibility:
        conditions.append(col(AzureRepository.visibility) == flt.visibility.lower())
    if flt.min_severity:
        conditions.append(
            exists().where(
                col(Finding.repository_id) == col(AzureRepository.id),
                col(Finding.status).in_(ACTIVE),
                col(Finding.severity).in_(at_least(flt.min_severity)),
            )
        )
    return conditions


def sort_key(flt: RepositoryFilter):
    if flt.sort == "NAME":
        return col(AzureRepository.name)
    if flt.sort == "PROJECT":
        return col(AzureRepository.project_name) + "/" + col(AzureRepository.name)
    raise InvalidInput("sort must be NAME or PROJECT")


async def list_repositories(
    session: AsyncSession,
    account_id: str,
    flt: RepositoryFilter,
    first: int | None,
    after: str | None,
    *,
    count: bool = True,
) -> Page[AzureRepository]:
    """One page, ordered by the sort key then id; two statements whatever the page size, one with
    `count=False` (GraphQL counts separately, capped, and only when asked: `count_repositories`)."""
    size = page_size(first)
    conditions = await _conditions(session, account_id, flt)
    key = sort_key(flt)
    total = (
        (await session.exec(select(func.count()).select_from(AzureRepository).where(*conditions))).one()
        if count
        else None
    )
    query = select(AzureRepository).where(*conditions)
    if after:
        value, row_id = decode_cursor(after, 2)
        query = query.where(or_(key > value, and_(key == value, col(AzureRepository.id) > row_id)))
    query = query.order_by(key, AzureRepository.id).limit(size + 1)
    rows = list((await session.exec(query)).all())
    items = rows[:size]
    value_of = (lambda r: r.name) if flt.sort == "NAME" else (lambda r: f"{r.project_name}/{r.name}")
    return Page(
        items=items,
        cursors=[encode_cursor(value_of(r), r.id) for r in items],
        has_next_page=len(rows) > size,
        total_count=total,
    )


async def count_repositories(
    session: AsyncSession, account_id: str, flt: RepositoryFilter, cap: int = TOTAL_COUNT_CAP
) -> Count:
    conditions = await _conditions(session, account_id, flt)
    return await capped_count(session, AzureRepository, conditions, cap)


async def set_selection(
    session: AsyncSession, account_id: str, actor: str, ids: list[str], selected: bool
) -> list[AzureRepository]:
    """Select or deselect repositories; unknown or other accounts' ids fail the whole change."""
    unique = list(dict.fromkeys(ids))
    if not unique or len(unique) > 1000:
        raise InvalidInput("ids must name 1 to 1000 repositories")
    query = select(AzureRepository).where(
        owned_by(AzureRepository, account_id), col(AzureRepository.id).in_(unique)
    )
    rows = list((await session.exec(query)).all())
    if len(rows) != len(unique):
        raise NotFound("repository", "One or more repositories do not exist.")
    await session.exec(
        update(AzureRepository)
        .where(col(AzureRepository.id).in_(unique))
        .values(selected=selected, updated_at=utcnow())
        .execution_options(synchronize_session="fetch")
    )
    record(
        session,
        account_id,
        actor,
        "repositories.selected" if selected else "repositories.deselected",
        subject=f"{len(unique)} repositories",
        ids=unique[:50],
    )
    for row in rows:
        row.selected = selected
    return rows
