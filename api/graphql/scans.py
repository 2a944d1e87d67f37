"""GraphQL for scans and findings: queries, suppression, on-demand scans."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.types import Info

from api.graphql import types as t
from api.graphql.answers import bad_arguments, typed_errors
from api.graphql.limits import RateLimitedError
from core.db import session_scope
from core.findings import service as findings
from core.scans import requests as scan_requests

Finding = t.Finding
ScanRun = t.ScanRun
FindingFilter = t.FindingFilter


@strawberry.type
class FindingSuccess:
    finding: Finding


@strawberry.type
class ScanQueued:
    run: t.ScanActivity = strawberry.field(
        description="What to follow (poll node(id:) with its id): a ScanRun for scanRepository, a "
        "ConnectionScan for scanConnection."
    )
    job_id: strawberry.ID | None = strawberry.field(
        description="scanConnection's job, the ConnectionScan's id; null for scanRepository."
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


@strawberry.type
class ScansQuery:
    @strawberry.field(description="Findings, newest first. Defaults to open and reopened ones.")
    @bad_arguments
    async def findings(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        filter: FindingFilter | None = None,
    ) -> t.Connection[Finding]:
        ctx = info.context
        flt = filter.to_core() if filter else findings.FindingFilter()
        async with ctx.sessions() as session:
            page = await findings.list_findings(session, ctx.account_id, flt, first, after)

        async def count():
            async with ctx.sessions() as session:
                return await findings.count_findings(session, ctx.account_id, flt)

        return t.to_connection(page, Finding.from_row, after, count)

    @strawberry.field(description="Scan runs, newest first.")
    @bad_arguments
    async def scan_runs(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        repository_id: strawberry.ID | None = None,
    ) -> t.Connection[ScanRun]:
        ctx = info.context
        async with ctx.sessions() as session:
            page = await findings.list_scan_runs(session, ctx.account_id, repository_id, first, after)

        async def count():
            async with ctx.sessions() as session:
                return await findings.count_scan_runs(session, ctx.account_id, repository_id)

        return t.to_connection(page, ScanRun.from_row, after, count)


@strawberry.type
class ScansMutation:
    @strawberry.mutation(description="Suppress a finding, with a reason and an optional expiry.")
    @typed_errors
    async def suppress_finding(
        self, info: Info, id: strawberry.ID, reason: str, until: datetime | None = None
    ) -> FindingResult:
        ctx = info.context
        async with session_scope(ctx.sessions) as session:
            row = await findings.suppress(
                session, ctx.principal.account_id, ctx.principal.user_email, str(id), reason, until
            )
        return FindingSuccess(finding=Finding.from_row(row))

    @strawberry.mutation(description="Lift a suppression.")
    @typed_errors
    async def unsuppress_finding(self, info: Info, id: strawberry.ID) -> FindingResult:
        ctx = info.context
        async with session_scope(ctx.sessions) as session:
            row = await findings.unsuppress(
                session, ctx.principal.account_id, ctx.principal.user_email, str(id)
            )
        return FindingSuccess(finding=Finding.from_row(row))

    @strawberry.mutation(
        description="Scan one repository now; while its scan is queued or running, answer that scan."
    )
    @typed_errors
    async def scan_repository(self, info: Info, id: strawberry.ID) -> ScanResult:
        ctx = info.context
        asked = await scan_requests.request_repository_scan(ctx.services, ctx.principal, str(id))
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
    @typed_errors
    async def scan_connection(self, info: Info, id: strawberry.ID) -> ScanResult:
        ctx = info.context
        asked = await scan_requests.request_connection_scan(ctx.services, ctx.principal, str(id))
        return ScanQueued(
            run=t.ConnectionScan.from_progress(asked.connection_scan),
            job_id=strawberry.ID(asked.job_id) if asked.job_id is not None else None,
            already_queued=asked.already_queued,
            message="A scan of this connection is already queued or running."
            if asked.already_queued
            else "Verification, discovery and scans queued.",
        )
