"""GraphQL types: thin views of `core` rows. Lists are Relay connections; objects are Relay nodes; errors are data.

Relay: every object a client navigates to implements `Node` and is refetched with `node(id:)`. Its id is the
id the API has always answered (a random UUID, unique across every table: `core/nodes.py`), so stored ids keep
working. Connections have Relay's `PageInfo` and `edges`, plus `nodes`; `totalCount` is computed only when
selected, exact up to `TOTAL_COUNT_CAP` (10,000), then that figure with `totalCountIsCapped: true`.
Fields that link objects (`Finding.repository`, `Repository.connection`, `Repository.findings`, ...) are read by
per-request DataLoaders (`api/graphql/context.py`): a page costs the same statements at 25 rows and at 100.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Generic, TypeAlias, TypeVar, cast

import strawberry

from api.graphql.errors import BadArgument
from core import severity
from core.pagination import TOTAL_COUNT_CAP, Count, InvalidInput, Page

T = TypeVar("T")


@strawberry.interface(description="An object with a global id; refetch it with `node(id:)`.")
class Node:
    id: strawberry.ID


@strawberry.interface
class UserError:
    code: str
    message: str


@strawberry.type
class NotFoundError(UserError):
    pass


@strawberry.type
class InvalidInputError(UserError):
    pass


@strawberry.type
class ForbiddenError(UserError):
    pass


@strawberry.type(description="Relay's page information (forward paging: `first` and `after`).")
class PageInfo:
    has_previous_page: bool = strawberry.field(description="True when the page was asked `after` a cursor.")
    has_next_page: bool
    start_cursor: str | None
    end_cursor: str | None


def page_info(page: Page, after: str | None) -> PageInfo:
    return PageInfo(
        has_previous_page=after is not None,
        has_next_page=page.has_next_page,
        start_cursor=page.cursors[0] if page.cursors else None,
        end_cursor=page.cursors[-1] if page.cursors else None,
    )


@strawberry.type
class Edge(Generic[T]):
    cursor: str
    node: T


CountFn = Callable[[], Awaitable[Count]]


@strawberry.type
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo
    counter: strawberry.Private[CountFn | None] = None
    counted: strawberry.Private[asyncio.Future | None] = None

    @strawberry.field(description="The page's nodes (the edges' nodes, without cursors).")
    def nodes(self) -> list[T]:
        return [edge.node for edge in self.edges]

    async def count(self) -> Count:
        """Counted once per connection, whichever of the two fields asks first (they may run concurrently)."""
        if self.counted is None:
            if self.counter is None:
                raise RuntimeError("a connection that offers totalCount needs a counter")
            self.counted = asyncio.ensure_future(self.counter())
        return await self.counted

    @strawberry.field(
        description=f"How many match: exact up to {TOTAL_COUNT_CAP:,}, else {TOTAL_COUNT_CAP:,} and "
        "totalCountIsCapped. Counted only when selected."
    )
    async def total_count(self) -> int:
        return (await self.count()).value

    @strawberry.field(description=f"True when more than totalCount ({TOTAL_COUNT_CAP:,}) match.")
    async def total_count_is_capped(self) -> bool:
        return (await self.count()).capped


def to_connection(page: Page, convert, after: str | None = None, count: CountFn | None = None) -> Connection:
    """`count` is called only if the client selects totalCount; without one, the page's own total is used."""
    edges = [Edge(cursor=c, node=convert(item)) for item, c in zip(page.items, page.cursors, strict=True)]

    async def page_total() -> Count:
        total = page.total_count or 0
        return Count(min(total, TOTAL_COUNT_CAP), total > TOTAL_COUNT_CAP)

    return Connection(edges=edges, page_info=page_info(page, after), counter=count or page_total)


@strawberry.enum
class ScmProviderKind(Enum):
    AZURE_DEVOPS = "AZURE_DEVOPS"
    GITHUB = "GITHUB"
    GITLAB = "GITLAB"
    BITBUCKET = "BITBUCKET"


@strawberry.type
class ScmProvider:
    kind: ScmProviderKind
    name: str
    available: bool


