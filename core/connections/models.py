"""A connection is one account's link to one Azure DevOps organization, with its consent and diagnosis."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from core.db.columns import new_id, timestamp, utcnow


class ConnectionStatus(enum.StrEnum):
    PENDING_CONSENT = "PENDING_CONSENT"
    CONSENT_GRANTED = "CONSENT_GRANTED"
    CONNECTED = "CONNECTED"
    DEGRADED = "DEGRADED"
    DISCONNECTED = "DISCONNECTED"


class DiscoveryStatus(enum.StrEnum):
    NEVER = "NEVER"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


class AzureConnection(SQLModel, table=True):
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


class ConsentRequest(SQLModel, table=True):
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
