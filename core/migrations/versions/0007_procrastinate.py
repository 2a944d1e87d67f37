"""jobs.lock; procrastinate's schema (PostgreSQL only): the distributed job engine's tables, functions, triggers

The SQL is the installed procrastinate's own (`SchemaManager.get_schema()`, 3.10.x, pinned in pyproject), applied
as it ships; upgrading procrastinate across a schema change needs the next migration to apply its migration
scripts. SQLite deployments run jobs in-process and have no such schema.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

OBJECTS = """
DROP TABLE IF EXISTS procrastinate_events, procrastinate_periodic_defers, procrastinate_jobs,
    procrastinate_workers CASCADE;
DROP TYPE IF EXISTS procrastinate_job_status, procrastinate_job_event_type, procrastinate_job_to_defer_v1 CASCADE;
"""


def upgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lock", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True))
    if op.get_bind().dialect.name != "postgresql":
        return
    from procrastinate.schema import SchemaManager

    execute_script(SchemaManager.get_schema())


def execute_script(sql: str) -> None:
    """Several statements at once: asyncpg runs them only outside a prepared statement (its simple protocol)."""
    bind = op.get_bind()
    if bind.dialect.driver == "asyncpg":
        from sqlalchemy.util import await_only

        dbapi_connection = bind.connection.dbapi_connection
        assert dbapi_connection is not None  # the migration's connection is open
        await_only(dbapi_connection.driver_connection.execute(sql))
    else:
        bind.exec_driver_sql(sql)


def downgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_column("lock")
    if op.get_bind().dialect.name != "postgresql":
        return
    functions = op.get_bind().exec_driver_sql(
        "SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
        "WHERE p.proname LIKE 'procrastinate%' AND n.nspname = current_schema()"
    )
    for (signature,) in list(functions):
        op.execute(f"DROP FUNCTION IF EXISTS {signature} CASCADE")
    op.execute(OBJECTS)