@strawberry.type
class Repository(Node):
    id: strawberry.ID
    name: str
    project: str
    organization: str
    default_branch: str | None
    web_url: str
    size_bytes: float  # bytes can exceed GraphQL's 32-bit Int
    is_fork: bool
    is_disabled: bool
    is_empty: bool
    excluded_reason: str | None
    selected: bool
    discovered_at: datetime
    removed_at: datetime | None
    visibility: str
    scan_status: ScanStatus
    last_scanned_at: datetime | None
    scan_error: str
    connection_id: strawberry.ID
    row: strawberry.Private[object] = None

    @strawberry.field(description="Open and reopened findings by severity.")
    async def finding_counts(self, info: strawberry.Info) -> FindingCounts:
        counts = await info.context.finding_counts.load(str(self.id))
        return FindingCounts(**{k.lower(): v for k, v in counts.items()})

    @strawberry.field(description="The Azure DevOps connection (organization) it was discovered in.")
    async def connection(self, info: strawberry.Info) -> AzureConnection | None:
        return await info.context.connections.load(str(self.connection_id))

    @strawberry.field(description="This repository's findings, newest first (default: open and reopened).")
    async def findings(
        self,
        info: strawberry.Info,
        first: int | None = None,
        after: str | None = None,
        filter: FindingFilter | None = None,
    ) -> Connection[Finding]:
        return await info.context.repository_findings(str(self.id), first, after, filter)

    @strawberry.field(
        description="The files that have matching findings (default: open and reopened), by path, with counts "
        "by severity: the repository page's file tree. Then findings(filter: {path}) lists one file's."
    )
    async def finding_files(self, info: strawberry.Info, filter: FindingFilter | None = None) -> FindingFiles:
        from core.findings import service as findings

        ctx = info.context
        core = filter.to_core() if filter else findings.FindingFilter()
        try:
            async with ctx.sessions() as session:
                files, truncated = await findings.files_with_findings(
                    session, ctx.account_id, str(self.id), core
                )
        except InvalidInput as error:
            raise BadArgument(str(error)) from None
        return FindingFiles(
            files=[
                FindingFile(path=f.path, counts=FindingCounts(**{k.lower(): v for k, v in f.counts.items()}))
                for f in files
            ],
            truncated=truncated,
        )

    @strawberry.field(description="This repository's scan runs, newest first.")
    async def scan_runs(
        self, info: strawberry.Info, first: int | None = None, after: str | None = None
    ) -> Connection[ScanRun]:
        return await info.context.repository_scan_runs(str(self.id), first, after)

    @strawberry.field(
        description="Its git history's scan (secrets in every commit): how far it read and whether it stopped "
        "before the beginning (at the bound or a limit). Null until its history was scanned."
    )
    async def history_scan(self, info: strawberry.Info) -> HistoryScan | None:
        summary = await history_summaries(info).load(str(self.id))
        return HistoryScan.from_summary(summary) if summary is not None else None

    @classmethod
    def from_row(cls, row) -> Repository:
        return cls(
            id=strawberry.ID(row.id),
            name=row.name,
            project=row.project_name,
            organization=row.organization,
            default_branch=row.default_branch,
            web_url=row.web_url,
            size_bytes=float(row.size_bytes),
            is_fork=row.is_fork,
            is_disabled=row.is_disabled,
            is_empty=row.is_empty,
            excluded_reason=row.excluded_reason,
            selected=row.selected,
            discovered_at=row.discovered_at,
            removed_at=row.removed_at,
            visibility=row.visibility,
            scan_status=ScanStatus(row.scan_status),
            last_scanned_at=row.last_scanned_at,
            scan_error=row.scan_error,
            connection_id=strawberry.ID(row.connection_id),
            row=row,
        )


@strawberry.enum
class ScanStatus(Enum):
    NEVER_SCANNED = "NEVER_SCANNED"
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    PARTIAL = "PARTIAL"
    FAILED = "FAILED"


# The domain's severities (core/severity.py), most severe first, as a GraphQL enum of its own (strawberry.enum
# would mark the domain's class itself).
if TYPE_CHECKING:  # built at run time from the domain's catalogues: the checker sees them as plain enums
    from core.findings.models import Finding as FindingRow

    Severity: TypeAlias = Enum
    FindingCategory: TypeAlias = Enum
    Scanner: TypeAlias = Enum
else:
    Severity = strawberry.enum(Enum("Severity", [(s.name, s.value) for s in severity.ORDER]))


