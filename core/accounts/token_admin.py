"""API tokens as an account's console manages them: list, create (shown once), revoke; each change audited.

Every function is scoped to the caller's account: another account's token id is simply not found.
"""

from __future__ import annotations

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.accounts.models import ApiToken, utcnow
from core.accounts.service import IssuedToken, Principal, issue_token
from core.audit.service import record
from core.ownership import find_owned, owned_by


async def list_tokens(session: AsyncSession, account_id: str) -> list[ApiToken]:
    result = await session.exec(
        select(ApiToken)
        .where(owned_by(ApiToken, account_id))
        .order_by(col(ApiToken.created_at).desc(), col(ApiToken.id))
        .limit(200)
    )
    return list(result.all())


async def create_token(session: AsyncSession, principal: Principal) -> tuple[ApiToken, IssuedToken]:
    """A token for the person asking (named in the audit trail as its user)."""
    issued = await issue_token(session, principal.account_id, principal.user_email)
    record(session, principal.account_id, principal.user_email, "api_token.created", issued.token_id)
    token = await session.get(ApiToken, issued.token_id)
    assert token is not None  # issued just now, in this transaction
    return token, issued


async def revoke_token(session: AsyncSession, principal: Principal, token_id: str) -> ApiToken | None:
    """Revoke one of the account's tokens (idempotent); None when the account has no such token."""
    row = await find_owned(session, ApiToken, token_id[:36], principal.account_id)
    if row is None:
        return None
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        session.add(row)
        record(session, principal.account_id, principal.user_email, "api_token.revoked", row.id)
    return row
