"""console sign-in: account members, sign-ins in flight, sessions

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

S = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        "account_members",
        sa.Column("id", S(length=36), nullable=False),
        sa.Column("account_id", S(length=36), nullable=False),
        sa.Column("tenant_id", S(length=36), nullable=False),
        sa.Column("object_id", S(length=36), nullable=False),
        sa.Column("upn", S(length=320), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tenant_id", "object_id", "account_id"),
    )
    with op.batch_alter_table("account_members", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_account_members_account_id"), ["account_id"], unique=False)

    op.create_table(
        "console_sign_ins",
        sa.Column("id", S(length=36), nullable=False),
        sa.Column("state_hash", S(length=64), nullable=False),
        sa.Column("browser_hash", S(length=64), nullable=False),
        sa.Column("flow", sa.JSON(), nullable=False),
        sa.Column("next_path", S(length=1000), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("state_hash"),
    )

    op.create_table(
        "console_sessions",
        sa.Column("id", S(length=36), nullable=False),
        sa.Column("token_hash", S(length=64), nullable=False),
        sa.Column("account_id", S(length=36), nullable=False),
        sa.Column("member_id", S(length=36), nullable=False),
        sa.Column("upn", S(length=320), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["member_id"], ["account_members.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    with op.batch_alter_table("console_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_console_sessions_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_console_sessions_member_id"), ["member_id"], unique=False)


def downgrade() -> None:
    op.drop_table("console_sessions")
    op.drop_table("console_sign_ins")
    op.drop_table("account_members")
