"""Scan runs: one per repository per trigger, with its outcome and what each scanner did."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field

from core.db.columns import new_id, timestamp, utcnow
from core.db.table import TableModel


class ScanStatus(enum.StrEnum):
    NEVER_SCANNED = "NEVER_SCANNED"
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    PARTIAL = "PARTIAL"
    FAILED = "FAILED"


class ScanRun(TableModel, table=True):
    __tablename__ = "scan_runs"
    __table_args__ = (
        Index("ix_scan_runs_repository_created", "repository_id", "created_at"),
        Index("ix_scan_runs_batch", "batch"),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    account_id: str = Field(foreign_key="accounts.id", index=True, max_length=36, ondelete="CASCADE")
    repository_id: str = Field(foreign_key="azure_repositories.id", max_length=36, ondelete="CASCADE")
    trigger: str = Field(default="SCHEDULE", max_length=10)  # SCHEDULE or MANUAL
    # The connection scan that queued it ("{connection id}:{slot}"), so that scan's progress is countable.
    batch: str | None = Field(default=None, max_length=120)
    status: str = Field(default=ScanStatus.QUEUED, max_length=14)
    commit: str = Field(default="", max_length=64)
    reused: bool = False  # unchanged commit and scanner versions: nothing downloaded, findings carried over
    scanner_versions: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    scanner_errors: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    error: str = Field(default="", max_length=500)
    new_findings: int = 0
    fixed_findings: int = 0
    open_findings: int = 0
    created_at: datetime = Field(default_factory=utcnow, sa_column=timestamp())
    started_at: datetime | None = Field(default=None, sa_column=timestamp(nullable=True))
    finished_at: datetime | None = Field(default=None, sa_column=timestamp(nullable=True))
