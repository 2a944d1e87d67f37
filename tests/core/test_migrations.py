"""The migrations produce exactly the models' schema, on SQLite and on PostgreSQL."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from core.db.migrate import include_name
from core.db.models import SQLModel
from core.slack.stores import BOLT_METADATA


async def test_migrations_match_the_models(engine):
    def diff(connection):
        opts = {"compare_type": True, "include_name": include_name}
        context = MigrationContext.configure(connection, opts=opts)
        return compare_metadata(context, [SQLModel.metadata, BOLT_METADATA])

    async with engine.connect() as connection:
        differences = await connection.run_sync(diff)
    assert differences == []


async def test_every_model_table_exists(engine):
    async with engine.connect() as connection:
        tables = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
    assert set(SQLModel.metadata.tables) | set(BOLT_METADATA.tables) <= tables
    assert "alembic_version" in tables
