"""Tenants never meet: every object a caller names by id is loaded through here, scoped to their account.

A row of another account answers exactly as a missing one (NotFound, or None), so an id tells nobody
whether it exists elsewhere. Lists filter with `owned_by` / `where_owned` rather than a hand-written
`account_id ==`, so a reader finds every ownership check by one name.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy.sql import ColumnElement

from core.errors import NotFound

T = TypeVar("T")
MAX_ID_LENGTH = 64  # ids are UUIDs (36); a longer one names nothing and is not sent to the database


def owned_by(model: Any, account_id: str) -> ColumnElement[bool]:
    """The condition "this row is the account's", for a statement's where clause."""
    return model.account_id == account_id


def where_owned(statement: T, model: Any, account_id: str) -> T:
    """`statement` limited to the account's rows of `model`."""
    return statement.where(owned_by(model, account_id))  # type: ignore[attr-defined]


async def find_owned(session: Any, model: type[T], object_id: str, account_id: str) -> T | None:
    """The account's row of `model` with this id, or None (missing, or another account's: the same)."""
    if not object_id or len(object_id) > MAX_ID_LENGTH:
        return None
    row = await session.get(model, object_id)
    return row if row is not None and row.account_id == account_id else None


async def owned(session: Any, model: type[T], object_id: str, account_id: str, what: str) -> T:
    """The account's row of `model` with this id; NotFound("No such {what}.") otherwise."""
    row = await find_owned(session, model, object_id, account_id)
    if row is None:
        raise NotFound(what)
    return row


__all__ = ["find_owned", "owned", "owned_by", "where_owned"]
