"""Scanning one repository: incremental, isolated per scanner, resumable.

A repository whose default-branch head and scanner versions are unchanged since its last successful scan is
not downloaded again: its findings carry over and the run says so; only its stored dependency inventory is
matched again, against the advisories published since (`reuse`). Each scanner's failure is its own (the run
is PARTIAL, the other scanners' results count). A transient Azure failure retries the job; the same run row is
reused, and findings are keyed by fingerprint, so a crash mid-run never duplicates anything.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import delete, func, insert
from sqlmodel import col, select

from core.azure.errors import AzureError
from core.connections.models import AzureConnection, ConnectionStatus
from core.db import session_scope
from core.db.columns import new_id, utcnow
from core.dependencies.advisories import Advisories
from core.dependencies.models import RepositoryDependency
from core.dependencies.package import Dependency
from core.discovery.models import AzureRepository
from core.findings.lifecycle import Outcome, record_results
from core.jobs import service as jobs
from core.jobs.models import Job
from core.jobs.runner import RetryLater
from core.scans import acquisition
from core.scans.keys import secret_hash_key
from core.scans.models import ScanRun, ScanStatus
from core.scans.payloads import SCAN_REPOSITORY, ScanRepository
from core.scans.scanner import RawFinding, ScanContext, ScannerError, enabled_scanners

if TYPE_CHECKING:
    from core.services import Services


log = logging.getLogger(__name__)
DEPENDENCIES = "dependencies"  # the scanner whose findings an unchanged commit can still gain


@dataclass
class Prepared:
    run: ScanRun
    repository: AzureRepository
    connection: AzureConnection


async def queue_scan(
    session, repository: AzureRepository, trigger: str, dedupe: str | None = None, batch: str | None = None
) -> ScanRun | None:
    """A QUEUED run and its job, in the caller's transaction. None when that scan is queued already."""
    run = ScanRun(account_id=repository.account_id, repository_id=repository.id, trigger=trigger, batch=batch)
    job = await jobs.enqueue(
        session,
        SCAN_REPOSITORY,
        ScanRepository(run_id=run.id),
        dedupe_key=dedupe or f"scan:{run.id}",
        lock=f"repository:{repository.id}",  # distributed workers never scan one repository twice at once
    )
    if job is None:
        return None
    session.add(run)
    repository.scan_status = ScanStatus.QUEUED
    session.add(repository)
    return run


ACTIVE_JOB = ("queued", "running")
LOCKS_PER_QUERY = 500


async def active_scans(session, repository_ids: list[str]) -> dict[str, str]:
    """Repository id -> the run id of its scan that is queued or running.

    The job decides, not the run row: a run whose job failed for good (retries spent, a bug) may still say
    RUNNING, and must not block every later scan of its repository.
    """
    active: dict[str, str] = {}
    for start in range(0, len(repository_ids), LOCKS_PER_QUERY):
        locks = [f"repository:{rid}" for rid in repository_ids[start : start + LOCKS_PER_QUERY]]
        rows = await session.exec(
            select(Job.lock, Job.payload).where(
                Job.queue == "long",  # with the status: the claimable index, which holds few active rows
                col(Job.status).in_(ACTIVE_JOB),
                Job.kind == "scans.repository",
                col(Job.lock).in_(locks),
            )
        )
        for lock, payload in rows.all():
            active[lock.removeprefix("repository:")] = payload["run_id"]
    return active


async def queue_scans(session, repositories: list[AzureRepository], trigger: str, slot: str) -> int:
    """The fan-out of a connection scan (daily or on demand), in the caller's transaction: one scan per
    repository and slot, and none for a repository whose scan is already queued or running (pressing
    scanConnection while its repositories are still being scanned queues nothing twice). Returns how
    many were queued."""
    active = await active_scans(session, [r.id for r in repositories])
    queued = 0
    for repository in repositories:
        if repository.id in active:
            continue
        run = await queue_scan(
            session,
            repository,
            trigger,
            dedupe=f"scan:{repository.id}:{slot}",
            batch=connection_batch(repository.connection_id, slot),
        )
        queued += run is not None
    return queued


