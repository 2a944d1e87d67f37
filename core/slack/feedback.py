"""What Slack says back after the fact: a scan's outcome when it ends, failed and partial scans in `status`, and
when digests are sent.

A `/panoptica scan` leaves a `slack.scan_outcome` job behind. It looks at the run; while the run is queued or
running it looks again later (3 s, doubling to a minute, for at most a day). Once the run has ended it reports
the outcome to whoever asked, exactly once: the report's key is inserted into `slack_deliveries` in the
transaction that is committed only after Slack accepted the message, so a retried or duplicated job finds the
key and sends nothing (and a send that failed leaves no key, so the retry sends it).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from core.db.columns import utcnow
from core.discovery.models import AzureRepository
from core.findings.models import Finding
from core.jobs import service as jobs
from core.ownership import owned_by
from core.scans.models import ScanRun, ScanStatus
from core.severity import ORDER
from core.slack.models import SlackDelivery
from core.slack.payloads import WATCH_SCAN, WatchScan

if TYPE_CHECKING:
    from core.services import Services


SCAN_OUTCOME = WATCH_SCAN.name
FIRST_LOOK_SECONDS = 3.0
LONGEST_WAIT_SECONDS = 60.0
GIVE_UP_AFTER = timedelta(days=1)
ENDED = (ScanStatus.SUCCEEDED, ScanStatus.PARTIAL, ScanStatus.FAILED)


@dataclass(frozen=True)
class ScanOutcome:
    """An ended run as Slack reports it."""

    repository: str
    status: str  # SUCCEEDED, PARTIAL, FAILED; or RUNNING when we stopped waiting
    new_findings: int
    fixed_findings: int
    open_by_severity: dict[str, int]
    reason: str  # FAILED: the run's error; PARTIAL: each failed scanner and why
    run_id: str


@dataclass(frozen=True)
class ScanProblems:
    """A connection's repositories whose latest scan failed or was partial."""

    failed: int = 0
    partial: int = 0
    examples: list[tuple[str, str, str]] = field(default_factory=list)  # (repository, status, reason)


async def watch_scan(session, run_id: str, origin: dict) -> None:
    """Called in the transaction that queued (or found) the run: report its outcome to `origin` later."""
    payload = WatchScan(**origin, run_id=run_id, watch_started=utcnow().isoformat(), looks=0)
    await jobs.enqueue(session, WATCH_SCAN, payload, delay_seconds=FIRST_LOOK_SECONDS)


def outcome_key(payload: dict) -> str:
    return f"scan-outcome:{payload['run_id']}:{payload['team_id']}:{payload['user_id']}"


async def scan_outcome(session, run_id: str) -> ScanOutcome | None:
    """The run's outcome, or None while it is queued or running (or gone)."""
    run = await session.get(ScanRun, run_id)
    if run is None:
        return None
    repository = await session.get(AzureRepository, run.repository_id)
    name = repository.name if repository else run.repository_id
    if run.status not in ENDED:
        return ScanOutcome(name, run.status, 0, 0, {}, "", run.id)
    rows = await session.exec(
        select(Finding.severity, func.count())
        .where(Finding.repository_id == run.repository_id, col(Finding.status).in_(("OPEN", "REOPENED")))
        .group_by(Finding.severity)
    )
    counts = dict(rows.all())
    by_severity = {s.value: counts[s] for s in ORDER if counts.get(s)}
    return ScanOutcome(
        name, run.status, run.new_findings, run.fixed_findings, by_severity, run_reason(run), run.id
    )


def run_reason(run: ScanRun) -> str:
    if run.status == ScanStatus.FAILED:
        return run.error or "no reason recorded"
    if run.status == ScanStatus.PARTIAL:
        parts = [f"{name}: {reason}" for name, reason in sorted((run.scanner_errors or {}).items())]
        return "; ".join(parts) or run.error or "a scanner did not complete"
    return ""


async def follow_scan(
    services: Services,
    payload: dict,
    render: Callable[[ScanOutcome], dict],
    send: Callable[[Services, dict, dict], Awaitable[str]],
) -> str:
    """One look at the run (the `slack.scan_outcome` job). Returns what happened: "waiting", "reported",
    "already reported" or "gone". `render` builds the message (bot), `send` delivers it (replies.reply)."""
    async with services.sessions() as session:
        outcome = await scan_outcome(session, payload["run_id"])
    if outcome is None:
        return "gone"
    started = datetime.fromisoformat(payload["watch_started"])
    if outcome.status not in ENDED and utcnow() - started < GIVE_UP_AFTER:
        delay = min(FIRST_LOOK_SECONDS * 2 ** (payload["looks"] + 1), LONGEST_WAIT_SECONDS)
        async with services.sessions() as session:
            await jobs.enqueue(
                session,
                WATCH_SCAN,
                WatchScan(**{**payload, "looks": payload["looks"] + 1}),
                delay_seconds=delay,
            )
            await session.commit()
        return "waiting"
    async with services.sessions() as session:
        try:
            session.add(SlackDelivery(key=outcome_key(payload)))
            await session.flush()  # a second report waits here for the first one's commit, then fails
        except IntegrityError:
            return "already reported"
        await send(services, payload, render(outcome))
        await session.commit()
    return "reported"


async def scan_problems(session, account_id: str) -> dict[str, ScanProblems]:
    """Per connection id: how many repositories' latest scan FAILED or was PARTIAL, with up to three examples."""
    rows = await session.exec(
        select(
            AzureRepository.connection_id,
            AzureRepository.name,
            AzureRepository.scan_status,
            AzureRepository.scan_error,
        )
        .where(
            owned_by(AzureRepository, account_id),
            col(AzureRepository.removed_at).is_(None),
            col(AzureRepository.scan_status).in_((ScanStatus.FAILED, ScanStatus.PARTIAL)),
        )
        .order_by(col(AzureRepository.name))
    )
    found: dict[str, dict] = {}
    for connection_id, name, status, error in rows.all():
        entry = found.setdefault(connection_id, {"FAILED": 0, "PARTIAL": 0, "examples": []})
        entry[status] += 1
        if len(entry["examples"]) < 3:
            entry["examples"].append((name, status, error or "no reason recorded"))
    return {k: ScanProblems(v["FAILED"], v["PARTIAL"], v["examples"]) for k, v in found.items()}


def next_digest_at(digest_time: str, now: datetime | None = None) -> datetime:
    """When the next daily digest is built (UTC): today at `digest_time` if that is still ahead, else tomorrow."""
    now = (now or utcnow()).astimezone(UTC)
    hours, minutes = (int(part) for part in digest_time.split(":"))
    today = now.replace(hour=hours, minute=minutes, second=0, microsecond=0)
    return today if today > now else today + timedelta(days=1)
