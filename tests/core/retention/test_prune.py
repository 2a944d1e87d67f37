"""Each table's retention keeps exactly what it should: rows either side of each window, the latest scan run
of each repository and scanner, each connection's latest posture run, open findings; a dry run counts the
same rows and changes nothing; a second prune deletes nothing."""

from datetime import date, timedelta

from sqlalchemy import func, select
from sqlmodel import col

from core.audit.models import AuditEvent
from core.connections.models import ConsentRequest, SignInRequest
from core.db import session_scope
from core.digests.models import DigestOutbox
from core.findings.models import Finding
from core.findings.trends import daily_trend
from core.history.models import HistoryOccurrence
from core.jobs.models import Job
from core.posture.models import PostureRun
from core.retention.service import OAUTH_STATES, prune
from core.scans.models import ScanRun
from core.slack.models import SlackDelivery, SlackLinkCode, SlackSubscription
from tests.core.retention.rows import insert

MINUTE = timedelta(minutes=1)


def days(n: float) -> timedelta:
    return timedelta(days=n)


async def ids(db, model) -> set:
    key = model.__table__.primary_key.columns.values()[0]
    async with db() as session:
        return set((await session.exec(select(key))).scalars())


async def seed_windows(db, owned, now) -> dict[str, dict[str, set]]:
    """For each table: the rows that must go and the rows that must stay."""
    expect: dict[str, dict[str, set]] = {}

    def note(table: str, key, goes: bool) -> None:
        expect.setdefault(table, {"gone": set(), "kept": set()})["gone" if goes else "kept"].add(key)

    async with session_scope(db) as session:
        for status, finished, goes in [
            ("done", now - days(7) - MINUTE, True),
            ("failed", now - days(7) - MINUTE, True),
            ("done", now - days(7) + MINUTE, False),
            ("queued", None, False),
            ("running", None, False),
        ]:
            row = await insert(
                session, Job, kind="k", status=status, finished_at=finished, dedupe_key=None, lock=None
            )
            note("jobs", row["id"], goes)
        for received, goes in [(now - days(30) - MINUTE, True), (now - days(30) + MINUTE, False)]:
            note(
                "slack_deliveries", (await insert(session, SlackDelivery, received_at=received))["key"], goes
            )
        subscription = await insert(session, SlackSubscription, account_id=owned.account_id, disabled_at=None)
        for status, created, goes in [
            ("sent", now - days(30) - MINUTE, True),
            ("sent", now - days(30) + MINUTE, False),
            ("pending", now - days(60), False),  # never delivered yet: not a finished delivery
        ]:
            row = await insert(
                session, DigestOutbox, subscription_id=subscription["id"], status=status, created_at=created
            )
            note("digest_outbox", row["id"], goes)
        for expires, goes in [(now - MINUTE, True), (now + MINUTE, False)]:
            naive = expires.replace(tzinfo=None)  # as slack_sdk stores it
            note("slack_oauth_states", (await insert(session, OAUTH_STATES, expire_at=naive))["id"], goes)
            row = await insert(
                session,
                SignInRequest,
                account_id=owned.account_id,
                connection_id=owned.connection_id,
                expires_at=expires,
            )
            note("sign_in_requests", row["id"], goes)
            row = await insert(session, SlackLinkCode, account_id=owned.account_id, expires_at=expires)
            note("slack_link_codes", row["id"], goes)
            row = await insert(
                session,
                ConsentRequest,
                account_id=owned.account_id,
                connection_id=owned.connection_id,
                expires_at=expires,
                page_expires_at=None,
            )
            note("consent_requests", row["id"], goes)
        for created, goes in [(now - days(400) - MINUTE, True), (now - days(400) + MINUTE, False)]:
            row = await insert(session, AuditEvent, account_id=owned.account_id, created_at=created)
            note("audit_events", row["id"], goes)
        # Posture: the connection's two old runs; the newer of them is not its latest (a recent one is).
        for created, status, goes in [
            (now - days(90) - MINUTE, "SUCCEEDED", True),
            (now - days(95), "RUNNING", False),  # never finished: not pruned
            (now - days(90) + MINUTE, "FAILED", False),
        ]:
            row = await insert(
                session,
                PostureRun,
                account_id=owned.account_id,
                connection_id=owned.connection_id,
                status=status,
                created_at=created,
            )
            note("posture_runs", row["id"], goes)
        # Scans. Repository A: the 100-day-old run is its latest with checkov, so it stays.
        first, second = owned.repositories
        for repository, created, scanners, status, goes in [
            (first, now - days(100), {"secrets": "1", "checkov": "1"}, "SUCCEEDED", False),
            (first, now - days(95), {"secrets": "1"}, "SUCCEEDED", True),
            (first, now - days(90) - MINUTE, {"secrets": "1"}, "FAILED", True),
            (first, now - days(90) + MINUTE, {"secrets": "1"}, "SUCCEEDED", False),
            # Repository B: only old runs. The newest is its latest; a queued one is never pruned.
            (second, now - days(300), {"secrets": "1"}, "QUEUED", False),
            (second, now - days(200), {"secrets": "1"}, "SUCCEEDED", True),
            (second, now - days(150), {"secrets": "1"}, "PARTIAL", False),
        ]:
            row = await insert(
                session,
                ScanRun,
                account_id=owned.account_id,
                repository_id=repository,
                status=status,
                created_at=created,
                scanner_versions=scanners,
                batch=None,
            )
            note("scan_runs", row["id"], goes)
    return expect