@strawberry.enum
class RepositorySort(Enum):
    NAME = "NAME"
    PROJECT = "PROJECT"


@strawberry.type
class FindingFile:
    path: str
    counts: FindingCounts


@strawberry.type
class FindingFiles:
    files: list[FindingFile]
    truncated: bool = strawberry.field(description="More files than listed (2,000 at most).")


@strawberry.type
class FindingCounts:
    critical: int = 0
    high: int = 0
    medium: int = 0
    low: int = 0
    info: int = 0


@strawberry.input
class RepositoryFilter:
    connection_id: strawberry.ID | None = None
    organization: str | None = None
    project: str | None = None
    search: str | None = None
    include_excluded: bool = True
    selected: bool | None = None
    provider: ScmProviderKind | None = None
    scan_status: ScanStatus | None = None
    visibility: str | None = None
    min_severity: Severity | None = None
    sort: RepositorySort = RepositorySort.NAME

    def to_core(self):
        from core.discovery.service import RepositoryFilter as CoreFilter

        return CoreFilter(
            connection_id=self.connection_id,
            organization=self.organization,
            project=self.project,
            search=self.search,
            include_excluded=self.include_excluded,
            selected=self.selected,
            provider=self.provider.value if self.provider else None,
            scan_status=self.scan_status.value if self.scan_status else None,
            visibility=self.visibility,
            min_severity=self.min_severity.value if self.min_severity else None,
            sort=self.sort.value,
        )


@strawberry.type
class AuditEvent:
    id: strawberry.ID
    actor: str
    action: str
    subject: str
    created_at: datetime

    @classmethod
    def from_row(cls, row) -> AuditEvent:
        return cls(
            id=strawberry.ID(row.id),
            actor=row.actor,
            action=row.action,
            subject=row.subject,
            created_at=row.created_at,
        )


@strawberry.type
class SetRepositorySelectionSuccess:
    repositories: list[Repository]


@strawberry.enum
class ConnectionStatus(Enum):
    PENDING_CONSENT = "PENDING_CONSENT"
    PROOF_REQUIRED = "PROOF_REQUIRED"
    CONSENT_GRANTED = "CONSENT_GRANTED"
    CONNECTED = "CONNECTED"
    DEGRADED = "DEGRADED"
    DISCONNECTED = "DISCONNECTED"


@strawberry.enum
class CheckStatus(Enum):
    PASS = "PASS"  # noqa: S105 - a check status, not a password
    FAIL = "FAIL"
    WARN = "WARN"
    SKIPPED = "SKIPPED"


@strawberry.type
class ConnectionCheck:
    code: str
    status: CheckStatus
    message: str
    remediation: str

    @classmethod
    def from_dict(cls, check: dict) -> ConnectionCheck:
        return cls(
            code=check["code"],
            status=CheckStatus(check["status"]),
            message=check["message"],
            remediation=check.get("remediation", ""),
        )


@strawberry.type
class AzureConnection(Node):
    id: strawberry.ID
    organization: str
    tenant_id: str
    status: ConnectionStatus
    status_reason: str
    consented_at: datetime | None
    consented_by: str | None
    administrator_proven_at: datetime | None = strawberry.field(
        description="When an administrator of the organization signed in and proved it for this account."
    )
    administrator: str | None = strawberry.field(description="Who proved it (their Entra sign-in name).")
    connected_at: datetime | None
    last_verified_at: datetime | None
    checks: list[ConnectionCheck]
    discovery_status: str
    discovered_at: datetime | None
    project_count: int
    repository_count: int

    @classmethod
    def from_row(cls, row, project_count: int = 0, repository_count: int = 0) -> AzureConnection:
        return cls(
            id=strawberry.ID(row.id),
            organization=row.organization,
            tenant_id=row.tenant_id,
            status=ConnectionStatus(row.status),
            status_reason=row.status_reason,
            consented_at=row.consented_at,
            consented_by=row.consented_by,
            administrator_proven_at=row.admin_proven_at,
            administrator=row.admin_proven_by,
            connected_at=row.connected_at,
            last_verified_at=row.last_verified_at,
            checks=[ConnectionCheck.from_dict(c) for c in row.checks or []],
            discovery_status=row.discovery_status,
            discovered_at=row.discovered_at,
            project_count=project_count,
            repository_count=repository_count,
        )

    @classmethod
    def from_view(cls, view) -> AzureConnection:
        return cls.from_row(view.connection, view.project_count, view.repository_count)


