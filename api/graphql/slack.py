"""GraphQL for the Slack app: link codes and who may change things from Slack."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.types import Info

from api.graphql import types as t
from api.graphql.answers import typed_errors
from core.db import session_scope
from core.db.columns import utcnow
from core.slack import service as slack


@strawberry.type
class SlackLinkCode:
    code: str
    expires_at: datetime
    instructions: str


@strawberry.type
class SlackAdmins:
    user_ids: list[str]


SlackAdminsResult = Annotated[SlackAdmins | t.InvalidInputError, strawberry.union("SlackAdminsResult")]


@strawberry.type
class SlackQuery:
    @strawberry.field(
        description="Slack user ids allowed to change things, besides workspace admins and owners."
    )
    async def slack_admins(self, info: Info) -> list[str]:
        ctx = info.context
        async with ctx.sessions() as session:
            return await slack.list_admins(session, ctx.principal.account_id)


@strawberry.type
class SlackMutation:
    @strawberry.mutation(
        description="A one-time code (15 minutes) to type as `/panoptica link CODE` in Slack."
    )
    async def create_slack_link_code(self, info: Info) -> SlackLinkCode:
        ctx = info.context
        async with session_scope(ctx.sessions) as session:
            code = await slack.create_link_code(session, ctx.principal.account_id, ctx.principal.user_email)
        return SlackLinkCode(
            code=code,
            expires_at=utcnow() + slack.CODE_LIFETIME,
            instructions=f"In Slack, a workspace admin types: /panoptica link {code}",
        )

    @strawberry.mutation(description="Replace the list of Slack user ids allowed to change things.")
    @typed_errors
    async def set_slack_admins(self, info: Info, user_ids: list[str]) -> SlackAdminsResult:
        ctx = info.context
        async with session_scope(ctx.sessions) as session:
            saved = await slack.set_admins(
                session, ctx.principal.account_id, ctx.principal.user_email, user_ids
            )
        return SlackAdmins(user_ids=saved)
