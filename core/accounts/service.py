"""Accounts and their API tokens. A token is random, shown once, and stored only as a hash."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.accounts.models import Account, ApiToken, utcnow
from core.errors import NotFound

TOKEN_PREFIX = "pan_"  # noqa: S105 - a prefix that makes leaked tokens recognisable, not a secret


@dataclass(frozen=True)
class Principal:
    """Who is calling: the account whose data they may see, and the user named in the audit trail."""

    account_id: str
    user_email: str
    token_id: str


@dataclass(frozen=True)
class IssuedToken:
    token_id: str
    token: str  # shown once, never stored


def hash_token(token: str) -> str:
    # Tokens carry 256 bits of randomness, so a plain SHA-256 cannot be brute-forced back to the token.
    return hashlib.sha256(token.encode()).hexdigest()


async def create_account(session: AsyncSession, name: str) -> Account:
    name = name.strip()
    if not name or len(name) > 200:
        raise ValueError("an account name has 1 to 200 characters")
    account = Account(name=name)
    session.add(account)
    await session.flush()
    return account


async def issue_token(session: AsyncSession, account_id: str, user_email: str) -> IssuedToken:
    if await session.get(Account, account_id) is None:
        raise NotFound("account", f"no account {account_id}")
    if "@" not in user_email or len(user_email) > 320:
        raise ValueError("the user is named by an e-mail address")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(account_id=account_id, user_email=user_email, token_hash=hash_token(token))
    session.add(row)
    await session.flush()
    return IssuedToken(token_id=row.id, token=token)


async def revoke_token(session: AsyncSession, token_id: str) -> bool:
    row = await session.get(ApiToken, token_id)
    if row is None or row.revoked_at is not None:
        return False
    row.revoked_at = utcnow()
    session.add(row)
    return True


async def authenticate(session: AsyncSession, token: str | None) -> Principal | None:
    if not token or not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    result = await session.exec(select(ApiToken).where(ApiToken.token_hash == hash_token(token)))
    row = result.first()
    if row is None or row.revoked_at is not None:
        return None
    return Principal(account_id=row.account_id, user_email=row.user_email, token_id=row.id)


async def demo_token(session: AsyncSession, name: str, user_email: str) -> tuple[str, IssuedToken]:
    """The sandbox's demo account (created once) and a fresh token for this run."""
    account = (await session.exec(select(Account).where(Account.name == name))).first()
    if account is None:
        account = await create_account(session, name)
    return account.id, await issue_token(session, account.id, user_email)
