"""The GraphQL schema: resolvers parse arguments, call one `core` function, and render."""

from __future__ import annotations

import logging
import uuid
from typing import Annotated

import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaskErrors, MaxTokensLimiter, QueryDepthLimiter
from strawberry.types import Info

from api.graphql import types as t
from api.graphql.context import Context
from core.audit import service as audit
from core.db import session_scope
from core.discovery import service as discovery
from core.pagination import InvalidInput

log = logging.getLogger(__name__)

SCM_PROVIDERS = [
    t.ScmProvider(kind=t.ScmProviderKind.AZURE_DEVOPS, name="Azure DevOps", available=True),
    t.ScmProvider(kind=t.ScmProviderKind.GITHUB, name="GitHub", available=False),
    t.ScmProvider(kind=t.ScmProviderKind.GITLAB, name="GitLab", available=False),
    t.ScmProvider(kind=t.ScmProviderKind.BITBUCKET, name="Bitbucket", available=False),
]

SetRepositorySelectionResult = Annotated[
    t.SetRepositorySelectionSuccess | t.NotFoundError | t.InvalidInputError,
    strawberry.union("SetRepositorySelectionResult"),
]


class BadArgument(GraphQLError):
    """An argument the caller must fix; shown as is (not masked)."""


def context(info: Info) -> Context:
    return info.context


@strawberry.type
class Query:
    @strawberry.field(description="Source-code providers and whether they can be connected yet.")
    def scm_providers(self) -> list[t.ScmProvider]:
        return SCM_PROVIDERS

    @strawberry.field(description="Repositories discovered in the account's connected organizations.")
    async def repositories(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        filter: t.RepositoryFilter | None = None,
    ) -> t.Connection[t.Repository]:
        ctx = context(info)
        flt = discovery.RepositoryFilter(**vars(filter)) if filter else discovery.RepositoryFilter()
        try:
            async with ctx.sessions() as session:
                page = await discovery.list_repositories(session, ctx.principal.account_id, flt, first, after)
        except InvalidInput as error:
            raise BadArgument(str(error)) from None
        return t.to_connection(page, t.Repository.from_row)

    @strawberry.field(description="Who did what, newest first.")
    async def audit_events(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> t.Connection[t.AuditEvent]:
        ctx = context(info)
        try:
            async with ctx.sessions() as session:
                page = await audit.list_events(session, ctx.principal.account_id, first, after)
        except InvalidInput as error:
            raise BadArgument(str(error)) from None
        return t.to_connection(page, t.AuditEvent.from_row)


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Select repositories for scanning, or deselect them.")
    async def set_repository_selection(
        self, info: Info, ids: list[strawberry.ID], selected: bool
    ) -> SetRepositorySelectionResult:
        ctx = context(info)
        try:
            async with session_scope(ctx.sessions) as session:
                rows = await discovery.set_selection(
                    session,
                    ctx.principal.account_id,
                    ctx.principal.user_email,
                    [str(i) for i in ids],
                    selected,
                )
        except InvalidInput as error:
            return t.InvalidInputError(code="INVALID_INPUT", message=str(error))
        except LookupError:
            return t.NotFoundError(code="NOT_FOUND", message="One or more repositories do not exist.")
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
    query=Query,
    mutation=Mutation,
    extensions=[
        lambda: QueryDepthLimiter(max_depth=10),
        lambda: MaxTokensLimiter(max_token_count=5000),
        lambda: MaskWithCorrelation(should_mask_error=should_mask, error_message="Unexpected error."),
    ],
)
