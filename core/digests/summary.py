"""What a daily digest says, computed by a pure function from rows already read.

`summarize` takes connections and repositories (ORM rows or anything with the same attributes) and returns a
`DigestSummary`; `load_summary` reads those rows for one subscription and calls it. Rendering lives in
`bot/digests.py`; delivery only ever sends the stored message, so adding sections here (findings, when scanning
lands) changes neither the outbox nor the delivery.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlalchemy import func, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.connections.models import AzureConnection, ConnectionStatus
from core.digests.models import DigestOutbox
from core.discovery.models import AzureProject, AzureRepository
from core.findings.models import Finding
from core.history.models import HistoryState
from core.ownership import owned_by, where_owned
from core.posture.models import PostureRun
from core.scans.models import ScanRun
from core.severity import ORDER, rank

MAX_NAMES = 10  # repository names listed per change kind; the counts are always complete
SEVERITIES = ORDER  # most severe first (core/severity.py)


@dataclass(frozen=True)
class Scope:
    organization: str = ""  # "" = every organization of the account
    project: str = ""  # "" = every project

    def covers_organization(self, organization: str) -> bool:
        return not self.organization or organization.lower() == self.organization.lower()

    def covers(self, organization: str, project: str) -> bool:
        return self.covers_organization(organization) and (
            not self.project or project.lower() == self.project.lower()
        )

    @property
    def label(self) -> str:
        if not self.organization:
            return "all organizations"
        return f"{self.organization} / {self.project}" if self.project else self.organization


@dataclass(frozen=True)
class ConnectionHealth:
    organization: str
    status: str
    failing_checks: tuple[str, ...] = ()
    last_verified_at: datetime | None = None

    @property
    def healthy(self) -> bool:
        return self.status == ConnectionStatus.CONNECTED and not self.failing_checks


@dataclass(frozen=True)
class RepositoryChange:
    organization: str
    project: str
    name: str


@dataclass(frozen=True)
class RepositorySummary:
    total: int = 0  # present (not removed) at the end of the period
    excluded: int = 0  # present but not scanned (excluded or unselected)
    new_count: int = 0
    removed_count: int = 0
    new: tuple[RepositoryChange, ...] = ()  # the first MAX_NAMES, by name
    removed: tuple[RepositoryChange, ...] = ()


@dataclass(frozen=True)
class FindingLine:
    """A finding as a digest shows it: never the secret, only the scanner's redacted preview."""

    severity: str
    title: str
    repository: str
    path: str
    line: int | None = None
    preview: str | None = None


@dataclass(frozen=True)
class FindingsSummary:
    """Filled by the scanning issue; the renderer already shows it when present."""

    new_by_severity: dict[str, int] = field(default_factory=dict)
    fixed_by_severity: dict[str, int] = field(default_factory=dict)
    open_by_severity: dict[str, int] = field(default_factory=dict)
    top_new: tuple[FindingLine, ...] = ()
    # First scans are a baseline: one line with their counts, never a list of findings.
    baseline_repositories: int = 0
    baseline_by_severity: dict[str, int] = field(default_factory=dict)
    failed_scans: tuple[str, ...] = ()  # "repo: reason" for failed or partial scans in the period
    # Of the new findings, secrets found in git history (core/history): "3 new secrets found in history".
    new_in_history: int = 0


TOP_NEW = 10


HISTORY = "history"


def baseline_key(finding) -> str | None:
    """Code findings are baselined by their repository's first scan, posture findings by their project's first
    posture evaluation (a project's first results are a baseline, not news), history findings by their
    repository's first history scan (enabled later than the first scan, it must not flood either)."""
    if finding.scanner == "posture":
        return finding.project_id
    return f"{HISTORY}:{finding.repository_id}" if finding.scanner == HISTORY else finding.repository_id


def summarize_findings(rows, first_scans: dict, failed_runs, since, until) -> FindingsSummary:
    """Pure. `rows` are (finding, repository or project name); `first_scans` maps a `baseline_key` to the end
    of that repository's first scan or that project's first posture evaluation."""
    new, fixed, open_, baseline = Counter(), Counter(), Counter(), Counter()
    baseline_repos, top = set(), []
    in_history = 0
    for finding, repository in rows:
        active = finding.status in ("OPEN", "REOPENED")
        if active:
            open_[finding.severity] += 1
        first_scan = first_scans.get(baseline_key(finding))
        in_period = since is None or finding.first_seen_at > since
        if active and in_period and first_scan is not None and finding.first_seen_at <= first_scan:
            baseline[finding.severity] += 1
            if finding.scanner != "posture":  # the line counts repositories; posture adds to its totals
                baseline_repos.add(finding.repository_id)
        elif active and in_period and finding.first_seen_at <= until:
            new[finding.severity] += 1
            in_history += finding.scanner == HISTORY
            top.append(
                FindingLine(
                    finding.severity, finding.title, repository, finding.path, finding.line, finding.preview
                )
            )
        if finding.status == "FIXED" and finding.fixed_at and (since is None or finding.fixed_at > since):
            fixed[finding.severity] += 1
    top.sort(key=lambda f: (rank(f.severity), f.repository, f.path, f.line or 0))
    failed = tuple(f"{name}: {run.error[:120]}" for run, name in failed_runs)
    return FindingsSummary(
        dict(new),
        dict(fixed),
        dict(open_),
        tuple(top[:TOP_NEW]),
        len(baseline_repos),
        dict(baseline),
        failed,
        in_history,
    )


