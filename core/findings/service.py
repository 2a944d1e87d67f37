"""Reading findings for the console, counting them per repository, suppressing and unsuppressing."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, func, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.audit.service import record
from core.db.columns import utcnow
from core.findings.models import Finding, FindingStatus
from core.pagination import InvalidInput, Page, decode_cursor, encode_cursor, matches_search, page_size
from core.scans.models import ScanRun
from core.scans.scanner import SEVERITIES

ACTIVE = (FindingStatus.OPEN, FindingStatus.REOPENED)


def at_least(severity: str) -> list[str]:
    """The severities at or above `severity` (CRITICAL is the highest)."""
    if severity not in SEVERITIES:
        raise InvalidInput(f"severity must be one of {', '.join(SEVERITIES)}")
    return list(SEVERITIES[: SEVERITIES.index(severity) + 1])


@dataclass
class FindingFilter:
    repository_id: str | None = None
    statuses: list[str] = field(default_factory=lambda: list(ACTIVE))
    min_severity: str | None = None
    category: str | None = None
    scanner: str | None = None
    search: str | None = None


def finding_conditions(account_id: str, flt: FindingFilter) -> list:
    conditions = [Finding.account_id == account_id]
    if flt.repository_id:
        conditions.append(Finding.repository_id == flt.repository_id)
    if flt.statuses:
        conditions.append(col(Finding.status).in_(flt.statuses))
    if flt.min_severity:
        conditions.append(col(Finding.severity).in_(at_least(flt.min_severity)))
    if flt.category:
        conditions.append(Finding.category == flt.category)
    if flt.scanner:
        conditions.append(Finding.scanner == flt.scanner)
    if flt.search:
        conditions.append(matches_search(flt.search, Finding.path, Finding.rule_id))
    return conditions


async def keyset_page(
    session: AsyncSession, model, conditions: list, first: int | None, after: str | None, time_column
) -> Page:
    """Newest first on (time_column, id): two statements whatever the page size."""
    size = page_size(first)
    total = (await session.exec(select(func.count()).select_from(model).where(*conditions))).one()
    query = select(model).where(*conditions)
    if after:
        when_text, row_id = decode_cursor(after, 2)
        try:
            when = datetime.fromisoformat(when_text)
        except ValueError:
            raise InvalidInput("after is not a cursor returned by this API") from None
        query = query.where(or_(time_column < when, and_(time_column == when, model.id < row_id)))
    query = query.order_by(time_column.desc(), col(model.id).desc()).limit(size + 1)
    rows = list((await session.exec(query)).all())
    items = rows[:size]
    cursors = [encode_cursor(getattr(r, time_column.key).isoformat(), r.id) for r in items]
    return Page(items=items, cursors=cursors, has_next_page=len(rows) > size, total_count=total)


async def list_findings(session, account_id: str, flt: FindingFilter, first: int | None, after: str | None):
    return await keyset_page(
        session, Finding, finding_conditions(account_id, flt), first, after, col(Finding.first_seen_at)
    )


async def list_scan_runs(
    session, account_id: str, repository_id: str | None, first: int | None, after: str | None
):
    conditions = [ScanRun.account_id == account_id]
    if repository_id:
        conditions.append(ScanRun.repository_id == repository_id)
    return await keyset_page(session, ScanRun, conditions, first, after, col(ScanRun.created_at))


async def counts_by_repository(session: AsyncSession, repository_ids: list[str]) -> dict[str, dict[str, int]]:
    """Active findings per repository and severity, for a whole page in one statement."""
    if not repository_ids:
        return {}
    query = (
        select(Finding.repository_id, Finding.severity, func.count())
        .where(col(Finding.repository_id).in_(repository_ids), col(Finding.status).in_(ACTIVE))
        .group_by(Finding.repository_id, Finding.severity)
    )
    counts: dict[str, dict[str, int]] = {}
    for repository_id, severity, count in (await session.exec(query)).all():
        counts.setdefault(repository_id, {})[severity] = count
    return counts


async def suppress(
    session, account_id: str, actor: str, finding_id: str, reason: str, until: datetime | None
) -> Finding:
    reason = reason.strip()
    if not reason or len(reason) > 500:
        raise InvalidInput("a suppression needs a reason of 1 to 500 characters")
    if until is not None and until <= utcnow():
        raise InvalidInput("the expiry must be in the future")
    finding = await owned(session, account_id, finding_id)
    if finding.status == FindingStatus.FIXED:
        raise InvalidInput("a fixed finding cannot be suppressed")
    finding.status, finding.suppressed_reason, finding.suppressed_by = FindingStatus.SUPPRESSED, reason, actor
    finding.suppressed_until = until
    session.add(finding)
    record(
        session,
        account_id,
        actor,
        "finding.suppressed",
        finding.rule_id,
        finding_id=finding.id,
        reason=reason,
    )
    return finding


async def unsuppress(session, account_id: str, actor: str, finding_id: str) -> Finding:
    finding = await owned(session, account_id, finding_id)
    if finding.status != FindingStatus.SUPPRESSED:
        raise InvalidInput("the finding is not suppressed")
    finding.status, finding.suppressed_reason, finding.suppressed_until = FindingStatus.OPEN, "", None
    finding.suppressed_by = ""
    session.add(finding)
    record(session, account_id, actor, "finding.unsuppressed", finding.rule_id, finding_id=finding.id)
    return finding


async def owned(session, account_id: str, finding_id: str) -> Finding:
    finding = await session.get(Finding, finding_id)
    if finding is None or finding.account_id != account_id:
        raise LookupError("no such finding")
    return finding
