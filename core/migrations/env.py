"""Alembic environment: runs migrations on the async engine of the configured database."""

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from core.db import create_engine
from core.db.columns import UTCDateTime
from core.db.migrate import include_name
from core.db.models import SQLModel
from core.slack.stores import BOLT_METADATA

config = context.config
target_metadata = [SQLModel.metadata, BOLT_METADATA]


def _render_item(type_, obj, autogen_context):
    # Migrations spell plain SQLAlchemy types, so they never depend on our Python column helpers.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_name=include_name,
        render_item=_render_item,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async() -> None:
    url = config.get_main_option("sqlalchemy.url")
    assert url is not None  # core/db/migrate.py alembic_config sets it
    engine = create_engine(url)
    async with engine.connect() as connection:
        await connection.run_sync(_run)
        await connection.commit()
    await engine.dispose()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    asyncio.run(_run_async())
