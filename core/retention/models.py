"""What retention and account deletion store, and the indexes their bounded batches read.

The indexes are declared here, beside the policy that needs them, on the tables they serve: each batch of
the prune finds its rows by one of them (`... WHERE finished_at < :cutoff LIMIT n`) instead of scanning the
table once per batch.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field

from core.audit.models import AuditEvent
from core.db.columns import new_id, timestamp, utcnow
from core.db.table import TableModel
from core.findings.models import Finding
from core.jobs.models import Job
from core.posture.models import PostureRun
from core.scans.models import ScanRun
from core.slack.models import SlackDelivery

RETENTION_INDEXES = (
    Index("ix_jobs_finished_at", Job.__table__.c.finished_at),
    Index("ix_scan_runs_created_at", ScanRun.__table__.c.created_at),
    Index("ix_posture_runs_created_at", PostureRun.__table__.c.created_at),
    Index("ix_audit_events_created_at", AuditEvent.__table__.c.created_at),
    Index("ix_slack_deliveries_received_at", SlackDelivery.__table__.c.received_at),
    Index("ix_findings_status_fixed_at", Finding.__table__.c.status, Finding.__table__.c.fixed_at),
)


class AccountDeletion(TableModel, table=True):
    """The audit record of a deleted account, kept outside it (the account's own audit events go with it).

    It names the account (id and name), who deleted it, when, and how many rows went from each table; no
    customer data beyond that.
    """

    __tablename__ = "account_deletions"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    deleted_account_id: str = Field(max_length=36, index=True)
    account_name: str = Field(max_length=200)
    deleted_by: str = Field(max_length=320)
    rows: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    deleted_at: datetime = Field(default_factory=utcnow, sa_column=timestamp())
