"""The daily run's unchanged repositories: one branch listing each, their reused runs written in bulk.

Before it queues anything, the connection job lists every selected repository's branches once
(`refs?filter=heads/`, what `git ls-remote --heads` answers, over REST). That one read serves three readers:

- the scan: a repository whose default-branch head and scanner versions are those of its last complete scan,
  whose branches are where the history scan left them, and whose stored dependencies match exactly the
  advisories they matched before, needs nothing more. Its reused run is written here, with the others', in a
  few bulk statements per connection (not some 25 per repository), and no job is queued for it;
- posture: the head and when it was listed are kept on the repository (`head_commit`, `head_listed_at`), so
  the inactive-repository control reads the date stored for that head instead of asking again
  (`core/posture/data.py`);
- the history scan: branches that did not move need no `git ls-remote`.

Anything else gets its own scan job, as before, which makes its own reads: a new head, a moved branch, a
dependency that matches a new (or a withdrawn) advisory, a suppression whose expiry passed, a last scan that
was not complete, a listing that failed, an advisory source that did not answer. What the bulk path writes is
what `reuse` would have written for the same repository: same run, same findings' values and sightings.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import insert, update
from sqlalchemy import select as select_columns  # six columns: past sqlmodel's typed overloads
from sqlmodel import col, select

from core.azure.errors import AzureError
from core.db.columns import new_id
from core.dependencies.advisories import Advisories
from core.dependencies.models import RepositoryDependency
from core.dependencies.package import Dependency
from core.discovery.models import AzureRepository
from core.findings.lifecycle import ACTIVE, finding_values
from core.findings.models import Finding, FindingStatus
from core.history.models import NAME as HISTORY
from core.history.models import UNCHANGED as HISTORY_UNCHANGED
from core.history.models import HistoryState
from core.scans.models import ScanRun, ScanStatus
from core.scans.scanner import RawFinding, ScannerError, fingerprint
from core.scans.service import DEPENDENCIES, active_scans, default_ref, dependency_of

if TYPE_CHECKING:
    from core.services import Services

log = logging.getLogger(__name__)
LISTINGS_AT_ONCE = 500  # coroutines per gather; the Azure client bounds requests in flight per organization
IDS_PER_QUERY = 500


async def list_branches(org, repositories: list[AzureRepository]) -> dict[str, dict[str, str]]:
    """Repository id -> its branches' tips. A repository whose listing failed is left out: its scan job reads
    again and reports (or retries) the failure as it always did."""

    async def one(repository: AzureRepository) -> tuple[str, dict[str, str] | None]:
        try:
            return repository.id, await org.branch_tips(repository.ado_id)
        except AzureError as error:
            log.info("branches of repository %s not listed: %s", repository.id, error.message)
            return repository.id, None

    tips: dict[str, dict[str, str]] = {}
    for start in range(0, len(repositories), LISTINGS_AT_ONCE):
        chunk = repositories[start : start + LISTINGS_AT_ONCE]
        for repository_id, listed in await asyncio.gather(*(one(r) for r in chunk)):
            if listed is not None:
                tips[repository_id] = listed
    return tips


@dataclass
class Plan:
    """The unchanged repositories of a connection and what their reused runs write."""

    versions: dict[str, str]
    open_counts: dict[str, int] = field(default_factory=dict)  # repository id -> its run's open findings
    dependency_updates: dict[str, list[dict]] = field(default_factory=dict)  # repository id -> finding rows
    history_findings: dict[str, list[str]] = field(default_factory=dict)  # repository id -> finding ids

    @property
    def repository_ids(self) -> set[str]:
        return set(self.open_counts)


def looks_unchanged(repository: AzureRepository, tips: dict[str, str] | None, versions: dict) -> bool:
    if tips is None or not repository.default_branch or repository.scan_status != ScanStatus.SUCCEEDED:
        return False
    head = tips.get(default_ref(repository))
    return bool(head) and head == repository.scanned_commit and repository.scanned_versions == versions


async def plan_unchanged(
    services: Services,
    repositories: list[AzureRepository],
    tips: dict[str, dict[str, str]],
    versions: dict[str, str],
    now: datetime,
) -> Plan:
    """Which repositories need no job, read (never written) before the connection job's transaction."""
    plan = Plan(versions)
    candidates = {r.id: r for r in repositories if looks_unchanged(r, tips.get(r.id), versions)}
    scanners = [s for s in (DEPENDENCIES, HISTORY) if s in versions]
    async with services.sessions() as session:
        if HISTORY in versions:
            await keep_unmoved_history(session, candidates, tips)
        stored = await stored_findings(session, list(candidates), scanners)
        inventories = await stored_inventories(session, list(candidates)) if DEPENDENCIES in versions else {}
    current = await current_dependency_findings(services, inventories) if DEPENDENCIES in versions else {}
    if current is None:
        return plan  # the advisory source did not answer: each job records its PARTIAL run as before
    for repository_id, repository in candidates.items():
        rows = stored.get(repository_id, [])
        if any(expired_suppression(row, now) for row in rows):
            continue  # it reopens: record_results decides, in the repository's own job
        dependency_rows = [row for row in rows if row.scanner == DEPENDENCIES]
        raws = current.get(repository_id, {})
        if DEPENDENCIES in versions and not same_findings(dependency_rows, raws):
            continue
        plan.open_counts[repository_id] = sum(row.status in ACTIVE for row in rows if live(row))
        plan.dependency_updates[repository_id] = [
            {
                **finding_values(raws[row.fingerprint], DEPENDENCIES, repository.scanned_commit),
                "id": row.id,
                # No status: seen again and unexpired, it stays as it is (lifecycle.next_status), and a
                # suppression made since this plan was read is not overwritten.
            }
            for row in dependency_rows
            if live(row)
        ]
        plan.history_findings[repository_id] = [
            row.id for row in rows if row.scanner == HISTORY and live(row)
        ]
    return plan


