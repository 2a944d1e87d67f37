"""What an operator lists: every account (with its active tokens and console members) and API tokens.

Never a token or its hash: a token is shown once, when it is issued.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.accounts.models import Account, ApiToken
from core.accounts.session_models import AccountMember
from core.errors import NotFound
from core.ownership import where_owned


@dataclass(frozen=True)
class AccountRow:
    id: str
    name: str
    created_at: datetime
    active_tokens: int
    members: int


@dataclass(frozen=True)
class TokenRow:
    id: str
    account_id: str
    account_name: str
    user_email: str
    created_at: datetime
    revoked_at: datetime | None


async def list_accounts(session: AsyncSession) -> list[AccountRow]:
    """Oldest first, with counts from two grouped statements (not one query per account)."""
    accounts = (await session.exec(select(Account).order_by(col(Account.created_at), col(Account.id)))).all()
    tokens = dict(
        (
            await session.exec(
                select(ApiToken.account_id, func.count())
                .where(col(ApiToken.revoked_at).is_(None))
                .group_by(ApiToken.account_id)
            )
        ).all()
    )
    members = dict(
        (
            await session.exec(
                select(AccountMember.account_id, func.count()).group_by(AccountMember.account_id)
            )
        ).all()
    )
    return [
        AccountRow(a.id, a.name, a.created_at, tokens.get(a.id, 0), members.get(a.id, 0)) for a in accounts
    ]


async def list_tokens(session: AsyncSession, account_id: str | None = None) -> list[TokenRow]:
    """Every token (or one account's), newest first; NotFound for an account that does not exist."""
    if account_id is not None and await session.get(Account, account_id[:36]) is None:
        raise NotFound("account", f"no account {account_id}")
    query = (
        select(ApiToken, Account.name)
        .join(Account, col(Account.id) == col(ApiToken.account_id))
        .order_by(col(ApiToken.created_at).desc(), col(ApiToken.id))
    )
    if account_id is not None:
        query = where_owned(query, ApiToken, account_id)
    rows = (await session.exec(query)).all()
    return [TokenRow(t.id, t.account_id, name, t.user_email, t.created_at, t.revoked_at) for t, name in rows]