@strawberry.type
class AzureConnectionError(UserError):
    """INVALID_ORGANIZATION, ORGANIZATION_NOT_FOUND, ORGANIZATION_NOT_ENTRA_BACKED, ALREADY_CONNECTED,
    ORGANIZATION_CLAIMED, CONSENT_REQUIRED, PROOF_REQUIRED, AZURE_UNAVAILABLE, ..."""


@strawberry.type
class StartAzureConnectionSuccess:
    connection: AzureConnection
    sign_in_url: str = strawberry.field(
        description="Open in the browser of an administrator of the organization: Microsoft sign-in at the "
        "organization's tenant, then (once proven a Project Collection Administrator) admin consent."
    )

    @strawberry.field(deprecation_reason="Use signInUrl: consent now follows the administrator's sign-in.")
    def consent_url(self) -> str:
        return self.sign_in_url


@strawberry.type
class ConnectAzureOrganizationSuccess:
    connection: AzureConnection
    ok: bool
    checks: list[ConnectionCheck]


@strawberry.type
class DisconnectAzureOrganizationSuccess:
    connection_id: strawberry.ID


# --- findings and scans -------------------------------------------------------------------------------------
# Enums whose GraphQL values are the strings the API always answered (JSON output is unchanged; in a query
# literal the quotes go: `statuses: [OPEN]`, `category: SECRET`, `scanner: secrets`).


@strawberry.enum(description="A finding's lifecycle.")
class FindingStatus(Enum):
    OPEN = "OPEN"
    FIXED = "FIXED"
    REOPENED = "REOPENED"
    SUPPRESSED = "SUPPRESSED"


def _category_enum():
    from core.scans.scanner import CATEGORIES

    return strawberry.enum(
        cast("type[Enum]", Enum("FindingCategory", {c: c for c in CATEGORIES})),
        description="What kind of issue.",
    )


def _scanner_enum():
    from core.history.service import NAME as HISTORY
    from core.posture.findings import SCANNER as POSTURE
    from core.scans.scanner import all_scanners

    names = sorted({s.name for s in all_scanners()} | {POSTURE, HISTORY})
    # Values are the scanners' own names (lower case), as stored and as the API always answered them.
    return strawberry.enum(
        cast("type[Enum]", Enum("Scanner", {n: n for n in names})), description="What found it."
    )


if not TYPE_CHECKING:
    FindingCategory = _category_enum()
    Scanner = _scanner_enum()


@strawberry.enum
class ScanTrigger(Enum):
    SCHEDULE = "SCHEDULE"
    MANUAL = "MANUAL"


@strawberry.enum(description="A CODE finding's language (TypeScript is JAVASCRIPT: they share rules).")
class CodeLanguage(Enum):
    CSHARP = "CSHARP"
    JAVA = "JAVA"
    JAVASCRIPT = "JAVASCRIPT"
    PYTHON = "PYTHON"
    GO = "GO"


@strawberry.input
class FindingFilter:
    repository_id: strawberry.ID | None = None
    statuses: list[FindingStatus] | None = strawberry.field(
        default=None, description="Default: OPEN and REOPENED."
    )
    min_severity: Severity | None = None
    category: FindingCategory | None = None
    scanner: Scanner | None = None
    search: str | None = strawberry.field(
        default=None,
        description="Case-insensitive substring of the title, message, rule id or path: aliases (CVE, GHSA) and "
        "the package are in a dependency finding's message.",
    )
    path: str | None = strawberry.field(default=None, description="Exactly this file (see findingFiles).")
    organization: str | None = strawberry.field(default=None, description="The repository's organization.")
    project: str | None = strawberry.field(default=None, description="The repository's project.")
    cwe: str | None = strawberry.field(
        default=None, description='CODE findings whose rule has this CWE: "CWE-89" or "89".'
    )
    language: CodeLanguage | None = strawberry.field(
        default=None, description="CODE findings of this language."
    )
    in_history_only: bool | None = strawberry.field(
        default=None,
        description="Secrets found in git history: true, those no longer in any file at the default branch's "
        "head (only in history); false, those still in the head.",
    )

    def to_core(self):
        from core.findings import service as findings

        core = findings.FindingFilter(
            repository_id=self.repository_id,
            min_severity=self.min_severity.value if self.min_severity else None,
            category=self.category.value if self.category else None,
            scanner=self.scanner.value if self.scanner else None,
            search=self.search,
            path=self.path,
            organization=self.organization,
            project=self.project,
            cwe=self.cwe,
            language=self.language.value if self.language else None,
            in_history_only=self.in_history_only,
        )
        if self.statuses is not None:
            core.statuses = [status.value for status in self.statuses]
        return core

    def key(self) -> tuple:
        """Hashable, for DataLoader keys: filters that are equal load together."""
        return (
            self.repository_id,
            tuple(s.value for s in self.statuses) if self.statuses is not None else None,
            self.min_severity,
            self.category,
            self.scanner,
            self.search,
            self.path,
            self.organization,
            self.project,
            self.cwe,
            self.language,
            self.in_history_only,
        )