@dataclass(frozen=True)
class DigestSummary:
    day: str  # YYYY-MM-DD (UTC)
    scope: Scope
    baseline: bool  # the first digest of this subscription: one summary line, no change lists
    since: (
        datetime | None
    )  # start of the period (the previous digest's build, or the subscription's creation)
    until: datetime
    connections: tuple[ConnectionHealth, ...]
    repositories: RepositorySummary
    min_severity: str = "HIGH"
    findings: FindingsSummary | None = None  # None until scanning feeds digests

    @property
    def unhealthy(self) -> tuple[ConnectionHealth, ...]:
        return tuple(c for c in self.connections if not c.healthy)

    @property
    def has_changes(self) -> bool:
        return bool(self.repositories.new_count or self.repositories.removed_count)


def summarize(
    *,
    day: str,
    scope: Scope,
    since: datetime | None,
    until: datetime,
    connections: Iterable,
    repositories: Iterable,
    baseline: bool,
    min_severity: str = "HIGH",
) -> DigestSummary:
    """Pure: connection health and repository counts and changes in (since, until], within `scope`.

    A repository is new when discovered in the period and still present at its end; removed when it was
    present before the period and removed within it (one that came and went in the period is neither).
    """
    health = tuple(
        sorted(
            (
                ConnectionHealth(
                    organization=c.organization,
                    status=str(c.status),
                    failing_checks=tuple(
                        str(check.get("code", ""))
                        for check in c.checks or ()
                        if check.get("status") == "FAIL"
                    ),
                    last_verified_at=c.last_verified_at,
                )
                for c in connections
                if scope.covers_organization(c.organization)
            ),
            key=lambda h: h.organization.lower(),
        )
    )

    def present(repo, at: datetime | None) -> bool:
        if at is None:
            return False
        return repo.discovered_at <= at and (repo.removed_at is None or repo.removed_at > at)

    total = excluded = 0
    new: list[RepositoryChange] = []
    removed: list[RepositoryChange] = []
    for repo in repositories:
        if not scope.covers(repo.organization, repo.project_name):
            continue
        change = RepositoryChange(repo.organization, repo.project_name, repo.name)
        now_present = present(repo, until)
        if now_present:
            total += 1
            if repo.excluded_reason or not repo.selected:
                excluded += 1
        if since is None:
            continue
        before = present(repo, since)
        if now_present and not before and repo.discovered_at > since:
            new.append(change)
        elif before and not now_present:
            removed.append(change)

    def first(changes: list[RepositoryChange]) -> tuple[RepositoryChange, ...]:
        ordered = sorted(changes, key=lambda r: (r.organization.lower(), r.project.lower(), r.name.lower()))
        return tuple(ordered[:MAX_NAMES])

    return DigestSummary(
        day=day,
        scope=scope,
        baseline=baseline,
        since=since,
        until=until,
        connections=health,
        repositories=RepositorySummary(
            total=total,
            excluded=excluded,
            new_count=len(new),
            removed_count=len(removed),
            new=first(new),
            removed=first(removed),
        ),
        min_severity=min_severity,
    )


async def previous_digest(session: AsyncSession, subscription_id: str, day: str) -> DigestOutbox | None:
    """The subscription's latest digest before `day` (whatever became of it: the period is what was built)."""
    query = (
        select(DigestOutbox)
        .where(DigestOutbox.subscription_id == subscription_id, DigestOutbox.day < day)
        .order_by(col(DigestOutbox.day).desc())
        .limit(1)
    )
    return (await session.exec(query)).first()


