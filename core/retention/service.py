"""Retention: each growing table's rules, applied in bounded batches.

Every rule deletes (or, for fixed findings, clears) at most `batch_size` rows per statement and commits
between batches, so no statement holds its row locks for long and the API and workers keep working while a
prune runs. Rules only touch finished rows (finished jobs, runs that are not queued or running, expired
requests), so a prune is safe while workers run, and running it twice deletes nothing the second time.
A dry run counts what would go, per table, and changes nothing.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import (
    BigInteger,
    Column,
    MetaData,
    String,
    Table,
    and_,
    cast,
    delete,
    exists,
    func,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import Tuple
from sqlmodel import col

from core.accounts.session_models import ConsoleSignIn
from core.audit.models import AuditEvent
from core.connections.models import ConsentRequest, SignInRequest
from core.db import session_scope
from core.digests.models import DigestOutbox
from core.findings.models import Finding, FindingStatus
from core.history.models import HistoryOccurrence
from core.jobs.distributed import TASK
from core.jobs.models import Job
from core.posture.models import PostureRun, PostureRunStatus
from core.scans.models import ScanRun, ScanStatus
from core.settings import Settings
from core.slack.models import SlackDelivery, SlackLinkCode
from core.slack.stores import BOLT_METADATA, OAUTH_STATES_TABLE

FINISHED_JOBS = ("done", "failed")
UNFINISHED_SCANS = (ScanStatus.QUEUED, ScanStatus.RUNNING)
UNFINISHED_POSTURE = (PostureRunStatus.QUEUED, PostureRunStatus.RUNNING)
FINISHED_DIGESTS = ("sent", "failed", "dropped")
# Repositories whose scan runs are weighed per batch (each brings all its runs, to find its latest ones).
SCAN_REPOSITORIES_PER_BATCH = 200


@dataclass
class TableResult:
    """What one rule did (or, in a dry run, would do) to one table."""

    table: str
    rule: str
    rows: int = 0
    statements: int = 0
    longest_statement_seconds: float = 0.0
    statement_seconds: list[float] = field(default_factory=list, repr=False)  # each statement's, in order

    def timed(self, seconds: float) -> None:
        self.statements += 1
        self.longest_statement_seconds = max(self.longest_statement_seconds, seconds)
        self.statement_seconds.append(seconds)


@dataclass
class PruneReport:
    dry_run: bool
    results: list[TableResult] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(r.rows for r in self.results)

    @property
    def longest_statement_seconds(self) -> float:
        return max((r.longest_statement_seconds for r in self.results), default=0.0)


@dataclass(frozen=True)
class Context:
    sessions: async_sessionmaker
    settings: Settings
    now: datetime
    dry_run: bool

    @property
    def batch(self) -> int:
        return self.settings.retention_batch_size

    def days_ago(self, days: int) -> datetime:
        return self.now - timedelta(days=days)


async def prune(
    sessions: async_sessionmaker, settings: Settings, now: datetime, dry_run: bool = False
) -> PruneReport:
    """Apply every retention rule once. Each rule commits its own batches; a dry run changes nothing."""
    context = Context(sessions, settings, now, dry_run)
    report = PruneReport(dry_run=dry_run)
    for rule in RULES:
        outcome = await rule(context)
        report.results.extend(outcome if isinstance(outcome, list) else [outcome])
    return report


# --- the generic bounded delete --------------------------------------------------------------------------


async def delete_batches(context: Context, result: TableResult, table, key, where) -> TableResult:
    """DELETE ... WHERE key IN (SELECT key ... WHERE `where` LIMIT batch), one committed batch at a time.

    `key` is a column or a tuple of columns (the primary key). Stops at the first short batch."""
    if context.dry_run:
        async with context.sessions() as session:
            started = time.perf_counter()
            result.rows = (
                await session.exec(select(func.count()).select_from(table).where(where))
            ).scalar_one()
            result.timed(time.perf_counter() - started)
        return result
    while True:
        columns = key.clauses if isinstance(key, Tuple) else [key]  # a composite key: its columns
        chosen = select(*columns).where(where).limit(context.batch)
        async with session_scope(context.sessions) as session:
            started = time.perf_counter()
            deleted = (await session.exec(delete(table).where(key.in_(chosen)))).rowcount
            result.timed(time.perf_counter() - started)
        result.rows += deleted
        if deleted < context.batch:
            return result


def simple(table, rule: str, where: Callable[[Context], object], key=None):
    """A rule that deletes the rows of `table` matching `where(context)`."""
    name = table.name if isinstance(table, Table) else table.__tablename__
    sa_table = table if isinstance(table, Table) else table.__table__

    async def apply(context: Context) -> TableResult:
        pk = key if key is not None else primary_key(sa_table)
        return await delete_batches(context, TableResult(name, rule), sa_table, pk, where(context))

    apply.__name__ = f"prune_{name}"
    return apply


def primary_key(table: Table):
    columns = list(table.primary_key.columns)
    return columns[0] if len(columns) == 1 else tuple_(*columns)


# --- the rules -------------------------------------------------------------------------------------------

OAUTH_STATES = BOLT_METADATA.tables[OAUTH_STATES_TABLE]

prune_jobs = simple(
    Job,
    "finished (done or failed) more than retention_jobs_days ago",
    lambda c: and_(
        col(Job.status).in_(FINISHED_JOBS), col(Job.finished_at) < c.days_ago(c.settings.retention_jobs_days)
    ),
)
prune_deliveries = simple(
    SlackDelivery,
    "received more than retention_deliveries_days ago",
    lambda c: SlackDelivery.received_at < c.days_ago(c.settings.retention_deliveries_days),
)
prune_digest_outbox = simple(
    DigestOutbox,
    "sent, failed or dropped, created more than retention_deliveries_days ago",
    lambda c: and_(
        col(DigestOutbox.status).in_(FINISHED_DIGESTS),
        col(DigestOutbox.created_at) < c.days_ago(c.settings.retention_deliveries_days),
    ),
)
# Bolt's table stores naive UTC times (slack_sdk writes datetime.utcfromtimestamp).
prune_oauth_states = simple(
    OAUTH_STATES, "expired", lambda c: OAUTH_STATES.c.expire_at < c.now.astimezone(UTC).replace(tzinfo=None)
)
prune_sign_in_requests = simple(SignInRequest, "expired", lambda c: SignInRequest.expires_at < c.now)
prune_console_sign_ins = simple(ConsoleSignIn, "expired", lambda c: ConsoleSignIn.expires_at < c.now)
prune_consent_requests = simple(
    ConsentRequest,
    "expired (and its consent page too)",
    lambda c: and_(
        col(ConsentRequest.expires_at) < c.now,
        or_(col(ConsentRequest.page_expires_at).is_(None), col(ConsentRequest.page_expires_at) < c.now),
    ),
)
prune_link_codes = simple(SlackLinkCode, "expired", lambda c: SlackLinkCode.expires_at < c.now)
prune_audit_events = simple(
    AuditEvent,
    "recorded more than retention_audit_days ago",
    lambda c: AuditEvent.created_at < c.days_ago(c.settings.retention_audit_days),
)


def older_posture_run(c: Context):
    newer = aliased(PostureRun)
    return and_(
        col(PostureRun.created_at) < c.days_ago(c.settings.retention_posture_runs_days),
        col(PostureRun.status).not_in(UNFINISHED_POSTURE),
        # Never the connection's latest run (the posture page shows it).
        exists().where(
            col(newer.connection_id) == col(PostureRun.connection_id),
            col(newer.created_at) > col(PostureRun.created_at),
        ),
    )


prune_posture_runs = simple(
    PostureRun,
    "finished more than retention_posture_runs_days ago, except each connection's latest",
    older_posture_run,
)


async def prune_scan_runs(context: Context) -> TableResult:
    """Finished runs older than the window, except each repository's latest run for each scanner (and its
    latest run at all): the repository page and the scanners' last results stay. Which run is the latest for
    a scanner is read from `scanner_versions` in Python (the same on both databases), a batch of
    repositories at a time."""
    result = TableResult(
        "scan_runs",
        "finished more than retention_scan_runs_days ago, except the latest per repository and scanner",
    )
    cutoff = context.days_ago(context.settings.retention_scan_runs_days)
    after = ""
    while True:
        async with context.sessions() as session:
            started = time.perf_counter()
            repositories = list(
                (
                    await session.exec(
                        select(col(ScanRun.repository_id))
                        .where(col(ScanRun.created_at) < cutoff, col(ScanRun.repository_id) > after)
                        .group_by(col(ScanRun.repository_id))
                        .order_by(col(ScanRun.repository_id))
                        .limit(SCAN_REPOSITORIES_PER_BATCH)
                    )
                ).scalars()
            )
            if not repositories:
                return result
            runs = (
                await session.exec(
                    select(
                        col(ScanRun.id),
                        col(ScanRun.repository_id),
                        col(ScanRun.created_at),
                        col(ScanRun.status),
                        col(ScanRun.scanner_versions),
                    ).where(col(ScanRun.repository_id).in_(repositories))
                )
            ).all()
            result.timed(time.perf_counter() - started)
        doomed = removable_scan_runs(runs, cutoff)
        result.rows += len(doomed)
        if not context.dry_run:
            for start in range(0, len(doomed), context.batch):
                chunk = doomed[start : start + context.batch]
                async with session_scope(context.sessions) as session:
                    started = time.perf_counter()
                    await session.exec(delete(ScanRun).where(col(ScanRun.id).in_(chunk)))
                    result.timed(time.perf_counter() - started)
        after = repositories[-1]


def removable_scan_runs(runs, cutoff: datetime) -> list[str]:
    """Of these runs (id, repository_id, created_at, status, scanner_versions), the ids that may go."""
    newest_first = sorted(runs, key=lambda r: (r.created_at, r.id), reverse=True)
    kept: set[str] = set()
    seen: set[tuple[str, str]] = set()
    for run in newest_first:
        keys = [(run.repository_id, "")] + [(run.repository_id, s) for s in (run.scanner_versions or {})]
        for key in keys:
            if key not in seen:
                seen.add(key)
                kept.add(run.id)
    return [
        r.id for r in runs if r.id not in kept and r.created_at < cutoff and r.status not in UNFINISHED_SCANS
    ]


async def prune_fixed_findings(context: Context) -> list[TableResult]:
    """Fixed findings past the window lose their occurrence details; the row stays, with what trends count
    (severity, first seen, fixed at, status, repository), so the console's trends do not change. Open,
    reopened and suppressed findings are never touched by age."""
    cutoff = context.days_ago(context.settings.retention_fixed_findings_days)
    past = and_(col(Finding.status) == FindingStatus.FIXED, col(Finding.fixed_at) < cutoff)
    occurrences = TableResult(
        "history_occurrences", "of fixed history findings past retention_fixed_findings_days"
    )
    of_fixed = (
        select(col(Finding.id))
        .where(
            past,
            col(Finding.rule_id).like("HISTORY-%"),
            col(Finding.repository_id) == col(HistoryOccurrence.repository_id),
            col(Finding.secret_hash) == col(HistoryOccurrence.secret_hash),
        )
        .exists()
    )
    await delete_batches(context, occurrences, HistoryOccurrence.__table__, HistoryOccurrence.id, of_fixed)
    details = TableResult("findings", "details of findings fixed more than retention_fixed_findings_days ago")
    has_details = or_(
        col(Finding.commit) != "",
        col(Finding.message) != "",
        col(Finding.line).is_not(None),
        col(Finding.end_line).is_not(None),
        col(Finding.preview).is_not(None),
        col(Finding.secret_hash).is_not(None),
    )
    where = and_(past, has_details)
    if context.dry_run:
        await delete_batches(context, details, Finding.__table__, Finding.id, where)  # counts only
        return [occurrences, details]
    cleared = {
        "commit": "",
        "message": "",
        "line": None,
        "end_line": None,
        "preview": None,
        "secret_hash": None,
    }
    while True:
        chosen = select(col(Finding.id)).where(where).limit(context.batch)
        async with session_scope(context.sessions) as session:
            started = time.perf_counter()
            changed = (
                await session.exec(update(Finding).where(col(Finding.id).in_(chosen)).values(**cleared))
            ).rowcount
            details.timed(time.perf_counter() - started)
        details.rows += changed
        if changed < context.batch:
            return [occurrences, details]


def procrastinate_jobs() -> Table:
    """The columns of procrastinate's job table that the rule reads (it is not one of our models)."""
    return Table(
        "procrastinate_jobs",
        MetaData(),
        Column("id", BigInteger, primary_key=True),
        Column("task_name", String),
        Column("status", String),
        Column("args", JSONB),
    )