async def scan_repository_job(services: Services, payload: ScanRepository) -> None:
    await scan_repository(services, payload.run_id)


async def scan_repository(services: Services, run_id: str) -> ScanRun | None:

    prepared = await start_run(services, run_id)
    if prepared is None:
        return None
    run, repo, connection = prepared.run, prepared.repository, prepared.connection
    org = services.azure.organization(connection.organization, connection.tenant_id)
    scanners = enabled_scanners(services.settings.scanners)
    versions = scan_versions(services.settings)
    try:
        # Every branch in one read: the default branch's head, and the tips the history scan starts from.
        tips = await org.branch_tips(repo.ado_id)
    except AzureError as error:
        return await fail_or_retry(services, run, repo, error)
    head = tips.get(default_ref(repo))
    if head is None:
        return await finish(
            services, run, repo, ScanStatus.FAILED, error="The default branch no longer exists."
        )
    if head == repo.scanned_commit and versions == repo.scanned_versions:
        return await reuse(services, run, repo, head, versions, connection, tips)
    results, errors = {}, {}
    try:
        async with acquisition.acquire(org, repo.ado_id, repo.default_branch or "") as root:
            context = ScanContext(
                root=root,
                secret_key=secret_hash_key(services.settings),
                timeout_seconds=services.settings.scan_timeout_seconds,
                advisories=Advisories(services.settings, services.sessions),
            )
            for scanner in scanners:
                try:
                    results[scanner.name] = await scanner.scan(context)
                except ScannerError as error:
                    errors[scanner.name] = str(error)[:300]
                    log.warning("scanner %s failed on repository %s: %s", scanner.name, repo.id, error)
    except acquisition.ArchiveRejected as error:
        return await finish(services, run, repo, ScanStatus.FAILED, commit=head, error=str(error))
    except AzureError as error:
        return await fail_or_retry(services, run, repo, error)
    await history_step(services, repo, connection, versions, results, errors, tips)
    status = ScanStatus.SUCCEEDED if not errors else ScanStatus.PARTIAL if results else ScanStatus.FAILED
    inventory = context.options.get("inventory") if DEPENDENCIES in results else None
    return await finish(
        services,
        run,
        repo,
        status,
        commit=head,
        versions=versions,
        results=results,
        errors=errors,
        inventory=inventory,
    )


async def reuse(
    services: Services,
    run: ScanRun,
    repo: AzureRepository,
    head: str,
    versions: dict,
    connection=None,
    tips: dict[str, str] | None = None,
) -> ScanRun:
    """An unchanged commit: nothing downloaded, but its stored inventory meets the advisories published since
    (and the history scan looks for new commits on other branches: nothing fetched when none moved)."""
    results, errors = {}, {}
    if DEPENDENCIES in versions:
        from core.scanners.dependencies import vulnerable  # here: core.scanners imports core.scans

        try:
            deps = await stored_inventory(services, repo.id)
            results[DEPENDENCIES] = await vulnerable(deps, Advisories(services.settings, services.sessions))
        except ScannerError as error:
            errors[DEPENDENCIES] = str(error)[:300]
            log.warning("advisories for repository %s unavailable: %s", repo.id, error)
    if connection is not None:
        await history_step(services, repo, connection, versions, results, errors, tips)
    status = ScanStatus.PARTIAL if errors else ScanStatus.SUCCEEDED
    return await finish(
        services,
        run,
        repo,
        status,
        commit=head,
        reused=True,
        versions=versions,
        results=results,
        errors=errors,
    )


def default_ref(repository: AzureRepository) -> str:
    """The full name of the repository's default branch ("refs/heads/main"), as the refs list names it."""
    return f"refs/heads/{(repository.default_branch or '').removeprefix('refs/heads/')}"


