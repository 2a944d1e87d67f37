"""secrets in git history: per repository, the refs last fetched, the commits scanned, the secrets' occurrences

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

from core.db.columns import UTCDateTime

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def repository_column() -> sa.Column:
    return sa.Column(
        "repository_id",
        sqlmodel.sql.sqltypes.AutoString(length=36),
        sa.ForeignKey("azure_repositories.id", ondelete="CASCADE"),
        nullable=False,
    )


def upgrade() -> None:
    op.create_table(
        "history_states",
        repository_column(),
        sa.Column("refs", sa.JSON(), nullable=False),
        sa.Column("scanner_version", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("commits_scanned", sa.Integer(), nullable=False),
        sa.Column("last_run_commits", sa.Integer(), nullable=False),
        sa.Column("bounded", sa.Boolean(), nullable=False),
        sa.Column("unreachable_commits", sa.Integer(), nullable=False),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("scanned_at", UTCDateTime(), nullable=True),
        sa.Column("first_scanned_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("repository_id"),
    )
    op.create_table(
        "history_commits",
        repository_column(),
        sa.Column("commit_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("committed_at", UTCDateTime(), nullable=False),
        sa.Column("reachable", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("repository_id", "commit_id"),
    )
    op.create_table(
        "history_occurrences",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        repository_column(),
        sa.Column("secret_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("rule_id", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("preview", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("commit_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("path", sqlmodel.sql.sqltypes.AutoString(length=1024), nullable=False),
        sa.Column("line", sa.Integer(), nullable=True),
        sa.Column("committed_at", UTCDateTime(), nullable=False),
        sa.Column("author_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("reachable", sa.Boolean(), nullable=False),
        sa.Column("in_head", sa.Boolean(), nullable=False),
        sa.Column("found_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "repository_id", "secret_hash", "commit_id", "path", name="uq_history_occurrence"
        ),
    )
    op.create_index(
        "ix_history_occurrences_repository_hash", "history_occurrences", ["repository_id", "secret_hash"]
    )


def downgrade() -> None:
    op.drop_index("ix_history_occurrences_repository_hash", table_name="history_occurrences")
    op.drop_table("history_occurrences")
    op.drop_table("history_commits")
    op.drop_table("history_states")