PROCRASTINATE_JOBS = procrastinate_jobs()


async def prune_procrastinate(context: Context) -> TableResult:
    """PostgreSQL: procrastinate's rows of our jobs once our job is finished or gone. With
    PANOPTICA_JOB_RUNNER=inprocess nothing else would ever remove them (no worker runs them); with workers,
    their hourly prune keeps its own rows too. A row a worker is running (`doing`) is never touched."""
    result = TableResult("procrastinate_jobs", "of jobs finished or deleted")
    async with context.sessions() as session:
        if session.bind.dialect.name != "postgresql":
            return result
    table = PROCRASTINATE_JOBS
    pending = (
        select(col(Job.id))
        .where(col(Job.id) == table.c.args["job_id"].astext, col(Job.status).in_(("queued", "running")))
        .exists()
    )
    where = and_(table.c.task_name == TASK, cast(table.c.status, String) != "doing", ~pending)
    return await delete_batches(context, result, table, table.c.id, where)


async def prune_findings(context: Context) -> list[TableResult]:
    return await prune_fixed_findings(context)


Rule = Callable[[Context], Awaitable[TableResult | list[TableResult]]]
RULES: tuple[Rule, ...] = (
    prune_jobs,
    prune_procrastinate,
    prune_deliveries,
    prune_digest_outbox,
    prune_oauth_states,
    prune_sign_in_requests,
    prune_console_sign_ins,
    prune_consent_requests,
    prune_link_codes,
    prune_scan_runs,
    prune_posture_runs,
    prune_findings,
    prune_audit_events,
)
