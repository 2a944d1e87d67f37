"""GraphQL for the account itself: `deleteAccount`, for its owner (an API token holder), confirmed by name."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from api.graphql import types as t
from api.graphql.answers import typed_errors
from core.errors import PermissionDenied
from core.retention import accounts


@strawberry.type
class DeleteAccountSuccess:
    account_id: strawberry.ID
    rows: int = strawberry.field(description="Rows deleted, over every table.")


ForbiddenError = t.ForbiddenError

DeleteAccountResult = Annotated[
    DeleteAccountSuccess | t.InvalidInputError | ForbiddenError, strawberry.union("DeleteAccountResult")
]


@strawberry.type
class AccountsMutation:
    @strawberry.mutation(
        description="Delete this account and everything stored for it (connections, repositories, findings, "
        "Slack installations, members, sessions, tokens, jobs). `confirmName` must be the account's name. "
        "Only an account owner (an API token, not a console session) may."
    )
    @typed_errors
    async def delete_account(self, info: Info, confirm_name: str) -> DeleteAccountResult:
        ctx = info.context
        if not ctx.principal.token_id:
            raise PermissionDenied("Only the account's owner (with an API token) can delete the account.")
        done = await accounts.delete_account(
            ctx.services.sessions,
            ctx.services.settings,
            ctx.principal.account_id,
            confirm_name,
            actor=ctx.principal.user_email,
        )
        return DeleteAccountSuccess(account_id=strawberry.ID(done.account_id), rows=done.rows)