async def load_summary(session: AsyncSession, subscription, day: str, until: datetime) -> DigestSummary:
    """Reads what `summarize` needs for one subscription: its account's connections and repositories in scope.

    The period starts where the previous digest's was cut (its row's `created_at`); the first digest of a
    subscription is a baseline covering the time since the subscription was created.
    """
    scope = Scope(subscription.organization, subscription.project)
    previous = await previous_digest(session, subscription.id, day)
    since = previous.created_at if previous is not None else subscription.created_at
    connections = where_owned(select(AzureConnection), AzureConnection, subscription.account_id)
    repositories = select(AzureRepository).where(
        owned_by(AzureRepository, subscription.account_id),
        or_(col(AzureRepository.removed_at).is_(None), col(AzureRepository.removed_at) > since),
    )
    if scope.organization:
        connections = connections.where(
            func.lower(AzureConnection.organization) == scope.organization.lower()
        )
        repositories = repositories.where(
            func.lower(AzureRepository.organization) == scope.organization.lower()
        )
    if scope.project:
        repositories = repositories.where(func.lower(AzureRepository.project_name) == scope.project.lower())
    repository_rows = (await session.exec(repositories)).all()
    summary = summarize(
        day=day,
        scope=scope,
        since=since,
        until=until,
        connections=(await session.exec(connections)).all(),
        repositories=repository_rows,
        baseline=previous is None,
        min_severity=subscription.min_severity,
    )
    projects = await projects_in_scope(session, subscription.account_id, scope)
    findings = await load_findings(session, {r.id: r.name for r in repository_rows}, since, until, projects)
    return replace(summary, findings=findings)


async def projects_in_scope(session, account_id: str, scope: Scope) -> dict[str, tuple[str, str]]:
    """Project id -> (name, connection id) of the projects a subscription covers (their posture findings)."""
    query = (
        select(AzureProject.id, AzureProject.name, AzureConnection.id, AzureConnection.organization)
        .join(AzureConnection, col(AzureConnection.id) == col(AzureProject.connection_id))
        .where(owned_by(AzureConnection, account_id))
    )
    rows = (await session.exec(query)).all()
    return {pid: (name, cid) for pid, name, cid, org in rows if scope.covers(org, name)}


async def load_findings(
    session, names: dict[str, str], since, until, projects: dict[str, tuple[str, str]] | None = None
) -> FindingsSummary | None:
    """Few statements for the whole scope: its findings (code, and posture of its projects), each repository's
    first scan and each connection's first posture evaluation, failed scans."""
    projects = projects or {}
    if not names and not projects:
        return None
    ids = list(names)
    rows = (
        await session.exec(
            select(Finding).where(
                or_(
                    col(Finding.repository_id).in_(ids),
                    col(Finding.project_id).in_(list(projects)) & col(Finding.repository_id).is_(None),
                )
            )
        )
    ).all()
    scanned = ("SUCCEEDED", "PARTIAL")
    first_scans = dict(
        (
            await session.exec(
                select(ScanRun.repository_id, func.min(ScanRun.finished_at))
                .where(col(ScanRun.repository_id).in_(ids), col(ScanRun.status).in_(scanned))
                .group_by(ScanRun.repository_id)
            )
        ).all()
    )
    failed = (
        await session.exec(
            select(ScanRun).where(
                col(ScanRun.repository_id).in_(ids),
                col(ScanRun.status).in_(("FAILED", "PARTIAL")),
                *([ScanRun.finished_at > since] if since else []),
            )
        )
    ).all()
    first_scans |= await first_posture_evaluations(session, projects)
    first_scans |= await first_history_scans(session, ids)
    if not rows and not first_scans and not failed:
        return None
    return summarize_findings(
        [(f, names[f.repository_id] if f.repository_id else projects[f.project_id][0]) for f in rows],
        first_scans,
        [(run, names[run.repository_id]) for run in failed],
        since,
        until,
    )


async def first_history_scans(session, repository_ids: list[str]) -> dict[str, datetime]:
    """ "history:<repository id>" -> the end of the repository's first run that scanned its git history."""
    if not repository_ids:
        return {}
    rows = await session.exec(
        select(ScanRun.repository_id, func.min(ScanRun.finished_at))
        .join(HistoryState, col(HistoryState.repository_id) == col(ScanRun.repository_id))
        .where(
            col(ScanRun.repository_id).in_(repository_ids),
            col(ScanRun.finished_at) >= HistoryState.first_scanned_at,
        )
        .group_by(ScanRun.repository_id)
    )
    return {f"{HISTORY}:{repository_id}": finished for repository_id, finished in rows.all() if finished}


async def first_posture_evaluations(session, projects: dict[str, tuple[str, str]]) -> dict[str, datetime]:
    """Project id -> when its connection's first posture evaluation finished."""
    connections = sorted({cid for _, cid in projects.values()})
    if not connections:
        return {}
    firsts = dict(
        (
            await session.exec(
                select(PostureRun.connection_id, func.min(PostureRun.finished_at))
                .where(col(PostureRun.connection_id).in_(connections), PostureRun.status == "SUCCEEDED")
                .group_by(PostureRun.connection_id)
            )
        ).all()
    )
    return {pid: firsts[cid] for pid, (_, cid) in projects.items() if firsts.get(cid)}
