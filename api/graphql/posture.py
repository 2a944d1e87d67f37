"""GraphQL for CI/CD posture: the control catalogue, per-project and per-repository results, on-demand runs."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated

import strawberry
from strawberry.types import Info

from api.graphql import types as t
from api.graphql.answers import bad_arguments, typed_errors
from api.graphql.limits import RateLimitedError
from core.errors import NotFound
from core.posture import service as posture
from core.posture.control import REGISTRY, Control


@strawberry.enum
class PostureStatus(Enum):
    PASS = "PASS"  # noqa: S105 - a status, not a password
    FAIL = "FAIL"
    NOT_EVALUATED = "NOT_EVALUATED"


@strawberry.type
class PostureControl:
    id: str
    title: str
    severity: t.Severity
    resource_type: str
    rationale: str
    remediation: str
    help_uri: str
    sources: list[str]

    @classmethod
    def from_control(cls, control: Control) -> PostureControl:
        return cls(
            id=control.id,
            title=control.title,
            severity=t.Severity(control.severity),
            resource_type=control.resource_type,
            rationale=control.rationale,
            remediation=control.remediation,
            help_uri=control.help_uri,
            sources=list(control.sources),
        )


@strawberry.type
class PostureResult:
    control: PostureControl
    status: PostureStatus
    reason: str = strawberry.field(
        description="Why: names the resource, and for NOT_EVALUATED what was refused."
    )
    resource_type: str
    resource_id: str
    resource_name: str
    evaluated_at: datetime

    @classmethod
    def from_row(cls, row) -> PostureResult:
        return cls(
            control=PostureControl.from_control(REGISTRY[row.control_id]),
            status=PostureStatus(row.status),
            reason=row.reason,
            resource_type=row.resource_type,
            resource_id=row.resource_id,
            resource_name=row.resource_name,
            evaluated_at=row.evaluated_at,
        )


@strawberry.type
class ProjectPosture:
    project_id: strawberry.ID
    name: str
    results: list[PostureResult]


@strawberry.type
class RepositoryPosture:
    repository_id: strawberry.ID
    name: str
    project_name: str
    results: list[PostureResult]


@strawberry.type
class PostureSummary:
    passed: int
    failed: int
    not_evaluated: int
    failed_by_severity: t.FindingCounts


@strawberry.enum
class PostureRunStatus(Enum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


@strawberry.type
class PostureRun(t.Node):
    id: strawberry.ID
    trigger: t.ScanTrigger
    status: PostureRunStatus
    error: str
    created_at: datetime
    finished_at: datetime | None

    @classmethod
    def from_row(cls, row) -> PostureRun:
        return cls(
            id=strawberry.ID(row.id),
            trigger=t.ScanTrigger(row.trigger),
            status=PostureRunStatus(row.status),
            error=row.error,
            created_at=row.created_at,
            finished_at=row.finished_at,
        )


@strawberry.type
class PostureReport:
    connection_id: strawberry.ID
    latest_run: PostureRun | None
    summary: PostureSummary
    projects: list[ProjectPosture] = strawberry.field(
        description="Results about each project itself, its pipelines and its protected resources."
    )
    repositories: list[RepositoryPosture] = strawberry.field(description="A page of repositories, by name.")
    repositories_page_info: t.PageInfo


@strawberry.input
class PostureFilter:
    statuses: list[PostureStatus] | None = None
    min_severity: t.Severity | None = None
    control_ids: list[str] | None = None
    project_id: strawberry.ID | None = None
    repository_id: strawberry.ID | None = None
    resource_type: str | None = None

    def to_core(self) -> posture.PostureFilter:
        return posture.PostureFilter(
            statuses=[s.value for s in self.statuses or []],
            min_severity=self.min_severity.value if self.min_severity else None,
            control_ids=list(self.control_ids or []),
            project_id=self.project_id,
            repository_id=self.repository_id,
            resource_type=self.resource_type,
        )


@strawberry.type
class PostureQueued:
    run: PostureRun
    already_queued: bool = strawberry.field(
        description="An evaluation was queued or running: this answers it, and nothing more was queued."
    )
    message: str


PostureEvaluationResult = Annotated[
    PostureQueued | t.NotFoundError | t.InvalidInputError | RateLimitedError,
    strawberry.union("PostureEvaluationResult"),
]


def to_report(report: posture.PostureReport, after: str | None = None) -> PostureReport:
    severities = {k.lower(): v for k, v in report.failed_by_severity.items()}
    return PostureReport(
        connection_id=strawberry.ID(report.connection.id),
        latest_run=PostureRun.from_row(report.latest_run) if report.latest_run else None,
        summary=PostureSummary(
            passed=report.counts.get("PASS", 0),
            failed=report.counts.get("FAIL", 0),
            not_evaluated=report.counts.get("NOT_EVALUATED", 0),
            failed_by_severity=t.FindingCounts(**severities),
        ),
        projects=[
            ProjectPosture(
                project_id=strawberry.ID(p.id),
                name=p.name,
                results=[PostureResult.from_row(r) for r in p.results],
            )
            for p in report.projects
        ],
        repositories=[
            RepositoryPosture(
                repository_id=strawberry.ID(r.id),
                name=r.name,
                project_name=r.project_name,
                results=[PostureResult.from_row(x) for x in r.results],
            )
            for r in report.repositories
        ],
        repositories_page_info=t.PageInfo(
            has_previous_page=after is not None,
            has_next_page=report.has_next_page,
            start_cursor=None,
            end_cursor=report.end_cursor,
        ),
    )


@strawberry.type
class PostureQuery:
    @strawberry.field(description="Every CI/CD posture control: what it checks, why, and how to fix it.")
    def posture_controls(self) -> list[PostureControl]:
        return [PostureControl.from_control(c) for c in posture.control_catalog()]

    @strawberry.field(
        description="The latest posture results of a connection, or null when it does not exist."
    )
    @bad_arguments
    async def posture_checks(
        self,
        info: Info,
        connection_id: strawberry.ID,
        filter: PostureFilter | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> PostureReport | None:
        ctx = info.context
        flt = filter.to_core() if filter else posture.PostureFilter()
        try:
            async with ctx.sessions() as session:
                report = await posture.posture_report(
                    session, ctx.principal.account_id, str(connection_id), flt, first, after
                )
        except NotFound:  # a nullable field: null for an unknown or another account's connection
            return None
        return to_report(report, after)


@strawberry.type
class PostureMutation:
    @strawberry.mutation(
        description="Evaluate a connection's CI/CD posture now; while an evaluation is queued or running, "
        "answer that one."
    )
    @typed_errors
    async def evaluate_posture(self, info: Info, connection_id: strawberry.ID) -> PostureEvaluationResult:
        ctx = info.context
        asked = await posture.request_posture_evaluation(ctx.services, ctx.principal, str(connection_id))
        return PostureQueued(
            run=PostureRun.from_row(asked.run),
            already_queued=asked.already_queued,
            message="An evaluation is already queued or running."
            if asked.already_queued
            else "Posture evaluation queued.",
        )