@strawberry.type(description="A repository's git history scan (core/history).")
class HistoryScan:
    commits_scanned: int = strawberry.field(
        description="Commits whose added lines were scanned, over every run."
    )
    last_run_commits: int = strawberry.field(description="New commits scanned by the last run.")
    stopped_at_bound: bool = strawberry.field(
        description="The first scan stopped at the configured bound (days or commits): older history unscanned."
    )
    reason: str | None = strawberry.field(
        description="Why the history was not read to its beginning: the bound, or the limit or refusal that "
        "stopped the last run. Null when nothing stopped it."
    )
    last_commit: str | None = strawberry.field(
        description="The oldest commit scanned: where a scan that stopped at the bound ended."
    )
    last_commit_at: datetime | None
    unreachable_commits: int = strawberry.field(
        description="Scanned commits that rewritten history (a force-push) left unreachable; findings kept."
    )
    note: str = strawberry.field(description="What the last run did, in words.")
    scanned_at: datetime | None

    @classmethod
    def from_summary(cls, summary) -> HistoryScan:
        return cls(
            commits_scanned=summary.commits_scanned,
            last_run_commits=summary.last_run_commits,
            stopped_at_bound=summary.stopped_at_bound,
            reason=summary.reason,
            last_commit=summary.last_commit,
            last_commit_at=summary.last_commit_at,
            unreachable_commits=summary.unreachable_commits,
            note=summary.note,
            scanned_at=summary.scanned_at,
        )


def history_summaries(info: strawberry.Info):
    """Per request, a loader of repositories' history scans: three statements for a whole page."""
    context = info.context
    loader = getattr(context, "_history_summaries", None)
    if loader is None:
        from strawberry.dataloader import DataLoader

        from core.history import service as history

        settings = context.services.settings

        async def load(ids: list[str]) -> list:
            async with context.sessions() as session:
                found = await history.history_summaries(
                    session,
                    list(ids),
                    max_days=settings.history_max_days,
                    max_commits=settings.history_max_commits,
                )
            return [found.get(i) for i in ids]

        loader = DataLoader(load)
        context._history_summaries = loader
    return loader


@strawberry.type(
    description="Where a secret found in git history was added: the commit, file and line, when, and who (the "
    "author's name as git recorded it)."
)
class SecretOccurrence:
    commit: str
    path: str
    line: int | None
    committed_at: datetime
    author_name: str
    in_head: bool = strawberry.field(
        description="The secret is still in this file at the default branch's head."
    )
    reachable: bool = strawberry.field(
        description="False once rewritten history (a force-push) left the commit unreachable; the secret was "
        "published all the same."
    )

    @classmethod
    def from_row(cls, row) -> SecretOccurrence:
        return cls(
            commit=row.commit_id,
            path=row.path,
            line=row.line,
            committed_at=row.committed_at,
            author_name=row.author_name,
            in_head=row.in_head,
            reachable=row.reachable,
        )


def history_occurrences(info: strawberry.Info):
    """Per request, a loader of history findings' occurrences: a page of findings costs one statement."""
    context = info.context
    loader = getattr(context, "_history_occurrences", None)
    if loader is None:
        from strawberry.dataloader import DataLoader

        from core.history.service import occurrences_of

        async def load(keys: list[tuple[str, str]]) -> list[list]:
            async with context.sessions() as session:
                found = await occurrences_of(session, list(keys))
            return [found[key] for key in keys]

        loader = DataLoader(load)
        context._history_occurrences = loader
    return loader


