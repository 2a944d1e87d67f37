"""Rows for any table, built from its columns: what the retention and deletion tests insert.

A value is generated for every column not given (random text within the column's length, so unique
constraints hold), so a table added later gets rows here without changing the tests.
"""

from __future__ import annotations

import secrets
from datetime import date

from sqlalchemy import JSON, Boolean, Date, DateTime, Float, Integer, String, Table
from sqlalchemy.dialects.postgresql import JSONB

from core.db.columns import utcnow


def value_for(column):
    kind = column.type
    kind = getattr(kind, "impl_instance", kind)  # a TypeDecorator (AutoString, UTCDateTime): what it stores
    if isinstance(kind, (JSON, JSONB)):
        return {}
    if isinstance(kind, Boolean):
        return False
    if isinstance(kind, Integer):
        return secrets.randbelow(1_000_000)
    if isinstance(kind, Float):
        return 0.0
    if isinstance(kind, DateTime):  # a naive column (Bolt's) stores naive UTC
        return utcnow() if kind.timezone or column.type is not kind else utcnow().replace(tzinfo=None)
    if isinstance(kind, Date):
        return date.today()
    if isinstance(kind, String):
        length = getattr(kind, "length", None) or 32
        return secrets.token_hex(16)[: min(length, 32)]
    raise TypeError(f"no generated value for {column.table.name}.{column.name} ({kind})")


def row_values(table: Table, **given) -> dict:
    values = {}
    for column in table.columns:
        if column.name in given:
            values[column.name] = given[column.name]
        elif column.foreign_keys and column.nullable:
            values[column.name] = None
        elif column.foreign_keys:
            raise ValueError(f"{table.name}.{column.name} references another row: give it")
        else:
            values[column.name] = value_for(column)
    return values


async def insert(session, table, **given) -> dict:
    """Insert one row (a Table or a model class) and return its values."""
    table = table if isinstance(table, Table) else table.__table__
    values = row_values(table, **given)
    await session.exec(table.insert().values(**values))
    return values
