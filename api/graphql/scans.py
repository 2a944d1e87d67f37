"""GraphQL for scans and findings: queries, suppression, on-demand scans."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.types import Info

from api.graphql import types as t
from api.graphql.errors import BadArgument
from api.graphql.limits import RateLimitedError, rate_limited
from core.db import session_scope
from core.findings import service as findings
from core.ondemand.budget import RateLimited
from core.pagination import InvalidInput
from core.scans import requests as scan_requests


@strawberry.type
class Finding:
    id: strawberry.ID
    repository_id: strawberry.ID | None = strawberry.field(
        description="Null for a posture finding about a project, pipeline or protected resource."
    )
    project_id: strawberry.ID | None
    scanner: str
    rule_id: str
    title: str
    description: str
    remediation: str
    severity: t.Severity
    category: str
    path: str
    line: int | None
    message: str
    preview: str | None  # a redacted preview for secrets: never the value
    commit: str
    fingerprint: str
    status: str
    first_seen_at: datetime
    last_seen_at: datetime
    fixed_at: datetime | None
    suppressed_reason: str
    suppressed_until: datetime | None

    @classmethod
    def from_row(cls, row) -> Finding:
        return cls(
            id=strawberry.ID(row.id),
            repository_id=strawberry.ID(row.repository_id) if row.repository_id else None,
            project_id=strawberry.ID(row.project_id) if row.project_id else None,
            scanner=row.scanner,
            rule_id=row.rule_id,
            title=row.title,
            description=row.description,
            remediation=row.remediation,
            severity=t.Severity(row.severity),
            category=row.category,
            path=row.path,
            line=row.line,
            message=row.message,
            preview=row.preview,
            commit=row.commit,
            fingerprint=row.fingerprint,
            status=row.status,
            first_seen_at=row.first_seen_at,
            last_seen_at=row.last_seen_at,
            fixed_at=row.fixed_at,
            suppressed_reason=row.suppressed_reason,
            suppressed_until=row.suppressed_until,
        )


@strawberry.type
class ScanRun:
    id: strawberry.ID
    repository_id: strawberry.ID
    trigger: str
    status: t.ScanStatus
    commit: str
    reused: bool
    error: str
    scanner_errors: strawberry.scalars.JSON
    new_findings: int
    fixed_findings: int
    open_findings: int
    created_at: datetime
    finished_at: datetime | None

    @classmethod
    def from_row(cls, row) -> ScanRun:
        return cls(
            id=strawberry.ID(row.id),
            repository_id=strawberry.ID(row.repository_id),
            trigger=row.trigger,
            status=t.ScanStatus(row.status),
            commit=row.commit,
            reused=row.reused,
            error=row.error,
            scanner_errors=row.scanner_errors,
            new_findings=row.new_findings,
            fixed_findings=row.fixed_findings,
            open_findings=row.open_findings,
            created_at=row.created_at,
            finished_at=row.finished_at,
        )


@strawberry.input
class FindingFilter:
    repository_id: strawberry.ID | None = None
    statuses: list[str] | None = None
    min_severity: t.Severity | None = None
    category: str | None = None
    scanner: str | None = None
    search: str | None = None

    def to_core(self) -> findings.FindingFilter:
        core = findings.FindingFilter(
            repository_id=self.repository_id,
            min_severity=self.min_severity.value if self.min_severity else None,
            category=self.category,
            scanner=self.scanner,
            search=self.search,
        )
        if self.statuses is not None:
            core.statuses = self.statuses
        return core


@strawberry.type
class FindingSuccess:
    finding: Finding


@strawberry.type
class ScanQueued:
    run: ScanRun | None = strawberry.field(description="A repository scan's run; null for scanConnection.")
    job_id: strawberry.ID | None = strawberry.field(
        description="scanConnection's job (verification, discovery, then a scan per selected repository); "
        "null for scanRepository."
    )
    already_queued: bool = strawberry.field(
        description="The same work was queued or running: this answers it, and nothing more was queued."
    )
    message: str


FindingResult = Annotated[
    FindingSuccess | t.NotFoundError | t.InvalidInputError, strawberry.union("FindingResult")
]
ScanResult = Annotated[
    ScanQueued | t.NotFoundError | t.InvalidInputError | RateLimitedError, strawberry.union("ScanResult")
]


def bad_argument(error: InvalidInput) -> BadArgument:
    return BadArgument(str(error))


@strawberry.type
class ScansQuery:
    @strawberry.field(description="Findings, newest first. Defaults to open and reopened ones.")
    async def findings(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        filter: FindingFilter | None = None,
    ) -> t.Connection[Finding]:
        ctx = info.context
        flt = filter.to_core() if filter else findings.FindingFilter()
        try:
            async with ctx.sessions() as session:
                page = await findings.list_findings(session, ctx.principal.account_id, flt, first, after)
        except InvalidInput as error:
            raise bad_argument(error) from None
        return t.to_connection(page, Finding.from_row)

    @strawberry.field(description="Scan runs, newest first.")
    async def scan_runs(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        repository_id: strawberry.ID | None = None,
    ) -> t.Connection[ScanRun]:
        ctx = info.context
        try:
            async with ctx.sessions() as session:
                page = await findings.list_scan_runs(
                    session, ctx.principal.account_id, repository_id, first, after
                )
        except InvalidInput as error:
            raise bad_argument(error) from None
        return t.to_connection(page, ScanRun.from_row)


@strawberry.type
class ScansMutation:
    @strawberry.mutation(description="Suppress a finding, with a reason and an optional expiry.")
    async def suppress_finding(
        self, info: Info, id: strawberry.ID, reason: str, until: datetime | None = None
    ) -> FindingResult:
        ctx = info.context
        try:
            async with session_scope(ctx.sessions) as session:
                row = await findings.suppress(
                    session, ctx.principal.account_id, ctx.principal.user_email, str(id), reason, until
                )
        except LookupError:
            return t.NotFoundError(code="NOT_FOUND", message="No such finding.")
        except InvalidInput as error:
            return t.InvalidInputError(code="INVALID_INPUT", message=str(error))
        return FindingSuccess(finding=Finding.from_row(row))

    @strawberry.mutation(description="Lift a suppression.")
    async def unsuppress_finding(self, info: Info, id: strawberry.ID) -> FindingResult:
        ctx = info.context
        try:
            async with session_scope(ctx.sessions) as session:
                row = await findings.unsuppress(
                    session, ctx.principal.account_id, ctx.principal.user_email, str(id)
                )
        except LookupError:
            return t.NotFoundError(code="NOT_FOUND", message="No such finding.")
        except InvalidInput as error:
            return t.InvalidInputError(code="INVALID_INPUT", message=str(error))
        return FindingSuccess(finding=Finding.from_row(row))

    @strawberry.mutation(
        description="Scan one repository now; while its scan is queued or running, answer that scan."
    )
    async def scan_repository(self, info: Info, id: strawberry.ID) -> ScanResult:
        ctx = info.context
        try:
            asked = await scan_requests.request_repository_scan(ctx.services, ctx.principal, str(id))
        except LookupError:
            return t.NotFoundError(code="NOT_FOUND", message="No such repository.")
        except InvalidInput as error:
            return t.InvalidInputError(code="INVALID_INPUT", message=str(error))
        except RateLimited as error:
            return rate_limited(error)
        return ScanQueued(
            run=ScanRun.from_row(asked.run),
            job_id=None,
            already_queued=asked.already_queued,
            message="A scan is already queued or running." if asked.already_queued else "Scan queued.",
        )

    @strawberry.mutation(
        description="Re-verify a connection, rediscover, and scan its selected repositories now; while a "
        "scan of the connection is queued or running, answer that scan."
    )
    async def scan_connection(self, info: Info, id: strawberry.ID) -> ScanResult:
        ctx = info.context
        try:
            asked = await scan_requests.request_connection_scan(ctx.services, ctx.principal, str(id))
        except LookupError:
            return t.NotFoundError(code="NOT_FOUND", message="No such connection.")
        except InvalidInput as error:
            return t.InvalidInputError(code="INVALID_INPUT", message=str(error))
        except RateLimited as error:
            return rate_limited(error)
        return ScanQueued(
            run=None,
            job_id=strawberry.ID(asked.job_id),
            already_queued=asked.already_queued,
            message="A scan of this connection is already queued or running."
            if asked.already_queued
            else "Verification, discovery and scans queued.",
        )
