"""The GraphQL schema: resolvers parse arguments, call one `core` function, and render."""

from __future__ import annotations

import logging
import uuid
from typing import Annotated

import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaskErrors, MaxTokensLimiter
from strawberry.tools import merge_types
from strawberry.types import Info

from api.graphql import types as t
from api.graphql.accounts import AccountsMutation
from api.graphql.answers import bad_arguments, typed_errors
from api.graphql.console import ConsoleMutation, ConsoleQuery
from api.graphql.context import Context
from api.graphql.limits import GraphQLLimits, RateLimitedError
from api.graphql.posture import PostureMutation, PostureQuery, PostureRun
from api.graphql.scans import ScansMutation, ScansQuery
from api.graphql.slack import SlackMutation, SlackQuery
from core import nodes
from core.audit import service as audit
from core.connections import flows
from core.connections import queries as connection_queries
from core.db import session_scope
from core.discovery import service as discovery
from core.errors import NotFound
from core.ondemand import refresh as ondemand_refresh

log = logging.getLogger(__name__)

SCM_PROVIDERS = [
    t.ScmProvider(kind=t.ScmProviderKind.AZURE_DEVOPS, name="Azure DevOps", available=True),
    t.ScmProvider(kind=t.ScmProviderKind.GITHUB, name="GitHub", available=False),
    t.ScmProvider(kind=t.ScmProviderKind.GITLAB, name="GitLab", available=False),
    t.ScmProvider(kind=t.ScmProviderKind.BITBUCKET, name="Bitbucket", available=False),
]

StartAzureConnectionResult = Annotated[
    t.StartAzureConnectionSuccess | t.AzureConnectionError, strawberry.union("StartAzureConnectionResult")
]
ConnectAzureOrganizationResult = Annotated[
    t.ConnectAzureOrganizationSuccess | t.NotFoundError | t.AzureConnectionError,
    strawberry.union("ConnectAzureOrganizationResult"),
]
DisconnectAzureOrganizationResult = Annotated[
    t.DisconnectAzureOrganizationSuccess | t.NotFoundError,
    strawberry.union("DisconnectAzureOrganizationResult"),
]
SetRepositorySelectionResult = Annotated[
    t.SetRepositorySelectionSuccess | t.NotFoundError | t.InvalidInputError,
    strawberry.union("SetRepositorySelectionResult"),
]
RefreshAzureConnectionResult = Annotated[
    t.ConnectAzureOrganizationSuccess | t.NotFoundError | t.AzureConnectionError | RateLimitedError,
    strawberry.union("RefreshAzureConnectionResult"),
]


def context(info: Info) -> Context:
    return info.context


