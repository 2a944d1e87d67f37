"""GraphQL the console needs beyond the rest of the schema: API tokens and the findings trend."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import strawberry
from strawberry.types import Info

from api.graphql import types as t
from api.graphql.answers import bad_arguments, typed_errors
from core.accounts import token_admin
from core.db import session_scope
from core.db.columns import utcnow
from core.errors import NotFound
from core.findings import trends
from core.severity import ORDER


@strawberry.type(description="An API token of the account; the token itself is shown only when created.")
class ApiToken:
    id: strawberry.ID
    user_email: str
    created_at: datetime
    revoked_at: datetime | None


@strawberry.type
class CreatedApiToken:
    api_token: ApiToken
    token: str = strawberry.field(description="Shown once: only its hash is kept.")


@strawberry.type(
    description="One UTC day: findings open at its end by severity, and found and fixed that day."
)
class FindingTrendDay:
    day: date
    open: t.FindingCounts
    new_findings: int
    fixed_findings: int


RevokeApiTokenResult = Annotated[ApiToken | t.NotFoundError, strawberry.union("RevokeApiTokenResult")]


def api_token(row) -> ApiToken:
    return ApiToken(
        id=row.id, user_email=row.user_email, created_at=row.created_at, revoked_at=row.revoked_at
    )


@strawberry.type
class ConsoleQuery:
    @strawberry.field(description="The account's API tokens, newest first (at most 200).")
    async def api_tokens(self, info: Info) -> list[ApiToken]:
        ctx = info.context
        async with ctx.sessions() as session:
            return [
                api_token(row) for row in await token_admin.list_tokens(session, ctx.principal.account_id)
            ]

    @strawberry.field(
        description="Open findings by severity at the end of each of the last `days` UTC days (1 to 90), with "
        "new and fixed per day; for the account or one repository. Findings suppressed now are left out."
    )
    @bad_arguments
    async def finding_trend(
        self, info: Info, days: int = 30, repository_id: strawberry.ID | None = None
    ) -> list[FindingTrendDay]:
        ctx = info.context
        async with ctx.sessions() as session:
            found = await trends.daily_trend(
                session, ctx.principal.account_id, days, utcnow().date(), repository_id
            )
        return [
            FindingTrendDay(
                day=d.day,
                open=t.FindingCounts(**{s.lower(): n for s, n in d.open.items() if s in ORDER}),
                new_findings=d.new_findings,
                fixed_findings=d.fixed_findings,
            )
            for d in found
        ]


@strawberry.type
class ConsoleMutation:
    @strawberry.mutation(description="A new API token for the caller; the token is in the answer only.")
    async def create_api_token(self, info: Info) -> CreatedApiToken:
        ctx = info.context
        async with session_scope(ctx.sessions) as session:
            row, issued = await token_admin.create_token(session, ctx.principal)
            created = api_token(row)
        return CreatedApiToken(api_token=created, token=issued.token)

    @strawberry.mutation(description="Revoke one of the account's API tokens.")
    @typed_errors
    async def revoke_api_token(self, info: Info, id: strawberry.ID) -> RevokeApiTokenResult:
        ctx = info.context
        async with session_scope(ctx.sessions) as session:
            row = await token_admin.revoke_token(session, ctx.principal, str(id))
            if row is None:  # unknown, or another account's
                raise NotFound("API token", "No such API token in this account.")
            return api_token(row)