async def test_each_table_keeps_exactly_what_its_window_says(db, owned, now, retention_settings):
    expect = await seed_windows(db, owned, now)
    before = {table: await table_ids(db, table) for table in expect}

    dry = await prune(db, retention_settings, now, dry_run=True)
    counted = {r.table: r.rows for r in dry.results}
    for table, rows in expect.items():
        assert counted[table] == len(rows["gone"]), table
        assert await table_ids(db, table) == before[table], f"a dry run changed {table}"

    report = await prune(db, retention_settings, now)
    pruned = {r.table: r.rows for r in report.results}
    for table, rows in expect.items():
        remaining = await table_ids(db, table)
        assert remaining == rows["kept"], table
        assert pruned[table] == len(rows["gone"]), table

    again = await prune(db, retention_settings, now)
    assert again.rows == 0


async def table_ids(db, table: str) -> set:
    from core.db.models import SQLModel
    from core.slack.stores import BOLT_METADATA

    tables = {**SQLModel.metadata.tables, **BOLT_METADATA.tables}
    sa_table = tables[table]
    key = next(iter(sa_table.primary_key.columns))
    async with db() as session:
        return set((await session.exec(select(key))).scalars())


async def seed_findings(db, owned, now) -> dict[str, str]:
    repository = owned.repositories[0]
    found = {}
    async with session_scope(db) as session:
        for name, status, first_seen, fixed, rule in [
            ("open_old", "OPEN", now - days(900), None, "SECRET-AWS"),
            ("reopened_old", "REOPENED", now - days(700), None, "SECRET-AWS"),
            ("suppressed_old", "SUPPRESSED", now - days(700), None, "SECRET-AWS"),
            ("fixed_past", "FIXED", now - days(200), now - days(90) - MINUTE, "HISTORY-SECRET-AWS"),
            ("fixed_within", "FIXED", now - days(200), now - days(90) + MINUTE, "HISTORY-SECRET-AWS"),
        ]:
            row = await insert(
                session,
                Finding,
                account_id=owned.account_id,
                repository_id=repository,
                project_id=None,
                status=status,
                severity="HIGH",
                first_seen_at=first_seen,
                fixed_at=fixed,
                rule_id=rule,
                commit="a" * 40,
                message="AWS access key in config.py",
                line=3,
                preview="AKIA… (20 chars)",
                secret_hash=name.ljust(64, "0"),
            )
            found[name] = row["id"]
            await insert(session, HistoryOccurrence, repository_id=repository, secret_hash=row["secret_hash"])
    return found


async def test_open_findings_survive_and_fixed_ones_keep_what_trends_count(
    db, owned, now, retention_settings
):
    found = await seed_findings(db, owned, now)
    today = date.today()
    async with db() as session:
        trend_before = await daily_trend(session, owned.account_id, 90, today)

    await prune(db, retention_settings, now)

    async with db() as session:
        rows = {f.id: f for f in (await session.exec(select(Finding))).scalars()}
        occurrences = set((await session.exec(select(HistoryOccurrence.secret_hash))).scalars())
        trend_after = await daily_trend(session, owned.account_id, 90, today)
    assert set(rows) == set(found.values()), "no finding row is deleted"
    for name in ("open_old", "reopened_old", "suppressed_old", "fixed_within"):
        finding = rows[found[name]]
        assert (finding.commit, finding.line, finding.preview) == ("a" * 40, 3, "AKIA… (20 chars)"), name
        assert name.ljust(64, "0") in occurrences, name
    past = rows[found["fixed_past"]]
    assert (past.commit, past.message, past.line, past.preview, past.secret_hash) == (
        "",
        "",
        None,
        None,
        None,
    )
    assert (past.severity, past.status, past.rule_id) == ("HIGH", "FIXED", "HISTORY-SECRET-AWS")
    assert "fixed_past".ljust(64, "0") not in occurrences
    assert trend_after == trend_before
    assert (await prune(db, retention_settings, now)).rows == 0


async def test_prune_with_nothing_old_deletes_nothing(db, owned, now, retention_settings):
    async with session_scope(db) as session:
        await insert(session, Job, kind="k", status="done", finished_at=now, dedupe_key=None, lock=None)
    report = await prune(db, retention_settings, now)
    assert report.rows == 0
    async with db() as session:
        assert (await session.exec(select(func.count()).select_from(Job))).scalar_one() == 1
    assert col(Job.id) is not None
