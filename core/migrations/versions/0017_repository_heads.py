"""repository heads: the default branch's head as the daily run last listed it, and its commit date

Revision ID: 0017
Revises: 0016

The daily connection job lists every selected repository's branches once; the head it saw, when, and (once
posture read it) that commit's date let an unchanged repository cost no further request. Plain ADD COLUMNs:
on SQLite no table rewrite, so the search triggers of 0016 stay.
"""

import sqlalchemy as sa
from alembic import op

from core.db.columns import UTCDateTime

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "azure_repositories",
        sa.Column("head_commit", sa.String(length=64), nullable=False, server_default=""),
    )
    op.add_column("azure_repositories", sa.Column("head_committed_at", UTCDateTime(), nullable=True))
    op.add_column("azure_repositories", sa.Column("head_listed_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    for column in ("head_listed_at", "head_committed_at", "head_commit"):
        op.drop_column("azure_repositories", column)
