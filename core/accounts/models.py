"""An account is one customer of the service; API tokens authenticate its console and scripts."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field

from core.db.columns import new_id, timestamp, utcnow
from core.db.table import TableModel


class Account(TableModel, table=True):
    __tablename__ = "accounts"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    name: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_column=timestamp())


class ApiToken(TableModel, table=True):
    """Only a keyed hash of the token is stored; the token itself is shown once."""

    __tablename__ = "api_tokens"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    account_id: str = Field(foreign_key="accounts.id", index=True, max_length=36, ondelete="CASCADE")
    user_email: str = Field(max_length=320)
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(default_factory=utcnow, sa_column=timestamp())
    revoked_at: datetime | None = Field(default=None, sa_column=timestamp(nullable=True))
