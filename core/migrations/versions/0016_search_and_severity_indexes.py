"""repository search by trigrams (pg_trgm on PostgreSQL, FTS5 on SQLite); findings by repository, status, severity

Revision ID: 0016
Revises: 0015
"""

import logging

import sqlalchemy as sa
from alembic import op
from sqlalchemy.exc import DBAPIError

log = logging.getLogger(__name__)

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

# PostgreSQL: the Repositories search (`core/discovery/search.py`) is `lower(name) LIKE ... OR lower(project_name)
# LIKE ...`; one trigram index per side lets the planner answer it with a BitmapOr instead of a sequential scan.
# The expressions must stay identical to the query's.
POSTGRES_INDEXES = {
    "ix_azure_repositories_name_trgm": (
        "CREATE INDEX ix_azure_repositories_name_trgm ON azure_repositories USING gin (lower(name) gin_trgm_ops)"
    ),
    "ix_azure_repositories_project_name_trgm": (
        "CREATE INDEX ix_azure_repositories_project_name_trgm ON azure_repositories "
        "USING gin (lower(project_name) gin_trgm_ops)"
    ),
}

# SQLite: an FTS5 trigram table of every repository's name and project name, kept in step by triggers. Its rowid
# is a key of its own (`azure_repositories_search_keys`), not the repositories' implicit rowid, which VACUUM may
# renumber (their primary key is a text id). The price is on writes: FTS5 flushes at each trigger's savepoint,
# so inserting many repositories row by row is far slower (20,000: 0.2 s without, 7 s with, 2 busy cores). A batch
# rewrite of azure_repositories (op.batch_alter_table on SQLite) drops these triggers: recreate them after it.
SQLITE_CREATE = (
    "CREATE TABLE azure_repositories_search_keys ("
    "key INTEGER PRIMARY KEY, repository_id VARCHAR(36) NOT NULL UNIQUE)",
    "CREATE VIRTUAL TABLE azure_repositories_search USING fts5(name, project_name, tokenize='trigram')",
    "INSERT INTO azure_repositories_search_keys (repository_id) SELECT id FROM azure_repositories",
    "INSERT INTO azure_repositories_search (rowid, name, project_name) "
    "SELECT k.key, r.name, r.project_name FROM azure_repositories_search_keys k "
    "JOIN azure_repositories r ON r.id = k.repository_id",
    "CREATE TRIGGER azure_repositories_search_insert AFTER INSERT ON azure_repositories BEGIN "
    "INSERT INTO azure_repositories_search_keys (repository_id) VALUES (new.id); "
    "INSERT INTO azure_repositories_search (rowid, name, project_name) "
    "VALUES (last_insert_rowid(), new.name, new.project_name); END",
    "CREATE TRIGGER azure_repositories_search_update AFTER UPDATE OF name, project_name ON azure_repositories "
    "WHEN old.name IS NOT new.name OR old.project_name IS NOT new.project_name "
    "BEGIN UPDATE azure_repositories_search SET name = new.name, project_name = new.project_name "
    "WHERE rowid = (SELECT key FROM azure_repositories_search_keys WHERE repository_id = old.id); END",
    "CREATE TRIGGER azure_repositories_search_delete AFTER DELETE ON azure_repositories BEGIN "
    "DELETE FROM azure_repositories_search "
    "WHERE rowid = (SELECT key FROM azure_repositories_search_keys WHERE repository_id = old.id); "
    "DELETE FROM azure_repositories_search_keys WHERE repository_id = old.id; END",
)
SQLITE_DROP = (
    "DROP TRIGGER IF EXISTS azure_repositories_search_delete",
    "DROP TRIGGER IF EXISTS azure_repositories_search_update",
    "DROP TRIGGER IF EXISTS azure_repositories_search_insert",
    "DROP TABLE IF EXISTS azure_repositories_search",
    "DROP TABLE IF EXISTS azure_repositories_search_keys",
)


def create_postgres_indexes(bind) -> None:
    """Needs pg_trgm (migration 0013 creates it when the role may); without it the search works unindexed and a
    warning says so."""
    try:
        with bind.begin_nested():
            bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
            for statement in POSTGRES_INDEXES.values():
                bind.execute(sa.text(statement))
    except DBAPIError as error:
        log.warning(
            "repository search indexes not created (pg_trgm unavailable: %s)", str(error).splitlines()[0]
        )


def upgrade() -> None:
    # The Repositories page's minSeverity filter asks, per repository, for an active finding at or above a
    # severity: answered from this index alone (the repository_id index alone reads every finding's row).
    op.create_index(
        "ix_findings_repository_status_severity", "findings", ["repository_id", "status", "severity"]
    )
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        create_postgres_indexes(bind)
    elif bind.dialect.name == "sqlite":
        for statement in SQLITE_CREATE:
            bind.execute(sa.text(statement))


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for name in reversed(POSTGRES_INDEXES):
            op.execute(f"DROP INDEX IF EXISTS {name}")
    elif bind.dialect.name == "sqlite":
        for statement in SQLITE_DROP:
            bind.execute(sa.text(statement))
    op.drop_index("ix_findings_repository_status_severity", table_name="findings")
