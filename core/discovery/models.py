"""What discovery found: projects and repositories, kept (with `removed_at`) when they disappear."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, Index, String, UniqueConstraint, text
from sqlmodel import Field

from core.db.columns import new_id, timestamp, utcnow
from core.db.table import TableModel


class AzureProject(TableModel, table=True):
    __tablename__ = "azure_projects"
    __table_args__ = (UniqueConstraint("connection_id", "ado_id"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    connection_id: str = Field(foreign_key="azure_connections.id", max_length=36, ondelete="CASCADE")
    ado_id: str = Field(max_length=36)
    name: str = Field(max_length=64)
    visibility: str = Field(default="private", max_length=10)
    discovered_at: datetime = Field(default_factory=utcnow, sa_column=timestamp())
    removed_at: datetime | None = Field(default=None, sa_column=timestamp(nullable=True))


class AzureRepository(TableModel, table=True):
    __tablename__ = "azure_repositories"
    __table_args__ = (
        UniqueConstraint("connection_id", "ado_id"),
        Index("ix_azure_repositories_account_name", "account_id", "name", "id"),
        # The Repositories page never shows removed ones: its order and count from this index alone.
        Index(
            "ix_azure_repositories_account_name_present",
            "account_id",
            "name",
            "id",
            postgresql_where=text("removed_at IS NULL"),
            sqlite_where=text("removed_at IS NULL"),
        ),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    account_id: str = Field(foreign_key="accounts.id", max_length=36, ondelete="CASCADE")
    connection_id: str = Field(
        foreign_key="azure_connections.id", index=True, max_length=36, ondelete="CASCADE"
    )
    ado_id: str = Field(max_length=36)
    organization: str = Field(max_length=50)
    project_ado_id: str = Field(max_length=36)
    project_name: str = Field(max_length=64)
    name: str = Field(max_length=256)
    default_branch: str | None = Field(default=None, max_length=256)
    web_url: str = Field(default="", max_length=1024)
    size_bytes: int = 0
    visibility: str = Field(default="private", max_length=10)
    is_fork: bool = False
    is_disabled: bool = False
    is_empty: bool = False
    is_in_maintenance: bool = False
    excluded_reason: str | None = Field(default=None, max_length=32)
    selected: bool = True
    discovered_at: datetime = Field(default_factory=utcnow, sa_column=timestamp())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=timestamp())
    removed_at: datetime | None = Field(default=None, sa_column=timestamp(nullable=True))
    # The latest scan, kept on the row so the Repositories table needs no join per page.
    scan_status: str = Field(
        default="NEVER_SCANNED", sa_column=Column(String(14), nullable=False, server_default="NEVER_SCANNED")
    )
    last_scanned_at: datetime | None = Field(default=None, sa_column=timestamp(nullable=True))
    scan_error: str = Field(default="", sa_column=Column(String(500), nullable=False, server_default=""))
    scanned_commit: str = Field(default="", sa_column=Column(String(64), nullable=False, server_default=""))
    scanned_versions: dict = Field(
        default_factory=dict,
        sa_column=Column(JSON, nullable=False, default=dict, server_default=text("'{}'")),
    )
    # The default branch's head as the daily connection job last listed it (`head_listed_at`), and that commit's
    # committer date once posture read it (None until then, and again whenever the head moves).
    head_commit: str = Field(default="", sa_column=Column(String(64), nullable=False, server_default=""))
    head_committed_at: datetime | None = Field(default=None, sa_column=timestamp(nullable=True))
    head_listed_at: datetime | None = Field(default=None, sa_column=timestamp(nullable=True))
