"""Keyset pagination: opaque cursors over a stable sort key, so a page costs the same at any depth."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy import func, literal, or_
from sqlmodel import select

from core.errors import InvalidInput  # re-exported: its home before core/errors.py

T = TypeVar("T")
MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 50
# Counts are exact up to here, then "at least this many": counting a million rows would cost a page far more
# than reading it.
TOTAL_COUNT_CAP = 10_000


@dataclass
class Page(Generic[T]):
    items: list[T]
    cursors: list[str]
    has_next_page: bool
    total_count: int | None = None  # None when the caller did not ask for it (see capped_count)


def page_size(first: int | None) -> int:
    if first is None:
        return DEFAULT_PAGE_SIZE
    if not 1 <= first <= MAX_PAGE_SIZE:
        raise InvalidInput(f"first must be between 1 and {MAX_PAGE_SIZE}")
    return first


def encode_cursor(*values: str) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(values)).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, parts: int) -> list[str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput("after is not a cursor returned by this API") from None
    if not isinstance(values, list) or len(values) != parts or not all(isinstance(v, str) for v in values):
        raise InvalidInput("after is not a cursor returned by this API")
    return values


def matches_search(search: str, *columns):
    """A case-insensitive substring match of `search` on any of the columns, with LIKE's wildcards escaped."""
    if len(search) > 200:
        raise InvalidInput("search is at most 200 characters")
    pattern = "%" + search.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return or_(*(func.lower(column).like(pattern, escape="\\") for column in columns))


@dataclass(frozen=True)
class Count:
    value: int  # exact when not capped, else the cap
    capped: bool  # there are more than `value`


async def capped_count(session, model, conditions: list, cap: int = TOTAL_COUNT_CAP) -> Count:
    """How many rows match, reading at most cap + 1 of them: the same cost at 10,001 rows and at 1,000,000."""
    limited = select(literal(1).label("one")).select_from(model).where(*conditions).limit(cap + 1).subquery()
    found = (await session.exec(select(func.count()).select_from(limited))).one()
    return Count(min(found, cap), found > cap)