@strawberry.type
class Query:
    @strawberry.field(description="Source-code providers and whether they can be connected yet.")
    def scm_providers(self) -> list[t.ScmProvider]:
        return SCM_PROVIDERS

    @strawberry.field(description="The account's Azure DevOps connections.")
    async def connections(self, info: Info) -> list[t.AzureConnection]:
        ctx = context(info)
        async with ctx.sessions() as session:
            views = await connection_queries.list_connections(session, ctx.principal.account_id)
        return [t.AzureConnection.from_view(v) for v in views]

    @strawberry.field(description="One connection, or null when it does not exist.")
    async def connection(self, info: Info, id: strawberry.ID) -> t.AzureConnection | None:
        ctx = context(info)
        async with ctx.sessions() as session:
            views = await connection_queries.list_connections(session, ctx.principal.account_id, str(id))
        return t.AzureConnection.from_view(views[0]) if views else None

    @strawberry.field(description="Repositories discovered in the account's connected organizations.")
    @bad_arguments
    async def repositories(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        filter: t.RepositoryFilter | None = None,
    ) -> t.Connection[t.Repository]:
        ctx = context(info)
        flt = filter.to_core() if filter else discovery.RepositoryFilter()
        async with ctx.sessions() as session:
            page = await discovery.list_repositories(session, ctx.account_id, flt, first, after, count=False)

        async def count():
            async with ctx.sessions() as session:
                return await discovery.count_repositories(session, ctx.account_id, flt)

        return t.to_connection(page, t.Repository.from_row, after, count)

    @strawberry.field(description="One repository, or null when it is not the account's.")
    async def repository(self, info: Info, id: strawberry.ID) -> t.Repository | None:
        row = await context(info).repositories.load(str(id))
        return t.Repository.from_row(row) if row is not None else None

    @strawberry.field(
        description="Any object by its id (Relay): null when it does not exist or is another account's."
    )
    async def node(self, info: Info, id: strawberry.ID) -> t.Node | None:
        ctx = context(info)
        async with ctx.sessions() as session:
            found = await nodes.load(session, ctx.account_id, str(id))
        return render_node(found)

    @strawberry.field(description="Who did what, newest first.")
    @bad_arguments
    async def audit_events(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> t.Connection[t.AuditEvent]:
        ctx = context(info)
        async with ctx.sessions() as session:
            page = await audit.list_events(session, ctx.principal.account_id, first, after)
        return t.to_connection(page, t.AuditEvent.from_row, after)


def render_node(found: nodes.Found | None) -> t.Node | None:
    if found is None:
        return None
    if found.kind == "Repository":
        return t.Repository.from_row(found.row)
    if found.kind == "Finding":
        return t.Finding.from_row(found.row)
    if found.kind == "ScanRun":
        return t.ScanRun.from_row(found.row)
    if found.kind == "AzureConnection":
        return t.AzureConnection.from_view(found.row)
    if found.kind == "ConnectionScan":
        return t.ConnectionScan.from_progress(found.row)
    if found.kind == "PostureRun":
        return PostureRun.from_row(found.row)
    return None


def connect_payload(result) -> t.ConnectAzureOrganizationSuccess:
    if result is None:  # unknown, or another account's
        raise NotFound("connection")
    checks = [t.ConnectionCheck.from_dict(c.as_dict()) for c in result.diagnosis.checks]
    return t.ConnectAzureOrganizationSuccess(
        connection=t.AzureConnection.from_row(
            result.connection,
            result.discovery.projects if result.discovery else 0,
            result.discovery.repositories if result.discovery else 0,
        ),
        ok=result.diagnosis.ok,
        checks=checks,
    )


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Validate an organization and get the sign-in URL where its administrator proves it, "
        "then consents."
    )
    @typed_errors
    async def start_azure_connection(
        self, info: Info, organization: str, move_from_other_account: bool = False
    ) -> StartAzureConnectionResult:
        ctx = context(info)
        started = await flows.start(ctx.services, ctx.principal, organization, move_from_other_account)
        return t.StartAzureConnectionSuccess(
            connection=t.AzureConnection.from_row(started.connection), sign_in_url=started.sign_in_url
        )

    @strawberry.mutation(description="Verify the service principal's membership; when all is well, discover.")
    @typed_errors
    async def connect_azure_organization(
        self, info: Info, connection_id: strawberry.ID
    ) -> ConnectAzureOrganizationResult:
        ctx = context(info)
        return connect_payload(await flows.connect(ctx.services, ctx.principal, str(connection_id)))

    @strawberry.mutation(
        description="Re-verify a connection and rediscover its repositories; while a refresh of it is "
        "running, answer that one."
    )
    @typed_errors
    async def refresh_azure_connection(
        self, info: Info, connection_id: strawberry.ID
    ) -> RefreshAzureConnectionResult:
        ctx = context(info)
        return connect_payload(
            await ondemand_refresh.refresh(ctx.services, ctx.principal, str(connection_id))
        )

    @strawberry.mutation(description="Remove a connection and everything stored for it.")
    @typed_errors
    async def disconnect_azure_organization(
        self, info: Info, connection_id: strawberry.ID
    ) -> DisconnectAzureOrganizationResult:
        ctx = context(info)
        if not await flows.disconnect(ctx.services, ctx.principal, str(connection_id)):
            raise NotFound("connection")
        return t.DisconnectAzureOrganizationSuccess(connection_id=connection_id)

    @strawberry.mutation(description="Select repositories for scanning, or deselect them.")
    @typed_errors
    async def set_repository_selection(
        self, info: Info, ids: list[strawberry.ID], selected: bool
    ) -> SetRepositorySelectionResult:
        ctx = context(info)
        async with session_scope(ctx.sessions) as session:
            rows = await discovery.set_selection(
                session, ctx.principal.account_id, ctx.principal.user_email, [str(i) for i in ids], selected
            )
        return t.SetRepositorySelectionSuccess(repositories=[t.Repository.from_row(r) for r in rows])


def should_mask(error: GraphQLError) -> bool:
    """Mask unexpected exceptions only: validation errors and our argument errors stay readable."""
    original = error.original_error
    return original is not None and not isinstance(original, GraphQLError)


class MaskWithCorrelation(MaskErrors):
    """Replaces an unexpected error by a generic message carrying a correlation id, logged with the cause."""

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        correlation_id = uuid.uuid4().hex
        log.error(
            "unexpected GraphQL error %s at %s", correlation_id, error.path, exc_info=error.original_error
        )
        masked = super().anonymise_error(error)
        masked.extensions = {"code": "INTERNAL", "correlationId": correlation_id}
        return masked


class Schema(strawberry.Schema):
    def process_errors(self, errors, execution_context=None) -> None:
        # Unexpected errors are logged once, with their correlation id, by MaskWithCorrelation; the rest are
        # the caller's mistakes, answered in the response and not worth an error log.
        return None


schema = Schema(
    query=merge_types("Query", (Query, ScansQuery, PostureQuery, SlackQuery, ConsoleQuery)),
    # Implementations reached only through an interface (node(id:), ScanQueued.run) must still be in the SDL.
    types=[t.Repository, t.Finding, t.ScanRun, t.AzureConnection, t.ConnectionScan, PostureRun],
    mutation=merge_types(
        "Mutation",
        (Mutation, ScansMutation, PostureMutation, SlackMutation, ConsoleMutation, AccountsMutation),
    ),
    extensions=[
        lambda: MaxTokensLimiter(max_token_count=5000),
        # Cost, root mutation fields and depth, before execution (api/graphql/limits.py). It replaces
        # Strawberry's QueryDepthLimiter, which expands fragments exponentially.
        GraphQLLimits,
        lambda: MaskWithCorrelation(should_mask_error=should_mask, error_message="Unexpected error."),
    ],
)
