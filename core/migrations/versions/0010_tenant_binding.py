"""tenant binding: an organization belongs to the account whose administrator proved it

Connections made before the proof was required are marked PROOF_REQUIRED: nothing is deleted, but they
are neither verified nor scanned until an administrator of the organization signs in for that account.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

PROOF_REQUIRED_REASON = (
    "Connected before an administrator's proof was required: an administrator of the organization must sign "
    "in (start the connection again) before it is verified or scanned again."
)


def upgrade() -> None:
    op.create_table(
        "organization_bindings",
        sa.Column("organization", sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
        sa.Column("account_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("connection_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("bound_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("bound_by", sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["connection_id"], ["azure_connections.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("organization"),
        sa.UniqueConstraint("connection_id"),
    )
    with op.batch_alter_table("organization_bindings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_organization_bindings_account_id"), ["account_id"], unique=False)

    op.create_table(
        "sign_in_requests",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("state_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("account_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("connection_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("user_email", sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
        sa.Column("flow", sa.JSON(), nullable=False),
        sa.Column("move", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["connection_id"], ["azure_connections.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("state_hash"),
    )
    with op.batch_alter_table("sign_in_requests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sign_in_requests_account_id"), ["account_id"], unique=False)

    with op.batch_alter_table("azure_connections", schema=None) as batch_op:
        batch_op.add_column(sa.Column("admin_proven_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("admin_proven_by", sqlmodel.sql.sqltypes.AutoString(length=320), nullable=True)
        )
        batch_op.add_column(
            sa.Column("admin_object_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True)
        )

    # Nothing bound any connection to its organization before: every consented one needs the proof now.
    connections = sa.table("azure_connections", sa.column("status"), sa.column("status_reason"))
    op.execute(
        connections.update()
        .where(connections.c.status.in_(("CONSENT_GRANTED", "CONNECTED", "DEGRADED")))
        .values(status="PROOF_REQUIRED", status_reason=PROOF_REQUIRED_REASON)
    )
    # Consent states issued before the proof existed can no longer complete a consent.
    consent_requests = sa.table("consent_requests", sa.column("used_at"), sa.column("expires_at"))
    op.execute(
        consent_requests.update()
        .where(consent_requests.c.used_at.is_(None))
        .values(used_at=consent_requests.c.expires_at)
    )


def downgrade() -> None:
    connections = sa.table("azure_connections", sa.column("status"))
    op.execute(
        connections.update().where(connections.c.status == "PROOF_REQUIRED").values(status="CONSENT_GRANTED")
    )
    with op.batch_alter_table("azure_connections", schema=None) as batch_op:
        batch_op.drop_column("admin_object_id")
        batch_op.drop_column("admin_proven_by")
        batch_op.drop_column("admin_proven_at")
    with op.batch_alter_table("sign_in_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sign_in_requests_account_id"))
    op.drop_table("sign_in_requests")
    with op.batch_alter_table("organization_bindings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_organization_bindings_account_id"))
    op.drop_table("organization_bindings")
