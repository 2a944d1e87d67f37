"""retention: indexes the prune's batches read, and the audit record of deleted accounts

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

from core.db.columns import UTCDateTime

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

INDEXES = (
    ("ix_jobs_finished_at", "jobs", ["finished_at"]),
    ("ix_scan_runs_created_at", "scan_runs", ["created_at"]),
    ("ix_posture_runs_created_at", "posture_runs", ["created_at"]),
    ("ix_audit_events_created_at", "audit_events", ["created_at"]),
    ("ix_slack_deliveries_received_at", "slack_deliveries", ["received_at"]),
    ("ix_findings_status_fixed_at", "findings", ["status", "fixed_at"]),
)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)
    op.create_table(
        "account_deletions",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("deleted_account_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("account_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("deleted_by", sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
        sa.Column("rows", sa.JSON(), nullable=False),
        sa.Column("deleted_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_account_deletions_deleted_account_id", "account_deletions", ["deleted_account_id"])


def downgrade() -> None:
    op.drop_index("ix_account_deletions_deleted_account_id", table_name="account_deletions")
    op.drop_table("account_deletions")
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
