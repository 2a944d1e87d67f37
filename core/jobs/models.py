"""Durable jobs: anything that calls Azure or Slack after a request was answered is a row here first."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field

from core.db.columns import new_id, timestamp, utcnow
from core.db.table import TableModel


class Job(TableModel, table=True):
    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_claimable", "queue", "status", "run_after"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    kind: str = Field(max_length=64)
    queue: str = Field(default="quick", max_length=16)  # "quick" (Slack follow-ups, checks) or "long" (scans)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # A job with a dedupe key is enqueued once: a retried request or a duplicate event adds nothing.
    dedupe_key: str | None = Field(default=None, max_length=200, unique=True)
    # Jobs sharing a lock run one at a time (distributed workers): a repository is never scanned twice at once.
    lock: str | None = Field(default=None, max_length=120)
    status: str = Field(default="queued", max_length=10)  # queued, running, done, failed
    attempts: int = 0
    max_attempts: int = 5
    run_after: datetime = Field(default_factory=utcnow, sa_column=timestamp())
    lease_until: datetime | None = Field(default=None, sa_column=timestamp(nullable=True))
    last_error: str = Field(default="", max_length=500)
    created_at: datetime = Field(default_factory=utcnow, sa_column=timestamp())
    finished_at: datetime | None = Field(default=None, sa_column=timestamp(nullable=True))