def scan_versions(settings) -> dict[str, str]:
    """What a run records as its scanners' versions (the history scan's included): an unchanged head is
    reused only while these are the versions of its last complete scan."""
    return {s.name: s.version for s in enabled_scanners(settings.scanners)} | history_version(settings)


def history_version(settings) -> dict[str, str]:
    """The history scan (core/history) is a step of its own: it needs the git URL and the token, not the
    extracted archive, so it is not a `Scanner`; it shares the run, its versions, errors and lifecycle."""
    if not settings.history_enabled:
        return {}
    from core.history.service import NAME, VERSION  # here: core.history imports core.scanners

    return {NAME: VERSION}


async def history_step(
    services: Services, repo, connection, versions: dict, results: dict, errors: dict, tips=None
) -> None:
    """Every secret of the repository's history into `results["history"]` (so none is fixed by a head scan),
    or the reason it could not be read into `errors` (PARTIAL: its findings stay as they were)."""
    from core.history.service import NAME, HistoryRejected, scan_history

    if NAME not in versions:
        return
    try:
        key = secret_hash_key(services.settings)
        outcome = await scan_history(services, repo, connection, key, refs=tips)
    except (HistoryRejected, ScannerError, AzureError) as error:
        errors[NAME] = str(getattr(error, "reason", None) or getattr(error, "message", None) or error)[:300]
        log.warning("history scan of repository %s failed: %s", repo.id, errors[NAME])
        return
    results[NAME] = outcome.findings


async def stored_inventory(services: Services, repository_id: str) -> list[Dependency]:
    async with services.sessions() as session:
        rows = (
            await session.exec(
                select(RepositoryDependency).where(RepositoryDependency.repository_id == repository_id)
            )
        ).all()
    return [dependency_of(r) for r in rows]


def dependency_of(row: RepositoryDependency) -> Dependency:
    """A stored inventory row as the matcher reads it."""
    return Dependency(row.ecosystem, row.name, row.version, row.purl, row.path, row.line, row.direct)


async def replace_inventory(session, repository_id: str, deps: list[Dependency]) -> None:
    await session.exec(
        delete(RepositoryDependency).where(col(RepositoryDependency.repository_id) == repository_id)
    )
    rows = [
        {
            "id": new_id(),
            "repository_id": repository_id,
            "ecosystem": d.ecosystem,
            "name": d.name[:300],
            "version": d.version[:200],
            "purl": d.purl[:600],
            "path": d.path[:1024],
            "line": d.line,
            "direct": d.direct,
        }
        for d in deps
    ]
    for start in range(0, len(rows), 1000):
        await session.exec(insert(RepositoryDependency), params=rows[start : start + 1000])


async def start_run(services: Services, run_id: str) -> Prepared | None:
    async with session_scope(services.sessions) as session:
        run = await session.get(ScanRun, run_id)
        if run is None or run.status in (ScanStatus.SUCCEEDED, ScanStatus.PARTIAL, ScanStatus.FAILED):
            return None  # finished (or removed) already: a duplicate delivery of the job does nothing
        repo = await session.get(AzureRepository, run.repository_id)
        connection = await session.get(AzureConnection, repo.connection_id) if repo else None
        if repo is None or connection is None:
            return None
        if connection.status not in (ConnectionStatus.CONNECTED, ConnectionStatus.DEGRADED):
            # Never read code for a connection that no administrator proved for this account (or moved away).
            run.status, run.finished_at = ScanStatus.FAILED, utcnow()
            run.error = f"Not scanned: the connection is {connection.status.lower().replace('_', ' ')}."
            session.add(run)
            return None
        if repo.removed_at is not None or repo.excluded_reason is not None or not repo.selected:
            reason = f"Not scanned: repository is {(repo.excluded_reason or 'not selected').lower().replace('_', ' ')}."
            run.status, run.error, run.finished_at = ScanStatus.FAILED, reason, utcnow()
            session.add(run)
            return None
        run.status, run.started_at = ScanStatus.RUNNING, run.started_at or utcnow()
        repo.scan_status = ScanStatus.RUNNING
        session.add_all([run, repo])
    return Prepared(run, repo, connection)


