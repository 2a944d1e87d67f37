"""GraphQL types: thin views of `core` rows. Lists are Relay-style connections; errors are data."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Generic, TypeVar

import strawberry

from core.pagination import Page

T = TypeVar("T")


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
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class Edge(Generic[T]):
    cursor: str
    node: T


@strawberry.type
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo
    total_count: int


def to_connection(page: Page, convert) -> Connection:
    edges = [Edge(cursor=c, node=convert(item)) for item, c in zip(page.items, page.cursors, strict=True)]
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=page.has_next_page, end_cursor=page.cursors[-1] if page.cursors else None
        ),
        total_count=page.total_count,
    )


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
class Repository:
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

    @strawberry.field(description="Open and reopened findings by severity.")
    async def finding_counts(self, info: strawberry.Info) -> FindingCounts:
        counts = await info.context.finding_counts.load(str(self.id))
        return FindingCounts(**{k.lower(): v for k, v in counts.items()})

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
        )


@strawberry.enum
class ScanStatus(Enum):
    NEVER_SCANNED = "NEVER_SCANNED"
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    PARTIAL = "PARTIAL"
    FAILED = "FAILED"


@strawberry.enum
class Severity(Enum):
    CRITICAL = "CRITICAL"
    HIGH = "HIGH"
    MEDIUM = "MEDIUM"
    LOW = "LOW"
    INFO = "INFO"


@strawberry.enum
class RepositorySort(Enum):
    NAME = "NAME"
    PROJECT = "PROJECT"


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
class AzureConnection:
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
