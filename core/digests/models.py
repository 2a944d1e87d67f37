"""The digest outbox: one row per (subscription, day), so a crash or restart neither loses nor repeats one."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field

from core.db.columns import new_id, timestamp, utcnow
from core.db.table import TableModel


class DigestOutbox(TableModel, table=True):
    __tablename__ = "digest_outbox"
    __table_args__ = (UniqueConstraint("subscription_id", "day"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    subscription_id: str = Field(
        foreign_key="slack_subscriptions.id", index=True, max_length=36, ondelete="CASCADE"
    )
    day: str = Field(max_length=10)  # YYYY-MM-DD (UTC) the digest covers
    channel_id: str = Field(max_length=32)
    team_id: str = Field(max_length=32)
    message: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))  # text + blocks
    status: str = Field(default="pending", max_length=10)  # pending, sending, sent, failed, dropped
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_column=timestamp())
    sent_ts: str | None = Field(default=None, max_length=32)  # Slack's message ts once posted
    last_error: str = Field(default="", max_length=300)
    created_at: datetime = Field(default_factory=utcnow, sa_column=timestamp())
