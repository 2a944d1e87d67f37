"""Findings across scans: new ones open, vanished ones are fixed, returning ones reopen.

Only scanners that succeeded in a run can fix findings: when a scanner fails, what it found before stays as
it was. Keyed by (repository, fingerprint), so a run that is retried after a crash updates instead of
duplicating. Suppressions whose expiry passed reopen.

A finding whose scanner changed how it identifies things (`RawFinding.previous_identity`: secrets scanner 3 hashes
the whole credential where 2 hashed `ghp` for every GitHub token) is carried over, see `carried_over`: no data
migration could do it, since only the hashes of the old values were ever stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.db.columns import new_id
from core.findings.models import Finding, FindingStatus
from core.scans.scanner import RawFinding, fingerprint

ACTIVE = (FindingStatus.OPEN, FindingStatus.REOPENED)


@dataclass
class Outcome:
    new: int = 0
    fixed: int = 0
    reopened: int = 0
    open: int = 0


def finding_values(raw: RawFinding, scanner: str, commit: str) -> dict:
    rule = raw.rule
    return {
        "scanner": scanner,
        "rule_id": rule.id,
        "title": rule.title[:300],
        "description": rule.rationale[:2000],
        "remediation": rule.remediation[:2000],
        "help_uri": rule.help_uri[:500],
        "severity": rule.severity,
        "category": rule.category,
        "path": raw.path[:1024],
        "line": raw.line,
        "end_line": raw.end_line,
        "message": raw.message[:1000],
        "commit": commit,
        "secret_hash": raw.secret_hash,
        "preview": raw.preview,
    }


def current_by_fingerprint(results: dict[str, list[RawFinding]]) -> dict[str, tuple[str, RawFinding]]:
    current: dict[str, tuple[str, RawFinding]] = {}
    for scanner, raws in results.items():
        for raw in raws:
            current.setdefault(fingerprint(raw.rule.id, raw.path, raw.identity), (scanner, raw))
    return current


def carried_over(
    existing: dict[str, Finding], current: dict[str, tuple[str, RawFinding]]
) -> dict[str, Finding]:
    """New fingerprint -> the stored finding it continues, for findings stored under a previous identity.

    Several new findings can share one old identity (two GitHub tokens in a file were one `ghp` finding): the old
    finding becomes the one at its stored line (else the first), keeping its status, first sighting and
    suppression; the others open as new, since nobody has reviewed them. A FIXED old finding is never carried: its
    identity cannot tell the secret that was removed from another one that appeared since, so a new secret opens
    as new rather than reopening it. An old finding that nothing continues is fixed as usual.
    """
    candidates: dict[str, list[tuple[str, RawFinding]]] = {}
    for print_, (_, raw) in current.items():
        if print_ in existing:
            continue
        for old in earlier_fingerprints(raw):
            if old not in current:  # the old identity is still a current one: that finding is itself
                candidates.setdefault(old, []).append((print_, raw))
    claims: dict[str, Finding] = {}
    for old, successors in candidates.items():
        row = existing.get(old)
        unclaimed = [s for s in successors if s[0] not in claims]  # a finding continues one stored row
        if row is None or row.status == FindingStatus.FIXED or not unclaimed:
            continue
        stored_line = row.line
        print_, _ = min(unclaimed, key=lambda s: (s[1].line != stored_line, s[1].line or 0, s[0]))
        claims[print_] = row
    return claims


def earlier_fingerprints(raw: RawFinding) -> list[str]:
    """The fingerprints this finding may be stored under from earlier scans, most likely first."""
    earlier = [fingerprint(raw.rule.id, raw.path, raw.previous_identity)] if raw.previous_identity else []
    return earlier + [fingerprint(rule_id, raw.path, identity) for rule_id, identity in raw.previous_keys]


async def record_results(
    session: AsyncSession,
    *,
    account_id: str,
    repository_id: str,
    run_id: str,
    commit: str,
    results: dict[str, list[RawFinding]],
    now: datetime,
) -> Outcome:
    """Apply one run's findings of the scanners that succeeded (`results` has one entry per such scanner)."""
    existing = {
        f.fingerprint: f
        for f in (await session.exec(select(Finding).where(Finding.repository_id == repository_id))).all()
    }
    current = current_by_fingerprint(results)
    claims = carried_over(existing, current)
    carried = {row.id for row in claims.values()}
    outcome = Outcome()
    inserts, updates = [], []
    for print_, (scanner, raw) in current.items():
        values = {**finding_values(raw, scanner, commit), "last_seen_at": now, "last_run_id": run_id}
        row = existing.get(print_) or claims.get(print_)
        if row is None:
            inserts.append(
                {
                    **values,
                    "id": new_id(),
                    "account_id": account_id,
                    "repository_id": repository_id,
                    "fingerprint": print_,
                    "status": FindingStatus.OPEN,
                    "first_seen_at": now,
                }
            )
            outcome.new += 1
            outcome.open += 1
            continue
        status = next_status(row, now)
        outcome.open += status in ACTIVE
        outcome.reopened += status == FindingStatus.REOPENED and row.status != FindingStatus.REOPENED
        updates.append(
            {
                **values,
                "id": row.id,
                "fingerprint": print_,  # a carried-over finding takes its new identity
                "status": status,
                "fixed_at": None if status != FindingStatus.FIXED else row.fixed_at,
            }
        )
    fixed = [
        row.id
        for print_, row in existing.items()
        if print_ not in current
        and row.scanner in results
        and row.status != FindingStatus.FIXED
        and row.id not in carried
    ]
    outcome.fixed = len(fixed)
    await write_changes(session, inserts, updates, fixed, now, run_id)
    return outcome


async def write_changes(session, inserts: list, updates: list, fixed: list[str], now, run_id: str) -> None:
    """A run's new findings, updated ones, and those it fixed, in bulk statements."""
    if inserts:
        await session.exec(insert(Finding), params=inserts)
    if updates:
        await session.exec(update(Finding), params=updates)
    for start in range(0, len(fixed), 5000):
        await session.exec(
            update(Finding)
            .where(col(Finding.id).in_(fixed[start : start + 5000]))
            .values(status=FindingStatus.FIXED, fixed_at=now, last_run_id=run_id)
            .execution_options(synchronize_session=False)
        )


def next_status(row: Finding, now: datetime) -> str:
    """The status of a finding seen again in this run."""
    if row.status == FindingStatus.FIXED:
        return FindingStatus.REOPENED
    if (
        row.status == FindingStatus.SUPPRESSED
        and row.suppressed_until is not None
        and row.suppressed_until <= now
    ):
        return FindingStatus.REOPENED
    return row.status