async def fail_or_retry(services: Services, run: ScanRun, repo: AzureRepository, error: AzureError):
    if error.retryable:
        raise RetryLater(error.message, retry_after=error.retry_after)
    return await finish(services, run, repo, ScanStatus.FAILED, error=error.message)


async def finish(
    services: Services,
    run: ScanRun,
    repo: AzureRepository,
    status: str,
    *,
    commit: str = "",
    error: str = "",
    reused: bool = False,
    versions: dict | None = None,
    results: dict[str, list[RawFinding]] | None = None,
    errors: dict[str, str] | None = None,
    inventory: list[Dependency] | None = None,
) -> ScanRun:
    now = utcnow()
    async with session_scope(services.sessions) as session:
        stored_run, stored_repo = (
            await session.get(ScanRun, run.id),
            await session.get(AzureRepository, repo.id),
        )
        assert (
            stored_run is not None and stored_repo is not None
        )  # both outlive the run that records into them
        run, repo = stored_run, stored_repo
        outcome = Outcome()
        if results:
            outcome = await record_results(
                session,
                account_id=repo.account_id,
                repository_id=repo.id,
                run_id=run.id,
                commit=commit,
                results=results,
                now=now,
            )
        if inventory is not None:
            await replace_inventory(session, repo.id, inventory)
        if errors:
            error = "; ".join(f"{name}: {reason}" for name, reason in sorted(errors.items()))
        run.status, run.commit, run.reused, run.error = status, commit, reused, error[:500]
        run.scanner_versions, run.scanner_errors = versions or {}, errors or {}
        run.new_findings, run.fixed_findings, run.open_findings = outcome.new, outcome.fixed, outcome.open
        run.finished_at = now
        repo.scan_status, repo.scan_error, repo.last_scanned_at = status, error[:500], now
        if status == ScanStatus.SUCCEEDED:
            # Only a complete scan lets the next run skip an unchanged commit.
            repo.scanned_commit, repo.scanned_versions = commit, versions or {}
        session.add_all([run, repo])
    return run


async def latest_run(session, repository_id: str) -> ScanRun | None:
    query = (
        select(ScanRun).where(ScanRun.repository_id == repository_id).order_by(col(ScanRun.created_at).desc())
    )
    return (await session.exec(query)).first()


# --- progress -----------------------------------------------------------------------------------------------
FINISHED = (ScanStatus.SUCCEEDED, ScanStatus.PARTIAL, ScanStatus.FAILED)
CONNECTION_SCAN_JOB = "scans.connection"


def connection_batch(connection_id: str, slot: str) -> str:
    """What a connection scan's runs carry (`ScanRun.batch`): its connection and slot (one job per slot)."""
    return f"{connection_id}:{slot}"[:120]


@dataclass
class ScannerOutcome:
    scanner: str
    status: str  # SUCCEEDED or FAILED
    error: str = ""


def scanner_outcomes(run: ScanRun) -> list[ScannerOutcome]:
    """What each scanner of a finished run did (none yet while it is queued or running)."""
    errors = run.scanner_errors or {}
    names = sorted(set(run.scanner_versions or {}) | set(errors))
    return [
        ScannerOutcome(name, "FAILED" if name in errors else "SUCCEEDED", str(errors.get(name, "")))
        for name in names
    ]


@dataclass
class ScannerTally:
    scanner: str
    succeeded: int = 0
    failed: int = 0


