from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, func, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.audit.models import AuditEvent
from core.ownership import owned_by
from core.pagination import InvalidInput, Page, decode_cursor, encode_cursor, page_size


def record(
    session: AsyncSession, account_id: str, actor: str, action: str, subject: str = "", **details
) -> None:
    """Adds an audit event to the unit of work, so it commits (or not) with the change it describes."""
    session.add(
        AuditEvent(account_id=account_id, actor=actor, action=action, subject=subject, details=details)
    )


def record_change(
    session: AsyncSession,
    account_id: str,
    actor: str,
    action: str,
    subject: str,
    before: dict,
    after: dict,
    **details,
) -> bool:
    """The audit log records changes, not repetitions: an event only when `after` differs from `before`
    (the event says what changed, from what). A repeated check that changes nothing leaves the log as it was
    (its time is kept on the row it checked, e.g. AzureConnection.last_verified_at). True when recorded."""
    changed = {key: value for key, value in after.items() if before.get(key) != value}
    if not changed:
        return False
    record(
        session,
        account_id,
        actor,
        action,
        subject,
        **details,
        changed={key: {"from": before.get(key), "to": value} for key, value in changed.items()},
    )
    return True


async def list_events(session: AsyncSession, account_id: str, first: int | None, after: str | None) -> Page:
    """Newest first, keyset on (created_at, id)."""
    size = page_size(first)
    base = owned_by(AuditEvent, account_id)
    total = (await session.exec(select(func.count()).select_from(AuditEvent).where(base))).one()
    query = select(AuditEvent).where(base)
    if after:
        created, row_id = decode_cursor(after, 2)
        try:
            when = datetime.fromisoformat(created)
        except ValueError:
            raise InvalidInput("after is not a cursor returned by this API") from None
        query = query.where(
            or_(
                col(AuditEvent.created_at) < when,
                and_(col(AuditEvent.created_at) == when, col(AuditEvent.id) < row_id),
            )
        )
    query = query.order_by(col(AuditEvent.created_at).desc(), col(AuditEvent.id).desc()).limit(size + 1)
    rows = list((await session.exec(query)).all())
    items = rows[:size]
    return Page(
        items=items,
        cursors=[encode_cursor(r.created_at.isoformat(), r.id) for r in items],
        has_next_page=len(rows) > size,
        total_count=total,
    )
