"""Open findings by severity per day, and new and fixed per day, from the findings' own dates.

A finding is open at the end of day D when it was first seen on or before D and not fixed by then
(`first_seen_at`, `fixed_at`). Findings suppressed now are left out of every day (when they were suppressed
is not recorded); a reopened finding counts as open since it was first seen. One grouped statement: its rows
are bounded by severities times days squared, whatever the number of findings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import func
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.errors import InvalidInput
from core.findings.models import Finding, FindingStatus
from core.ownership import owned_by
from core.severity import ORDER

SEVERITIES = ORDER  # most severe first (core/severity.py)
MAX_DAYS = 90


@dataclass
class TrendDay:
    day: date
    open: dict[str, int] = field(default_factory=lambda: {s.value: 0 for s in ORDER})
    new_findings: int = 0
    fixed_findings: int = 0


def as_date(value) -> date | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])  # SQLite answers date() as text


async def daily_trend(
    session: AsyncSession, account_id: str, days: int, today: date, repository_id: str | None = None
) -> list[TrendDay]:
    if not 1 <= days <= MAX_DAYS:
        raise InvalidInput(f"days must be between 1 and {MAX_DAYS}")
    first_seen, fixed = func.date(Finding.first_seen_at), func.date(Finding.fixed_at)
    query = (
        select(Finding.severity, first_seen, fixed, func.count())
        .where(owned_by(Finding, account_id), Finding.status != FindingStatus.SUPPRESSED)
        .group_by(Finding.severity, first_seen, fixed)
    )
    if repository_id is not None:
        query = query.where(Finding.repository_id == repository_id)
    groups = [(s, as_date(f), as_date(x), n) for s, f, x, n in (await session.exec(query)).all()]
    start = today - timedelta(days=days - 1)
    trend = []
    for offset in range(days):
        day = TrendDay(start + timedelta(days=offset))
        for severity, seen, fixed_on, count in groups:
            if seen is not None and seen <= day.day and (fixed_on is None or fixed_on > day.day):
                day.open[severity] = day.open.get(severity, 0) + count
            day.new_findings += count if seen == day.day else 0
            day.fixed_findings += count if fixed_on == day.day else 0
        trend.append(day)
    return trend
