"""console API: scan runs know their connection scan; indexes for the console's pages

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

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
    with op.batch_alter_table("findings", schema=None) as batch_op:
        batch_op.drop_index("ix_findings_account_category_first_seen")
        batch_op.drop_index("ix_findings_repository_first_seen")
    with op.batch_alter_table("scan_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_scan_runs_batch")
        batch_op.drop_column("batch")
