"""Posture evaluations of a connection (runs) and the latest result of each control on each resource."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field

from core.db.columns import new_id, timestamp, utcnow
from core.db.table import TableModel


class PostureRunStatus(enum.StrEnum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


class PostureRun(TableModel, table=True):
    __tablename__ = "posture_runs"
    __table_args__ = (Index("ix_posture_runs_connection_created", "connection_id", "created_at"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    account_id: str = Field(foreign_key="accounts.id", max_length=36, ondelete="CASCADE")
    connection_id: str = Field(foreign_key="azure_connections.id", max_length=36, ondelete="CASCADE")
    trigger: str = Field(default="SCHEDULE", max_length=10)
    status: str = Field(default=PostureRunStatus.QUEUED, max_length=10)
    error: str = Field(default="", max_length=500)
    passed: int = 0
    failed: int = 0
    not_evaluated: int = 0
    new_findings: int = 0
    fixed_findings: int = 0
    created_at: datetime = Field(default_factory=utcnow, sa_column=timestamp())
    started_at: datetime | None = Field(default=None, sa_column=timestamp(nullable=True))
    finished_at: datetime | None = Field(default=None, sa_column=timestamp(nullable=True))


class PostureResult(TableModel, table=True):
    """Replaced as a whole by each evaluation of the connection: always the latest state."""

    __tablename__ = "posture_results"
    __table_args__ = (
        UniqueConstraint("connection_id", "project_id", "control_id", "resource_type", "resource_id"),
        Index("ix_posture_results_project", "project_id", "status"),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    account_id: str = Field(foreign_key="accounts.id", max_length=36, ondelete="CASCADE")
    connection_id: str = Field(foreign_key="azure_connections.id", max_length=36, ondelete="CASCADE")
    project_id: str = Field(foreign_key="azure_projects.id", max_length=36, ondelete="CASCADE")
    repository_id: str | None = Field(
        default=None, foreign_key="azure_repositories.id", index=True, max_length=36, ondelete="CASCADE"
    )
    control_id: str = Field(max_length=32)
    resource_type: str = Field(max_length=16)
    resource_id: str = Field(max_length=64)
    resource_name: str = Field(max_length=256)
    status: str = Field(max_length=14)
    reason: str = Field(default="", max_length=500)
    run_id: str = Field(max_length=36)
    evaluated_at: datetime = Field(default_factory=utcnow, sa_column=timestamp())
