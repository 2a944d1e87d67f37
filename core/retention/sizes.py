"""Table sizes for `/metrics`, so operators see growth: rows per table, estimated and cheap to read.

PostgreSQL: the planner's estimate (`pg_class.reltuples`, kept by autovacuum and ANALYZE; a table never
analyzed yet falls back to the statistics collector's live-row count), one catalog query for every table,
whatever their sizes. SQLite has no such estimate: a count of each of our tables (the embedded default holds
one customer's data, where a count is fast).
"""

from __future__ import annotations

from sqlalchemy import func, select, text
from sqlmodel.ext.asyncio.session import AsyncSession

from core.db.models import SQLModel
from core.slack.stores import BOLT_METADATA

POSTGRES_ESTIMATES = text(
    "SELECT c.relname, CASE WHEN c.reltuples < 0 THEN coalesce(s.n_live_tup, 0) ELSE c.reltuples END "
    "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    "LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid "
    "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') ORDER BY c.relname"
)


async def table_rows(session: AsyncSession) -> dict[str, int]:
    connection = await session.connection()  # the session's own: core statements, not ORM ones
    if connection.dialect.name == "postgresql":
        rows = (await connection.execute(POSTGRES_ESTIMATES)).all()
        return {name: int(estimate) for name, estimate in rows}
    tables = [*SQLModel.metadata.sorted_tables, *BOLT_METADATA.sorted_tables]
    counts: dict[str, int] = {}
    for table in tables:
        counts[table.name] = (await connection.execute(select(func.count()).select_from(table))).scalar_one()
    return dict(sorted(counts.items()))


async def render(session: AsyncSession) -> str:
    """Prometheus text: one gauge sample per table (table names only: no label names a customer)."""
    lines = [
        "# HELP panoptica_table_rows Rows per table, estimated (PostgreSQL: pg_class.reltuples; SQLite: a count).",
        "# TYPE panoptica_table_rows gauge",
    ]
    lines += [
        f'panoptica_table_rows{{table="{name}"}} {rows}' for name, rows in (await table_rows(session)).items()
    ]
    return "\n".join(lines) + "\n"
