"""Schema migrations (Alembic), run once by `panoptica db upgrade`, not at every process start."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


# Made by SQL of their own in a migration, on PostgreSQL only (an expression index with an operator class).
UNMODELLED_INDEXES = {
    "ix_findings_search_trgm",
    "ix_azure_repositories_name_trgm",
    "ix_azure_repositories_project_name_trgm",
}
# SQLite only (migration 0016): the repository search's FTS5 table, its shadow tables and its keys.
UNMODELLED_TABLE_PREFIX = "azure_repositories_search"


def include_name(name, type_, parent_names) -> bool:
    """What autogenerate compares: not procrastinate's tables (PostgreSQL), which come from its own SQL, nor
    the indexes and the SQLite search tables made by SQL."""
    if type_ == "index" and name in UNMODELLED_INDEXES:
        return False
    return not (type_ == "table" and name and name.startswith(("procrastinate_", UNMODELLED_TABLE_PREFIX)))


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", database_url)
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


async def upgrade_engine(engine: AsyncEngine, revision: str = "head") -> None:
    """Upgrade through an existing engine (tests, the embedded default)."""
    config = alembic_config(engine.url.render_as_string(hide_password=False))

    def _upgrade(connection) -> None:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    async with engine.begin() as connection:
        await connection.run_sync(_upgrade)


async def schema_revisions(engine: AsyncEngine) -> tuple[str | None, str | None]:
    """(the database's revision, the code's head, None only without scripts): equal when the schema is current."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config("")).get_current_head()  # needs only the scripts
    async with engine.connect() as connection:
        current = await connection.run_sync(
            lambda sync: MigrationContext.configure(sync).get_current_revision()
        )
    return current, head
