"""Console sign-in: who may use an account's console, the sign-ins in flight, and the sessions they opened."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field

from core.db.columns import new_id, timestamp, utcnow
from core.db.table import TableModel


class AccountMember(TableModel, table=True):
    """A person (Entra tenant id and object id, never the changeable sign-in name) who may use an account."""

    __tablename__ = "account_members"
    __table_args__ = (UniqueConstraint("tenant_id", "object_id", "account_id"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    account_id: str = Field(foreign_key="accounts.id", index=True, max_length=36, ondelete="CASCADE")
    tenant_id: str = Field(max_length=36)
    object_id: str = Field(max_length=36)
    upn: str = Field(max_length=320)
    created_at: datetime = Field(default_factory=utcnow, sa_column=timestamp())


class ConsoleSignIn(TableModel, table=True):
    """One console sign-in in flight: MSAL's flow kept server-side under its state's hash, single use,
    bound to the browser that started it (the hash of a cookie set then), so a callback URL sent to someone
    else signs nobody in (login CSRF)."""

    __tablename__ = "console_sign_ins"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    state_hash: str = Field(max_length=64, unique=True)
    browser_hash: str = Field(max_length=64)
    flow: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    next_path: str = Field(default="/", max_length=1000)
    created_at: datetime = Field(default_factory=utcnow, sa_column=timestamp())
    expires_at: datetime = Field(sa_column=timestamp())
    used_at: datetime | None = Field(default=None, sa_column=timestamp(nullable=True))


class ConsoleSession(TableModel, table=True):
    """A signed-in browser: only the hash of its cookie is stored."""

    __tablename__ = "console_sessions"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    token_hash: str = Field(max_length=64, unique=True)
    account_id: str = Field(foreign_key="accounts.id", index=True, max_length=36, ondelete="CASCADE")
    member_id: str = Field(foreign_key="account_members.id", index=True, max_length=36, ondelete="CASCADE")
    upn: str = Field(max_length=320)
    created_at: datetime = Field(default_factory=utcnow, sa_column=timestamp())
    expires_at: datetime = Field(sa_column=timestamp())
    revoked_at: datetime | None = Field(default=None, sa_column=timestamp(nullable=True))