@dataclass
class ConnectionScanProgress:
    """A connection scan (a job: verification, discovery, then one run per selected repository)."""

    id: str
    connection_id: str
    trigger: str
    status: str  # QUEUED, RUNNING, SUCCEEDED, PARTIAL, FAILED
    phase: str  # QUEUED, VERIFYING (verification and discovery), SCANNING, FINISHED
    repositories_total: int | None  # None until discovery queued the runs
    repositories_done: int
    runs_by_status: dict[str, int]
    scanners: list[ScannerTally]
    message: str
    created_at: object
    finished_at: object | None


async def connection_scan_job(session, job_id: str) -> Job | None:
    job = await session.get(Job, job_id)
    return job if job is not None and job.kind == CONNECTION_SCAN_JOB else None


async def connection_scan_progress(session, job: Job) -> ConnectionScanProgress:
    """Two statements: the runs' statuses counted, then the finished runs' scanner outcomes."""
    connection_id = job.payload["connection_id"]
    batch = connection_batch(connection_id, job.payload.get("slot", ""))
    grouped = await session.exec(
        select(ScanRun.status, func.count(), func.max(ScanRun.finished_at))
        .where(ScanRun.batch == batch)
        .group_by(ScanRun.status)
    )
    by_status: dict[str, int] = {}
    last_finished = None
    for status, count, finished in grouped.all():
        by_status[status] = count
        if finished is not None and (last_finished is None or finished > last_finished):
            last_finished = finished
    total = sum(by_status.values())
    done = sum(by_status.get(s, 0) for s in FINISHED)
    tallies: dict[str, ScannerTally] = {}
    if done:
        rows = await session.exec(
            select(ScanRun.scanner_versions, ScanRun.scanner_errors).where(
                ScanRun.batch == batch, col(ScanRun.status).in_(FINISHED)
            )
        )
        for versions, errors in rows.all():
            for name in set(versions or {}) | set(errors or {}):
                tally = tallies.setdefault(name, ScannerTally(name))
                if name in (errors or {}):
                    tally.failed += 1
                else:
                    tally.succeeded += 1
    status, phase, message = connection_scan_state(job, by_status, total, done)
    return ConnectionScanProgress(
        id=job.id,
        connection_id=connection_id,
        trigger="MANUAL" if job.payload.get("slot", "").startswith("manual") else "SCHEDULE",
        status=status,
        phase=phase,
        repositories_total=total if total or job.status in ("done", "failed") else None,
        repositories_done=done,
        runs_by_status=by_status,
        scanners=sorted(tallies.values(), key=lambda t: t.scanner),
        message=message,
        created_at=job.created_at,
        finished_at=(last_finished or job.finished_at) if phase == "FINISHED" else None,
    )


def connection_scan_state(job: Job, by_status: dict[str, int], total: int, done: int) -> tuple[str, str, str]:
    if job.status == "queued" and not total:
        return ScanStatus.QUEUED, "QUEUED", "Waiting for a worker."
    if job.status == "failed":
        return ScanStatus.FAILED, "FINISHED", job.last_error or "The connection scan failed."
    if job.status in ("queued", "running") and not total:
        return ScanStatus.RUNNING, "VERIFYING", "Verifying access and discovering repositories."
    if done < total:
        return ScanStatus.RUNNING, "SCANNING", f"{done} of {total} repositories scanned."
    if not total:
        return (
            ScanStatus.SUCCEEDED,
            "FINISHED",
            "Nothing to scan: no selected repository, a verification that failed (see the connection's "
            "checks), or every repository was already being scanned.",
        )
    failed, partial = by_status.get(ScanStatus.FAILED, 0), by_status.get(ScanStatus.PARTIAL, 0)
    if failed == total:
        return ScanStatus.FAILED, "FINISHED", f"All {total} repository scans failed."
    if failed or partial:
        return ScanStatus.PARTIAL, "FINISHED", f"{total} repositories: {failed} failed, {partial} partial."
    return ScanStatus.SUCCEEDED, "FINISHED", f"{total} repositories scanned."