def live(row) -> bool:
    return row.status != FindingStatus.FIXED


def expired_suppression(row, now: datetime) -> bool:
    return (
        row.status == FindingStatus.SUPPRESSED
        and row.suppressed_until is not None
        and row.suppressed_until <= now
    )


def same_findings(rows, raws: dict[str, RawFinding]) -> bool:
    """The stored dependency findings that are not fixed are exactly today's: nothing opens, fixes or reopens."""
    return {row.fingerprint for row in rows if live(row)} == set(raws)


def chunks(ids: list[str]):
    for start in range(0, len(ids), IDS_PER_QUERY):
        yield ids[start : start + IDS_PER_QUERY]


async def keep_unmoved_history(session, candidates: dict[str, AzureRepository], tips) -> None:
    """Drop the candidates whose branches moved since their last history scan (or that have none yet)."""
    unmoved: set[str] = set()
    from core.history.service import (
        VERSION,
    )  # here, as in core.scans.service: core.history imports core.scans

    for ids in chunks(list(candidates)):
        rows = await session.exec(
            select(HistoryState.repository_id, HistoryState.refs, HistoryState.scanner_version).where(
                col(HistoryState.repository_id).in_(ids)
            )
        )
        unmoved |= {rid for rid, refs, version in rows.all() if version == VERSION and refs == tips[rid]}
    for repository_id in set(candidates) - unmoved:
        del candidates[repository_id]


async def stored_findings(session, repository_ids: list[str], scanners: list[str]) -> dict[str, list]:
    found: dict[str, list] = {}
    if not scanners:
        return found
    for ids in chunks(repository_ids):
        rows = await session.exec(
            select_columns(
                col(Finding.id),
                col(Finding.repository_id),
                col(Finding.fingerprint),
                col(Finding.scanner),
                col(Finding.status),
                col(Finding.suppressed_until),
            ).where(col(Finding.repository_id).in_(ids), col(Finding.scanner).in_(scanners))
        )
        for row in rows.all():
            found.setdefault(row.repository_id, []).append(row)
    return found


async def stored_inventories(session, repository_ids: list[str]) -> dict[str, list[Dependency]]:
    inventories: dict[str, list[Dependency]] = {rid: [] for rid in repository_ids}
    for ids in chunks(repository_ids):
        rows = await session.exec(
            select(RepositoryDependency).where(col(RepositoryDependency.repository_id).in_(ids))
        )
        for row in rows.all():
            inventories[row.repository_id].append(dependency_of(row))
    return inventories


