"""The history scan of one repository: fetch what is new over git, scan each new commit's added lines once,
and answer one finding per (repository, secret hash) for the run's lifecycle.

Steps (each cheaper than the next, and skipped when it can be):
1. `ls-remote` (one request, no pack): branches and their tips. The same tips and scanner version as the last
   run: nothing is fetched, the stored findings stand.
2. A shallow fetch of every branch: the first scan back to `history_max_days`; a later one back to just before
   the oldest tip it knew, so only new commits (and their parents' trees) arrive. When a branch was rewritten
   (force-push) or a new branch reaches below that window, the same repository is deepened to the bound.
3. The commits not scanned before (at most `history_max_commits`, newest first) through `git log -p`, each added
   line read by the head scan's detectors (patches.py). Recorded per repository (`history_commits`), so no commit
   is scanned twice, on any worker.
4. Whether each secret is still at the default branch's head (the head's version of its paths, same detectors).

Commits a force-push made unreachable are marked so, with their occurrences: their findings stay open, since
the secret was published all the same. A history finding is never fixed by a later scan: removing the secret
from the files does not make it safe, so the remediation is to rotate it, and suppression (with a reason such
as "rotated", or an expiry) is how it leaves the list.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import and_, func, insert, update
from sqlmodel import col, select

from core.db import session_scope
from core.db.columns import new_id, utcnow
from core.history.fetch import Git, HistoryLimits, HistoryRejected, clone_url
from core.history.models import NAME, UNCHANGED, HistoryCommit, HistoryOccurrence, HistoryState
from core.history.patches import Occurrence, PatchStats, added_files, scan_added, secrets_in_files
from core.scanners import secrets as head_scan
from core.scans.models import ScanRun
from core.scans.scanner import RawFinding, Rule

if TYPE_CHECKING:
    from core.services import Services


# Changes with the head scan's detectors: a new detector rescans history once (every commit again). 2: merge
# commits' own changes (conflict resolutions) are scanned too.
VERSION = f"2+secrets.{head_scan.SecretsScanner.version}"
MARGIN = timedelta(hours=1)  # a later fetch starts this long before the oldest known tip (clock skew)
ROTATE = (
    "Rotate the credential (revoke it and issue a new one) and update what uses it: deleting it from the files, "
    "or even rewriting the history, does not make it safe, since every clone and fork still holds it. Then "
    'suppress this finding with the reason (e.g. "rotated").'
)


@dataclass
class HistoryOutcome:
    findings: list[RawFinding]  # every secret ever found in the repository's history, one per hash
    fetched: bool = False
    commits_scanned: int = 0
    bytes_fetched: int = 0
    bounded: bool = False
    unreachable: int = 0
    note: str = ""
    stats: PatchStats = field(default_factory=PatchStats)


@dataclass
class GitWork:
    """What the git part of a run found (computed in a thread, written to the database afterwards)."""

    refs: dict[str, str]
    fetched: bool = False
    bytes_fetched: int = 0
    scanned: list[tuple[str, datetime]] = field(default_factory=list)
    occurrences: list[Occurrence] = field(default_factory=list)
    unreachable: set[str] = field(default_factory=set)
    in_head: set[tuple[str, str]] | None = None  # (path, hash) at the default branch's head; None: unchanged
    bounded: bool = False
    stats: PatchStats = field(default_factory=PatchStats)


async def scan_history(
    services: Services,
    repository,
    connection,
    key: bytes,
    *,
    limits: HistoryLimits = HistoryLimits(),
    refs: dict[str, str] | None = None,
) -> HistoryOutcome:
    """HistoryRejected (a reason safe to show) when git could not fetch or a limit was reached.

    `refs`: the branches' tips when the caller just listed them over REST (the same answer as `git ls-remote
    --heads`, one request instead of git's two); None lists them with git."""
    settings = services.settings
    token = await services.tokens.get_token(connection.tenant_id)
    url = clone_url(
        settings.azure_devops_url, connection.organization, repository.project_name, repository.name
    )
    state, known, paths = await load(services, repository.id)
    git = Git(url, token, settings.ca_bundle, limits)
    try:
        work = await asyncio.to_thread(
            run_git_work,
            git,
            state,
            known,
            key,
            default_ref=f"refs/heads/{(repository.default_branch or 'main').removeprefix('refs/heads/')}",
            since=datetime.now(UTC) - timedelta(days=settings.history_max_days),
            max_commits=settings.history_max_commits,
            timeout=settings.scan_timeout_seconds,
            known_paths=paths,
            listed=refs,
        )
    finally:
        git.close()
    await store(services, repository.id, state, work)
    findings = await history_findings(services, repository.id)
    return HistoryOutcome(
        findings,
        fetched=work.fetched,
        commits_scanned=len(work.scanned),
        bytes_fetched=work.bytes_fetched,
        bounded=work.bounded,
        unreachable=len(work.unreachable),
        note=describe(work),
        stats=work.stats,
    )


def describe(work: GitWork) -> str:
    if not work.fetched:
        return UNCHANGED
    words = f"{len(work.scanned)} new commit(s) scanned, {len(work.occurrences)} secret occurrence(s) found"
    if work.bounded:
        words += "; stopped at the history bound (older commits not scanned)"
    if work.unreachable:
        words += f"; {len(work.unreachable)} scanned commit(s) no longer reachable (rewritten history)"
    return words + "."


async def load(services: Services, repository_id: str):
    """The repository's state, its scanned commits (id -> (date, reachable)) and its occurrences' paths."""
    async with services.sessions() as session:
        state = await session.get(HistoryState, repository_id)
        rows = await session.exec(
            select(HistoryCommit.commit_id, HistoryCommit.committed_at, HistoryCommit.reachable).where(
                HistoryCommit.repository_id == repository_id
            )
        )
        known = {commit: (when, reachable) for commit, when, reachable in rows.all()}
        paths = set(
            (
                await session.exec(
                    select(HistoryOccurrence.path).where(HistoryOccurrence.repository_id == repository_id)
                )
            ).all()
        )
    return state, known, paths


def run_git_work(
    git: Git,
    state: HistoryState | None,
    known: dict[str, tuple[datetime, bool]],
    key: bytes,
    *,
    default_ref: str,
    since: datetime,
    max_commits: int,
    timeout: float,
    known_paths: frozenset[str] | set[str] = frozenset(),
    listed: dict[str, str] | None = None,
) -> GitWork:
    refs = git.remote_heads() if listed is None else git.checked_heads(listed)
    work = GitWork(refs)
    if state is not None and state.refs == refs and state.scanner_version == VERSION:
        return work
    work.fetched = True
    if not refs:
        work.in_head = set()
        return work
    first = state is None or not known or state.scanner_version != VERSION
    previous_refs: dict[str, str] = state.refs if state is not None else {}  # read only when not first
    window = since if first else max(since, oldest_tip(previous_refs, known) - MARGIN)
    git.fetch(window)
    if not first and needs_deeper(git, previous_refs, known, window):
        git.fetch(since)  # deepen the same repository to the bound: rewritten or older history
        window = since
    reachable = git.commits(max_commits + 1 if first else 10 * max_commits)
    # Stopped at the bound: more commits than allowed, or history older than `since` that was not fetched.
    work.bounded = len(reachable) > max_commits or (
        window == since and bool(git.shallow_commits() - set(known))
    )
    reachable_ids = {commit for commit, _ in reachable}
    todo = [(c, when) for c, when in reachable if c not in known or first][:max_commits]
    if window == since:
        # Everything inside the bound was listed: what is known there but not reachable was rewritten away.
        work.unreachable = {
            c for c, (when, ok) in known.items() if ok and when >= since and c not in reachable_ids
        }
    deadline = time.monotonic() + timeout
    work.occurrences = list(
        scan_added(added_files(git.patches([c for c, _ in todo]), work.stats), key, work.stats, deadline)
    )
    work.scanned = todo
    work.bytes_fetched = git.fetched_bytes()
    head = refs.get(default_ref)
    if head is not None:
        work.in_head = head_secrets(git, head, {o.path for o in work.occurrences} | set(known_paths), key)
    return work


def oldest_tip(refs: dict[str, str], known: dict[str, tuple[datetime, bool]]) -> datetime:
    dates = [known[c][0] for c in refs.values() if c in known]
    return min(dates) if dates else datetime.now(UTC)


def needs_deeper(git: Git, old_refs: dict[str, str], known: dict, window: datetime) -> bool:
    """A tip of the last run that the new fetch cannot reach (a force-push or a deleted branch), or a shallow
    boundary commit never scanned (a new branch from older history): the window is not enough."""
    listed = {c for c, _ in git.commits(10_000_000)} | git.shallow_commits()
    if any(tip not in listed for tip in old_refs.values()):
        return True
    return any(c not in known for c in git.shallow_commits())


def head_secrets(git: Git, head: str, paths: set[str], key: bytes) -> set[tuple[str, str]]:
    """(path, hash) of the secrets in the head's version of the occurrences' paths."""
    contents = git.read_blobs([f"{head}:{path}" for path in sorted(paths)])
    return secrets_in_files({spec.split(":", 1)[1]: data for spec, data in contents.items()}, key)


async def store(services: Services, repository_id: str, state: HistoryState | None, work: GitWork) -> None:
    now = utcnow()
    async with session_scope(services.sessions) as session:
        row = await session.get(HistoryState, repository_id) or HistoryState(repository_id=repository_id)
        if work.scanned:
            rows = [
                {"repository_id": repository_id, "commit_id": c, "committed_at": when, "reachable": True}
                for c, when in work.scanned
            ]
            existing = set(
                (
                    await session.exec(
                        select(HistoryCommit.commit_id).where(HistoryCommit.repository_id == repository_id)
                    )
                ).all()
            )
            rows = [r for r in rows if r["commit_id"] not in existing]
            for start in range(0, len(rows), 1000):
                await session.exec(insert(HistoryCommit), params=rows[start : start + 1000])
        await add_occurrences(session, repository_id, work.occurrences, now)
        if work.unreachable:
            ids = sorted(work.unreachable)
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                for table in (HistoryCommit, HistoryOccurrence):
                    await session.exec(
                        update(table)
                        .where(col(table.repository_id) == repository_id, col(table.commit_id).in_(chunk))
                        .values(reachable=False)
                        .execution_options(synchronize_session=False)
                    )
        if work.in_head is not None:
            await mark_in_head(session, repository_id, work.in_head)
        if work.fetched:
            row.refs = work.refs
            row.scanner_version = VERSION
            row.commits_scanned += len(work.scanned)
            row.last_run_commits = len(work.scanned)
            row.bounded = row.bounded or work.bounded
            row.unreachable_commits += len(work.unreachable)
        else:
            row.last_run_commits = 0
        row.note = describe(work)[:500]
        row.scanned_at = now
        row.first_scanned_at = row.first_scanned_at or now
        session.add(row)


async def add_occurrences(session, repository_id: str, found: list[Occurrence], now) -> None:
    seen = set(
        (
            await session.exec(
                select(
                    HistoryOccurrence.secret_hash, HistoryOccurrence.commit_id, HistoryOccurrence.path
                ).where(HistoryOccurrence.repository_id == repository_id)
            )
        ).all()
    )
    rows = []
    for o in found:
        if (o.secret_hash, o.commit, o.path) in seen:
            continue
        seen.add((o.secret_hash, o.commit, o.path))
        rows.append(
            {
                "id": new_id(),
                "repository_id": repository_id,
                "secret_hash": o.secret_hash,
                "rule_id": o.rule_id[:128],
                "preview": o.preview[:40],
                "commit_id": o.commit,
                "path": o.path[:1024],
                "line": o.line,
                "committed_at": o.committed_at,
                "author_name": o.author[:200],
                "reachable": True,
                "in_head": False,
                "found_at": now,
            }
        )
    for start in range(0, len(rows), 1000):
        await session.exec(insert(HistoryOccurrence), params=rows[start : start + 1000])


async def mark_in_head(session, repository_id: str, present: set[tuple[str, str]]) -> None:
    rows = (
        await session.exec(select(HistoryOccurrence).where(HistoryOccurrence.repository_id == repository_id))
    ).all()
    for row in rows:
        now_in_head = (row.path, row.secret_hash) in present
        if row.in_head != now_in_head:
            row.in_head = now_in_head
            session.add(row)


# --- findings -----------------------------------------------------------------------------------------------
RULES = {rule.id: rule for rule in head_scan.RULES}


def history_rule(rule_id: str) -> Rule:
    """The head rule's counterpart for a secret found in history (its own id: SARIF rules are per id)."""
    base = RULES.get(rule_id) or Rule(rule_id, "A credential", "HIGH", "SECRET")
    return Rule(
        id=f"HISTORY-{base.id}"[:128],
        title=f"{base.title} in git history",
        severity=base.severity,
        category="SECRET",
        rationale=(
            f"{base.rationale} It was committed: whoever can clone the repository (or any clone or fork made "
            "since) can read it from the history, even after it was deleted from the files."
        ).strip(),
        remediation=ROTATE,
        help_uri=base.help_uri,
    )


async def history_findings(services: Services, repository_id: str) -> list[RawFinding]:
    """One finding per secret hash, at its first occurrence (oldest commit), whatever happened since."""
    async with services.sessions() as session:
        rows = (
            await session.exec(
                select(HistoryOccurrence)
                .where(HistoryOccurrence.repository_id == repository_id)
                .order_by(
                    col(HistoryOccurrence.committed_at), HistoryOccurrence.commit_id, HistoryOccurrence.path
                )
            )
        ).all()
    by_hash: dict[str, list[HistoryOccurrence]] = {}
    for row in rows:
        by_hash.setdefault(row.secret_hash, []).append(row)
    return [finding_of(occurrences) for occurrences in by_hash.values()]


def finding_of(occurrences: list[HistoryOccurrence]) -> RawFinding:
    first = occurrences[0]
    where = "still in the head" if any(o.in_head for o in occurrences) else "only in history"
    rule = history_rule(first.rule_id)
    return RawFinding(
        rule,
        first.path,
        first.line,
        message=(
            f"{rule.title}: added in commit {first.commit_id[:12]} on {first.committed_at:%Y-%m-%d}, "
            f"{len(occurrences)} occurrence(s), {where}."
        )[:1000],
        identity=f"history:{first.secret_hash}",
        secret_hash=first.secret_hash,
        preview=first.preview,
    )


async def occurrences(session, repository_id: str, secret_hash: str) -> list[HistoryOccurrence]:
    """A finding's occurrences, oldest first (for the API: commit, path, line, date, author, head or history)."""
    return list(
        (
            await session.exec(
                select(HistoryOccurrence)
                .where(
                    HistoryOccurrence.repository_id == repository_id,
                    HistoryOccurrence.secret_hash == secret_hash,
                )
                .order_by(col(HistoryOccurrence.committed_at), HistoryOccurrence.commit_id)
            )
        ).all()
    )


async def occurrences_of(
    session, keys: list[tuple[str, str]]
) -> dict[tuple[str, str], list[HistoryOccurrence]]:
    """(repository id, secret hash) -> its occurrences, oldest first, for many findings in one statement (the
    API's loader: a page of findings costs one query whatever its size)."""
    found: dict[tuple[str, str], list[HistoryOccurrence]] = {key: [] for key in keys}
    if not keys:
        return found
    rows = await session.exec(
        select(HistoryOccurrence)
        .where(
            col(HistoryOccurrence.repository_id).in_(sorted({r for r, _ in keys})),
            col(HistoryOccurrence.secret_hash).in_(sorted({h for _, h in keys})),
        )
        .order_by(col(HistoryOccurrence.committed_at), HistoryOccurrence.commit_id, HistoryOccurrence.path)
    )
    for row in rows.all():
        if (row.repository_id, row.secret_hash) in found:
            found[(row.repository_id, row.secret_hash)].append(row)
    return found


# --- what the console's repository page says about the history scan ---------------------------------------------
@dataclass
class HistorySummary:
    """A repository's history scan: how much was read, whether it stopped before the repository's beginning
    (at the configured bound, or at a limit: `reason`), and the oldest commit it read (where it stopped)."""

    commits_scanned: int = 0
    last_run_commits: int = 0
    stopped_at_bound: bool = False
    reason: str | None = None
    last_commit: str | None = None
    last_commit_at: datetime | None = None
    unreachable_commits: int = 0
    note: str = ""
    scanned_at: datetime | None = None


def bound_reason(max_days: int, max_commits: int) -> str:
    return (
        f"The first history scan stopped at the bound ({max_days:,} days or {max_commits:,} commits, whichever "
        "came first: PANOPTICA_HISTORY_MAX_DAYS, PANOPTICA_HISTORY_MAX_COMMITS); older commits were not scanned."
    )


async def history_summaries(
    session, repository_ids: list[str], *, max_days: int, max_commits: int
) -> dict[str, HistorySummary]:
    """Repository id -> its summary (absent: never scanned for history), in three statements for any number of
    repositories: the states, the oldest commit scanned of each, and each one's latest finished run (whose
    history error, a limit or a refusal, is the reason it stopped)."""
    ids = sorted(set(repository_ids))
    if not ids:
        return {}
    states = {
        s.repository_id: s
        for s in (
            await session.exec(select(HistoryState).where(col(HistoryState.repository_id).in_(ids)))
        ).all()
    }
    oldest = (
        select(HistoryCommit.repository_id, func.min(HistoryCommit.committed_at).label("at"))
        .where(col(HistoryCommit.repository_id).in_(ids))
        .group_by(HistoryCommit.repository_id)
        .subquery()
    )
    first_commits: dict[str, tuple[str, datetime]] = {}
    for repository_id, commit, when in (
        await session.exec(
            select(HistoryCommit.repository_id, HistoryCommit.commit_id, HistoryCommit.committed_at)
            .join(
                oldest,
                and_(
                    col(HistoryCommit.repository_id) == oldest.c.repository_id,
                    col(HistoryCommit.committed_at) == oldest.c.at,
                ),
            )
            .order_by(HistoryCommit.commit_id)
        )
    ).all():
        first_commits.setdefault(repository_id, (commit, when))
    latest = (
        select(ScanRun.repository_id, func.max(ScanRun.finished_at).label("at"))
        .where(col(ScanRun.repository_id).in_(ids), col(ScanRun.finished_at).is_not(None))
        .group_by(ScanRun.repository_id)
        .subquery()
    )
    errors = {
        repository_id: (scanner_errors or {}).get(NAME)
        for repository_id, scanner_errors in (
            await session.exec(
                select(ScanRun.repository_id, ScanRun.scanner_errors).join(
                    latest,
                    and_(
                        col(ScanRun.repository_id) == latest.c.repository_id,
                        col(ScanRun.finished_at) == latest.c.at,
                    ),
                )
            )
        ).all()
    }
    found = {}
    for repository_id in ids:
        state, error = states.get(repository_id), errors.get(repository_id)
        if state is None and not error:
            continue
        summary = HistorySummary(reason=error or None)
        if state is not None:
            commit, when = first_commits.get(repository_id, (None, None))
            summary.commits_scanned = state.commits_scanned
            summary.last_run_commits = state.last_run_commits
            summary.stopped_at_bound = state.bounded
            summary.last_commit, summary.last_commit_at = commit, when
            summary.unreachable_commits = state.unreachable_commits
            summary.note = state.note
            summary.scanned_at = state.scanned_at
            if summary.reason is None and state.bounded:
                summary.reason = bound_reason(max_days, max_commits)
        found[repository_id] = summary
    return found


__all__ = [
    "NAME",
    "VERSION",
    "HistoryOutcome",
    "HistoryRejected",
    "HistorySummary",
    "history_summaries",
    "occurrences",
    "scan_history",
]
