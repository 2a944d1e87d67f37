"""A connection is one account's link to one Azure DevOps organization, with its consent and diagnosis."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field

from core.db.columns import new_id, timestamp, utcnow
from core.db.table import TableModel


class ConnectionStatus(enum.StrEnum):
    PENDING_CONSENT = "PENDING_CONSENT"
    # Made before an administrator's proof was required: neither verified nor scanned until one signs in.
    PROOF_REQUIRED = "PROOF_REQUIRED"
    CONSENT_GRANTED = "CONSENT_GRANTED"
    CONNECTED = "CONNECTED"
    DEGRADED = "DEGRADED"
    DISCONNECTED = "DISCONNECTED"


class DiscoveryStatus(enum.StrEnum):
    NEVER = "NEVER"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


class AzureConnection(TableModel, table=True):
    __tablename__ = "azure_connections"
    __table_args__ = (UniqueConstraint("account_id", "organization"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    account_id: str = Field(foreign_key="accounts.id", index=True, max_length=36, ondelete="CASCADE")
    organization: str = Field(max_length=50)
    tenant_id: str = Field(max_length=36)
    status: str = Field(default=ConnectionStatus.PENDING_CONSENT, max_length=20)
    status_reason: str = Field(default="", max_length=500)
    created_by: str = Field(max_length=320)
    created_at: datetime = Field(default_factory=utcnow, sa_column=timestamp())
    consented_at: datetime | None = Field(default=None, sa_column=timestamp(nullable=True))
    consented_by: str | None = Field(default=None, max_length=320)
    connected_at: datetime | None = Field(default=None, sa_column=timestamp(nullable=True))
    last_verified_at: datetime | None = Field(default=None, sa_column=timestamp(nullable=True))
    # The last diagnosis: a list of {code, status, message, remediation}.
    checks: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    discovery_status: str = Field(default=DiscoveryStatus.NEVER, max_length=20)
    discovery_error: str = Field(default="", max_length=500)
    discovered_at: datetime | None = Field(default=None, sa_column=timestamp(nullable=True))
    # Who proved to be an administrator of the organization (Entra sign-in at its tenant, then Azure
    # DevOps' own permission check), and when. Without it the connection is never verified or scanned.
    admin_proven_at: datetime | None = Field(default=None, sa_column=timestamp(nullable=True))
    admin_proven_by: str | None = Field(default=None, max_length=320)
    admin_object_id: str | None = Field(default=None, max_length=36)


class OrganizationBinding(TableModel, table=True):
    """An Azure DevOps organization belongs to at most one account: the one whose administrator proved it.

    The primary key is the organization's (lowercase) name, so two accounts racing to bind it cannot both
    win. Deleting the connection (disconnect) frees the organization.
    """

    __tablename__ = "organization_bindings"

    organization: str = Field(primary_key=True, max_length=50)
    account_id: str = Field(foreign_key="accounts.id", index=True, max_length=36, ondelete="CASCADE")
    connection_id: str = Field(
        foreign_key="azure_connections.id", unique=True, max_length=36, ondelete="CASCADE"
    )
    bound_at: datetime = Field(default_factory=utcnow, sa_column=timestamp())
    bound_by: str = Field(max_length=320)


class SignInRequest(TableModel, table=True):
    """One Entra ID sign-in (authorization code flow with PKCE) proving an administrator.

    MSAL's flow (state, nonce, PKCE verifier) stays server-side, single use, 15 minutes; only the state's
    hash finds it. `move` asks to take the organization over from another account.
    """

    __tablename__ = "sign_in_requests"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    state_hash: str = Field(max_length=64, unique=True)
    account_id: str = Field(foreign_key="accounts.id", index=True, max_length=36, ondelete="CASCADE")
    connection_id: str = Field(foreign_key="azure_connections.id", max_length=36, ondelete="CASCADE")
    user_email: str = Field(max_length=320)
    flow: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    move: bool = False
    created_at: datetime = Field(default_factory=utcnow, sa_column=timestamp())
    expires_at: datetime = Field(sa_column=timestamp())
    used_at: datetime | None = Field(default=None, sa_column=timestamp(nullable=True))


class ConsentRequest(TableModel, table=True):
    """One admin-consent round trip. `state` is random, single use, short-lived, bound to account and user."""

    __tablename__ = "consent_requests"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    state_hash: str = Field(max_length=64, unique=True)
    account_id: str = Field(foreign_key="accounts.id", index=True, max_length=36, ondelete="CASCADE")
    connection_id: str = Field(foreign_key="azure_connections.id", max_length=36, ondelete="CASCADE")
    user_email: str = Field(max_length=320)
    created_at: datetime = Field(default_factory=utcnow, sa_column=timestamp())
    expires_at: datetime = Field(sa_column=timestamp())
    used_at: datetime | None = Field(default=None, sa_column=timestamp(nullable=True))
    # After the callback, the admin's browser holds this (as an HttpOnly cookie) to press Connect on the page.
    page_token_hash: str | None = Field(default=None, max_length=64, unique=True)
    page_expires_at: datetime | None = Field(default=None, sa_column=timestamp(nullable=True))
