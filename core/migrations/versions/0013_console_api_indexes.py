"""console API: scan runs know their connection scan; indexes for the console's pages

Revision ID: 0013
Revises: 0012
"""

import logging

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op
from sqlalchemy.exc import DBAPIError

log = logging.getLogger(__name__)
# PostgreSQL: the findings search (`core/findings/service.py` SEARCH_TEXT) by trigrams, so a substring search of
# a million findings is an index lookup. The expression must stay identical to SEARCH_TEXT.
SEARCH_INDEX = (
    "CREATE INDEX ix_findings_search_trgm ON findings USING gin "
    "((lower(title || E'\\n' || message || E'\\n' || rule_id || E'\\n' || path)) gin_trgm_ops)"
)


def create_search_index() -> None:
    """Needs the pg_trgm extension: created when the role may; else the search works without the index (a
    warning says so) and an operator can create both later."""
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    try:
        with bind.begin_nested():
            bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
            bind.execute(sa.text(SEARCH_INDEX))
    except DBAPIError as error:
        log.warning("findings search index not created (pg_trgm unavailable: %s)", str(error).splitlines()[0])


revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("scan_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("batch", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True))
        batch_op.create_index("ix_scan_runs_batch", ["batch"], unique=False)
    with op.batch_alter_table("findings", schema=None) as batch_op:
        # A repository's findings, newest first (the repository page), read in index order.
        batch_op.create_index(
            "ix_findings_repository_first_seen", ["repository_id", "first_seen_at", "id"], unique=False
        )
        # The findings list filtered by category, newest first.
        batch_op.create_index(
            "ix_findings_account_category_first_seen",
            ["account_id", "category", "first_seen_at", "id"],
            unique=False,
        )
    create_search_index()
    with op.batch_alter_table("azure_repositories", schema=None) as batch_op:
        # The Repositories page (never the removed ones): its order and its count from the index alone.
        batch_op.create_index(
            "ix_azure_repositories_account_name_present",
            ["account_id", "name", "id"],
            unique=False,
            postgresql_where=sa.text("removed_at IS NULL"),
            sqlite_where=sa.text("removed_at IS NULL"),
        )


def downgrade() -> None:
    with op.batch_alter_table("azure_repositories", schema=None) as batch_op:
        batch_op.drop_index("ix_azure_repositories_account_name_present")
    op.execute("DROP INDEX IF EXISTS ix_findings_search_trgm")
    with op.batch_alter_table("findings", schema=None) as batch_op:
        batch_op.drop_index("ix_findings_account_category_first_seen")
        batch_op.drop_index("ix_findings_repository_first_seen")
    with op.batch_alter_table("scan_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_scan_runs_batch")
        batch_op.drop_column("batch")
