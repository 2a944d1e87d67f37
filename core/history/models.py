"""What the history scan remembers per repository: the refs it last saw, the commits it scanned, the secrets'
occurrences. No shared disk is assumed: a worker rebuilds what it needs from these rows and one fetch."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field

from core.db.columns import new_id, timestamp, utcnow
from core.db.table import TableModel

NAME = "history"  # the history scan: its key in a run's versions and errors, its findings' scanner
UNCHANGED = "Unchanged since the last history scan: nothing fetched."  # its note on a day nothing moved


class HistoryState(TableModel, table=True):
    __tablename__ = "history_states"

    repository_id: str = Field(
        foreign_key="azure_repositories.id", primary_key=True, max_length=36, ondelete="CASCADE"
    )
    refs: dict = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False)
    )  # ref -> commit, as fetched
    scanner_version: str = Field(default="", max_length=32)
    commits_scanned: int = 0  # in all, over every run
    last_run_commits: int = 0  # scanned by the last run
    bounded: bool = False  # the first scan stopped at the configured bound (older history not scanned)
    unreachable_commits: int = 0  # scanned commits that a force-push made unreachable
    note: str = Field(default="", max_length=500)  # what the last run did, in words
    scanned_at: datetime | None = Field(default=None, sa_column=timestamp(nullable=True))
    # The first history scan: its findings are a baseline in digests, not news (core/digests/summary.py).
    first_scanned_at: datetime | None = Field(default=None, sa_column=timestamp(nullable=True))


class HistoryCommit(TableModel, table=True):
    """A commit whose added lines were scanned (so it is never scanned again)."""

    __tablename__ = "history_commits"

    repository_id: str = Field(
        foreign_key="azure_repositories.id", primary_key=True, max_length=36, ondelete="CASCADE"
    )
    commit_id: str = Field(primary_key=True, max_length=64)
    committed_at: datetime = Field(sa_column=timestamp())
    reachable: bool = True  # False once no ref leads to it any more (a force-push); its findings are kept


class HistoryOccurrence(TableModel, table=True):
    """One place a secret was added: the commit, path and line, who and when. The value is never stored."""

    __tablename__ = "history_occurrences"
    __table_args__ = (
        UniqueConstraint("repository_id", "secret_hash", "commit_id", "path", name="uq_history_occurrence"),
        Index("ix_history_occurrences_repository_hash", "repository_id", "secret_hash"),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    repository_id: str = Field(foreign_key="azure_repositories.id", max_length=36, ondelete="CASCADE")
    secret_hash: str = Field(max_length=64)
    rule_id: str = Field(max_length=128)
    preview: str = Field(default="", max_length=40)
    commit_id: str = Field(max_length=64)
    path: str = Field(max_length=1024)
    line: int | None = None
    committed_at: datetime = Field(sa_column=timestamp())
    author_name: str = Field(default="", max_length=200)  # as git records it; shown only to the account
    reachable: bool = True
    in_head: bool = False  # the secret is still in this path at the default branch's head
    found_at: datetime = Field(default_factory=utcnow, sa_column=timestamp())