async def finding_occurrences(info: strawberry.Info, row) -> list | None:
    from core.history.service import NAME as HISTORY

    if row is None or row.scanner != HISTORY or not row.secret_hash or not row.repository_id:
        return None
    return await history_occurrences(info).load((row.repository_id, row.secret_hash))


@strawberry.type
class Finding(Node):
    id: strawberry.ID
    repository_id: strawberry.ID | None = strawberry.field(
        description="Null for a posture finding about a project, pipeline or protected resource."
    )
    project_id: strawberry.ID | None
    scanner: Scanner
    rule_id: str
    title: str
    description: str
    remediation: str
    help_uri: str
    severity: Severity
    category: FindingCategory
    path: str
    line: int | None
    end_line: int | None
    message: str
    preview: str | None  # a redacted preview for secrets: never the value
    commit: str
    fingerprint: str
    status: FindingStatus
    first_seen_at: datetime
    last_seen_at: datetime
    fixed_at: datetime | None
    suppressed_reason: str
    suppressed_until: datetime | None
    row: strawberry.Private[object] = None

    @strawberry.field(
        description='The CWE ids of a CODE finding\'s rule ("CWE-89"); empty for other findings.'
    )
    def cwe(self) -> list[str]:
        from core.findings import service as findings

        return findings.cwe_of(self.category.value, self.rule_id)

    @strawberry.field(description="The OWASP Top 10 2021 category of a CODE finding's rule; null otherwise.")
    def owasp(self) -> str | None:
        from core.findings import service as findings

        return findings.owasp_of(self.category.value, self.rule_id)

    @strawberry.field(
        description="For a secret found in git history (scanner history): each commit that added it, oldest "
        "first. Empty for other findings."
    )
    async def occurrences(self, info: strawberry.Info) -> list[SecretOccurrence]:
        rows = await finding_occurrences(info, self.row)
        return [SecretOccurrence.from_row(r) for r in rows or []]

    @strawberry.field(
        description="For a secret found in git history: true when no file at the default branch's head still "
        "holds it (it must be rotated all the same). Null for other findings."
    )
    async def in_history_only(self, info: strawberry.Info) -> bool | None:
        rows = await finding_occurrences(info, self.row)
        return None if rows is None else not any(r.in_head for r in rows)

    @strawberry.field(description="The repository it was found in (null for a project's posture finding).")
    async def repository(self, info: strawberry.Info) -> Repository | None:
        if self.repository_id is None:
            return None
        row = await info.context.repositories.load(str(self.repository_id))
        return Repository.from_row(row) if row is not None else None

    @strawberry.field(
        description="The file at the finding's lines in Azure DevOps, at the scanned commit (null without a "
        "repository or a path)."
    )
    async def web_url(self, info: strawberry.Info) -> str | None:
        from core.findings import service as findings

        if self.repository_id is None:
            return None
        repository = await info.context.repositories.load(str(self.repository_id))
        if repository is None:
            return None
        return findings.web_url(repository.web_url, repository.default_branch, cast("FindingRow", self.row))

    @classmethod
    def from_row(cls, row) -> Finding:
        return cls(
            id=strawberry.ID(row.id),
            repository_id=strawberry.ID(row.repository_id) if row.repository_id else None,
            project_id=strawberry.ID(row.project_id) if row.project_id else None,
            scanner=Scanner(row.scanner),
            rule_id=row.rule_id,
            title=row.title,
            description=row.description,
            remediation=row.remediation,
            help_uri=row.help_uri,
            severity=Severity(row.severity),
            category=FindingCategory(row.category),
            path=row.path,
            line=row.line,
            end_line=row.end_line,
            message=row.message,
            preview=row.preview,
            commit=row.commit,
            fingerprint=row.fingerprint,
            status=FindingStatus(row.status),
            first_seen_at=row.first_seen_at,
            last_seen_at=row.last_seen_at,
            fixed_at=row.fixed_at,
            suppressed_reason=row.suppressed_reason,
            suppressed_until=row.suppressed_until,
            row=row,
        )


