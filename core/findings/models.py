"""One findings model for every scanner, with a lifecycle: OPEN, FIXED, REOPENED, SUPPRESSED."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field

from core.db.columns import new_id, timestamp, utcnow
from core.db.table import TableModel


class FindingStatus(enum.StrEnum):
    OPEN = "OPEN"
    FIXED = "FIXED"
    REOPENED = "REOPENED"
    SUPPRESSED = "SUPPRESSED"


class Finding(TableModel, table=True):
    __tablename__ = "findings"
    __table_args__ = (
        UniqueConstraint("repository_id", "fingerprint"),
        # Posture findings carry their project (and, for repository controls, the repository too).
        UniqueConstraint("project_id", "fingerprint", name="uq_findings_project_fingerprint"),
        Index("ix_findings_account_status_severity", "account_id", "status", "severity"),
        # The console's list, newest first: a page is read in index order instead of sorting every match.
        Index("ix_findings_account_first_seen", "account_id", "first_seen_at", "id"),
        # A repository's findings newest first (the repository page), and the list by category.
        Index("ix_findings_repository_first_seen", "repository_id", "first_seen_at", "id"),
        Index("ix_findings_account_category_first_seen", "account_id", "category", "first_seen_at", "id"),
        # The Repositories page's minSeverity: "an active finding at or above" per repository, from the index.
        Index("ix_findings_repository_status_severity", "repository_id", "status", "severity"),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    account_id: str = Field(foreign_key="accounts.id", max_length=36, ondelete="CASCADE")
    # None for a posture finding about a project or one of its pipelines, connections or environments.
    repository_id: str | None = Field(
        default=None, foreign_key="azure_repositories.id", index=True, max_length=36, ondelete="CASCADE"
    )
    project_id: str | None = Field(
        default=None, foreign_key="azure_projects.id", index=True, max_length=36, ondelete="CASCADE"
    )
    scanner: str = Field(max_length=32)
    rule_id: str = Field(max_length=128)
    title: str = Field(max_length=300)
    description: str = Field(default="", max_length=2000)
    remediation: str = Field(default="", max_length=2000)
    help_uri: str = Field(default="", max_length=500)
    severity: str = Field(max_length=10)
    category: str = Field(max_length=12)
    path: str = Field(max_length=1024)
    line: int | None = None
    end_line: int | None = None
    message: str = Field(default="", max_length=1000)
    commit: str = Field(default="", max_length=64)
    fingerprint: str = Field(max_length=64)
    secret_hash: str | None = Field(default=None, max_length=64)  # keyed hash; the value is never stored
    preview: str | None = Field(default=None, max_length=40)  # e.g. "AKIA… (40 chars)"
    status: str = Field(default=FindingStatus.OPEN, max_length=10)
    first_seen_at: datetime = Field(default_factory=utcnow, sa_column=timestamp())
    last_seen_at: datetime = Field(default_factory=utcnow, sa_column=timestamp())
    fixed_at: datetime | None = Field(default=None, sa_column=timestamp(nullable=True))
    suppressed_reason: str = Field(default="", max_length=500)
    suppressed_by: str = Field(default="", max_length=320)
    suppressed_until: datetime | None = Field(default=None, sa_column=timestamp(nullable=True))
    last_run_id: str | None = Field(default=None, max_length=36)