async def current_dependency_findings(
    services: Services, inventories: dict[str, list[Dependency]]
) -> dict[str, dict[str, RawFinding]] | None:
    """Repository id -> fingerprint -> today's dependency finding, from one advisory lookup for all of them
    (the same matching `reuse` runs per repository). None when the advisory source did not answer."""
    from core.scanners.dependencies import UNREAD, vulnerable_in  # here: it imports core.scans

    packages = [d for deps in inventories.values() for d in deps if d.ecosystem != UNREAD]
    try:
        advisories = await Advisories(services.settings, services.sessions).advisories_for(packages)
    except ScannerError as error:
        log.warning("advisories unavailable; unchanged repositories get their own jobs: %s", error)
        return None
    current: dict[str, dict[str, RawFinding]] = {}
    for repository_id, deps in inventories.items():
        raws = vulnerable_in(deps, advisories)
        current[repository_id] = {fingerprint(r.rule.id, r.path, r.identity): r for r in raws}
    return current


def record_heads(
    repositories: list[AzureRepository], tips: dict[str, dict[str, str]], now: datetime
) -> list[dict]:
    """Rows for one bulk update: each listed repository's head, when it was listed, and its commit date kept
    only while the head stays where it was."""
    rows = []
    for repository in repositories:
        listed = tips.get(repository.id)
        if listed is None:
            continue
        head = listed.get(default_ref(repository), "")
        kept = repository.head_committed_at if head == repository.head_commit else None
        rows.append(
            {"id": repository.id, "head_commit": head, "head_committed_at": kept, "head_listed_at": now}
        )
    return rows


async def write_unchanged(
    session, plan: Plan, repositories: list[AzureRepository], *, trigger: str, batch: str, now: datetime
) -> set[str]:
    """The reused runs of the plan's repositories that have no scan queued or running and no run in this
    batch yet, in the caller's transaction. Returns the ids of the repositories that need no job: those, and
    every one with a run in this batch already (a redelivered connection job queues and writes nothing twice).
    """
    done = set((await session.exec(select(ScanRun.repository_id).where(ScanRun.batch == batch))).all())
    wanted = plan.repository_ids - done
    busy = set(await active_scans(session, sorted(wanted))) if wanted else set()
    quiet = [r for r in repositories if r.id in wanted and r.id not in busy]
    if not quiet:
        return done
    runs = {r.id: new_id() for r in quiet}
    await session.exec(
        insert(ScanRun), params=[run_row(plan, r, runs[r.id], trigger, batch, now) for r in quiet]
    )
    await session.exec(
        update(AzureRepository),
        params=[
            {"id": r.id, "scan_status": ScanStatus.SUCCEEDED, "scan_error": "", "last_scanned_at": now}
            for r in quiet
        ],
    )
    sightings = {"last_seen_at": now}
    dependency_rows = [
        {**row, **sightings, "last_run_id": runs[r.id]}
        for r in quiet
        for row in plan.dependency_updates[r.id]
    ]
    history_rows = [
        {"id": fid, **sightings, "last_run_id": runs[r.id]}
        for r in quiet
        for fid in plan.history_findings[r.id]
    ]
    for rows in (dependency_rows, history_rows):
        if rows:
            await session.exec(update(Finding), params=rows)
    if HISTORY in plan.versions:
        await session.exec(
            update(HistoryState),
            params=[
                {"repository_id": r.id, "last_run_commits": 0, "note": HISTORY_UNCHANGED, "scanned_at": now}
                for r in quiet
            ],
        )
    return set(runs) | done


def run_row(plan: Plan, repository: AzureRepository, run_id: str, trigger: str, batch: str, now) -> dict:
    return {
        "id": run_id,
        "account_id": repository.account_id,
        "repository_id": repository.id,
        "trigger": trigger,
        "batch": batch,
        "status": ScanStatus.SUCCEEDED,
        "commit": repository.scanned_commit,
        "reused": True,
        "scanner_versions": plan.versions,
        "scanner_errors": {},
        "error": "",
        "new_findings": 0,
        "fixed_findings": 0,
        "open_findings": plan.open_counts[repository.id],
        "created_at": now,
        "started_at": now,
        "finished_at": now,
    }