@strawberry.interface(description="A scan to follow: a repository's run, or a connection's scan of them all.")
class ScanActivity:
    id: strawberry.ID
    status: ScanStatus
    trigger: ScanTrigger
    created_at: datetime
    finished_at: datetime | None = strawberry.field(description="Null until it ended.")


@strawberry.enum
class ScannerStatus(Enum):
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


@strawberry.type(description="What one scanner did in a finished run.")
class ScannerOutcome:
    scanner: Scanner
    status: ScannerStatus
    error: str


@strawberry.type
class ScanRun(Node, ScanActivity):
    id: strawberry.ID
    repository_id: strawberry.ID
    trigger: ScanTrigger
    status: ScanStatus
    commit: str
    reused: bool
    error: str
    scanner_errors: strawberry.scalars.JSON
    scanner_outcomes: list[ScannerOutcome] = strawberry.field(
        description="Per scanner, once the run finished (empty while queued or running)."
    )
    new_findings: int
    fixed_findings: int
    open_findings: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @strawberry.field
    async def repository(self, info: strawberry.Info) -> Repository | None:
        row = await info.context.repositories.load(str(self.repository_id))
        return Repository.from_row(row) if row is not None else None

    @classmethod
    def from_row(cls, row) -> ScanRun:
        from core.scans.service import scanner_outcomes

        return cls(
            id=strawberry.ID(row.id),
            repository_id=strawberry.ID(row.repository_id),
            trigger=ScanTrigger(row.trigger),
            status=ScanStatus(row.status),
            commit=row.commit,
            reused=row.reused,
            error=row.error,
            scanner_errors=row.scanner_errors,
            scanner_outcomes=[
                ScannerOutcome(scanner=Scanner(o.scanner), status=ScannerStatus(o.status), error=o.error)
                for o in scanner_outcomes(row)
            ],
            new_findings=row.new_findings,
            fixed_findings=row.fixed_findings,
            open_findings=row.open_findings,
            created_at=row.created_at,
            started_at=row.started_at,
            finished_at=row.finished_at,
        )


@strawberry.enum
class ConnectionScanPhase(Enum):
    QUEUED = "QUEUED"
    VERIFYING = "VERIFYING"  # verification and discovery
    SCANNING = "SCANNING"
    FINISHED = "FINISHED"


@strawberry.type(description="How many runs of a connection scan ended with one status.")
class RunStatusCount:
    status: ScanStatus
    count: int


@strawberry.type(
    description="Across a connection scan's finished runs: how often one scanner succeeded, failed."
)
class ScannerTally:
    scanner: Scanner
    succeeded: int
    failed: int


@strawberry.type(
    description="A connection scan: verification, discovery, then one run per selected repository. Poll it with "
    "node(id:) until finishedAt is set."
)
class ConnectionScan(Node, ScanActivity):
    id: strawberry.ID
    connection_id: strawberry.ID
    status: ScanStatus
    phase: ConnectionScanPhase
    trigger: ScanTrigger
    repositories_total: int | None = strawberry.field(
        description="Null until discovery queued the repositories' runs."
    )
    repositories_done: int
    runs_by_status: list[RunStatusCount]
    scanners: list[ScannerTally]
    message: str
    created_at: datetime
    finished_at: datetime | None

    @strawberry.field
    async def connection(self, info: strawberry.Info) -> AzureConnection | None:
        return await info.context.connections.load(str(self.connection_id))

    @classmethod
    def from_progress(cls, progress) -> ConnectionScan:
        return cls(
            id=strawberry.ID(progress.id),
            connection_id=strawberry.ID(progress.connection_id),
            status=ScanStatus(progress.status),
            phase=ConnectionScanPhase(progress.phase),
            trigger=ScanTrigger(progress.trigger),
            repositories_total=progress.repositories_total,
            repositories_done=progress.repositories_done,
            runs_by_status=[
                RunStatusCount(status=ScanStatus(status), count=count)
                for status, count in sorted(progress.runs_by_status.items())
            ],
            scanners=[
                ScannerTally(scanner=Scanner(t.scanner), succeeded=t.succeeded, failed=t.failed)
                for t in progress.scanners
            ],
            message=progress.message,
            created_at=progress.created_at,
            finished_at=progress.finished_at,
        )
