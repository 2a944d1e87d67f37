"""The audit trail: who started, consented, connected, refreshed, disconnected, changed a selection."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column
from sqlmodel import Field

from core.db.columns import new_id, timestamp, utcnow
from core.db.table import TableModel


class AuditEvent(TableModel, table=True):
    __tablename__ = "audit_events"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    account_id: str = Field(foreign_key="accounts.id", index=True, max_length=36, ondelete="CASCADE")
    actor: str = Field(max_length=320)  # an e-mail, a Slack user, or "system"
    action: str = Field(max_length=64)
    subject: str = Field(default="", max_length=200)
    details: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=timestamp())
