"""Console sign-in and sessions.

A person signs in with Entra ID at the multi-tenant authority (`organizations`: any work or school account),
through MSAL's authorization code flow with PKCE, kept server-side exactly as the connect flow's sign-in
(`core.connections.signin`). The id token is checked by the same function, at the keys and issuer of the
tenant the token names (`tid`), which is how a multi-tenant app validates Entra's tokens.

Who may use an account is a membership row (account, tenant id, object id): the object id is immutable,
the sign-in name is not. Nobody becomes a member by signing in: an operator adds members (the `make run`
demo seeds its administrator), so a stranger with a Microsoft account of their own reaches nothing, and
a person is only ever shown the account their membership names.

A session is a random cookie value; only its SHA-256 is stored. The console proves each GraphQL call is
its own with a CSRF token derived from the cookie value (so it needs no storage and dies with the
session), sent in a header a cross-site form or image cannot set.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

import jwt
from sqlmodel import col, delete, or_, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from core.accounts.models import Account
from core.accounts.service import Principal
from core.accounts.session_models import AccountMember, ConsoleSession, ConsoleSignIn
from core.azure.errors import TokenError
from core.connections import service as connections
from core.connections.signin import SignInRefused, verified_id_token
from core.db import session_scope
from core.db.columns import utcnow
from core.errors import NotFound
from core.ownership import owned_by

if TYPE_CHECKING:
    from core.services import Services


log = logging.getLogger(__name__)

MULTI_TENANT_AUTHORITY = "organizations"  # work and school accounts of any tenant
SIGN_IN_LIFETIME = timedelta(minutes=15)
SESSION_LIFETIME = timedelta(hours=12)
CALLBACK_PATH = "/console/signin/callback"
GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
MAX_TOKEN_LENGTH = 200


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def csrf_token(session_token: str) -> str:
    """The header value that proves a request comes from the console page holding this session."""
    return hashlib.sha256(b"panoptica-console-csrf:" + session_token.encode()).hexdigest()


def csrf_matches(session_token: str, header: str | None) -> bool:
    return bool(header) and hmac.compare_digest(csrf_token(session_token), header or "")


def safe_next(path: str | None) -> str:
    """Only a path of ours: never another origin (`//host`, `/\\host`, a scheme)."""
    path = (path or "/")[:1000]
    if not path.startswith("/") or path.startswith("//") or "\\" in path or any(ord(c) < 32 for c in path):
        return "/"
    return path


def redirect_uri(settings) -> str:
    return f"{settings.public_url}{CALLBACK_PATH}"


# --- members ---------------------------------------------------------------------------------------------
async def add_member(session: AsyncSession, account_id: str, tenant_id: str, object_id: str, upn: str):
    """Let a person (by tenant and object id) use an account's console; idempotent."""
    if not GUID.fullmatch(tenant_id or "") or not GUID.fullmatch(object_id or ""):
        raise ValueError("a member is named by the GUIDs of their Entra tenant and object")
    if await session.get(Account, account_id) is None:
        raise NotFound("account", f"no account {account_id}")
    existing = (
        await session.exec(
            select(AccountMember).where(
                owned_by(AccountMember, account_id),
                AccountMember.tenant_id == tenant_id.lower(),
                AccountMember.object_id == object_id.lower(),
            )
        )
    ).first()
    if existing is not None:
        return existing
    member = AccountMember(
        account_id=account_id, tenant_id=tenant_id.lower(), object_id=object_id.lower(), upn=upn[:320]
    )
    session.add(member)
    await session.flush()
    return member


async def member_for(session: AsyncSession, tenant_id: str, object_id: str) -> AccountMember | None:
    """The person's membership; with several, the oldest (an account switcher is not built yet)."""
    result = await session.exec(
        select(AccountMember)
        .where(AccountMember.tenant_id == tenant_id.lower(), AccountMember.object_id == object_id.lower())
        .order_by(col(AccountMember.created_at), col(AccountMember.id))
    )
    return result.first()


# --- sign-in ---------------------------------------------------------------------------------------------
@dataclass
class SignInStarted:
    url: str  # Microsoft's sign-in page
    browser_token: str  # the cookie that binds the callback to this browser


async def begin_sign_in(services: Services, next_path: str) -> SignInStarted:
    flow = await services.tokens.begin_sign_in(MULTI_TENANT_AUTHORITY, redirect_uri(services.settings), [])
    browser_token = secrets.token_urlsafe(32)
    async with session_scope(services.sessions) as session:
        session.add(
            ConsoleSignIn(
                state_hash=connections.digest(flow["state"]),
                browser_hash=digest(browser_token),
                flow=flow,
                next_path=safe_next(next_path),
                expires_at=utcnow() + SIGN_IN_LIFETIME,
            )
        )
    return SignInStarted(flow["auth_uri"], browser_token)


@dataclass
class SignInOutcome:
    """`signed_in` (set `session_token`, go to `next_path`), `unknown` (no account knows the person: 403),
    `refused` (Entra ID or the token said no: 403), `invalid` (a stale or foreign link: 400)."""

    kind: str
    message: str = ""
    session_token: str = ""
    next_path: str = "/"
    upn: str = ""
    tenant_id: str = ""
    object_id: str = ""


INVALID = SignInOutcome(
    "invalid", "This sign-in link is invalid, expired, already used or was started in another browser."
)


async def complete_sign_in(
    services: Services, params: dict[str, str], browser_token: str | None
) -> SignInOutcome:
    async with session_scope(services.sessions) as session:
        request = await connections.claim_state(session, params.get("state", ""), ConsoleSignIn)
    if request is None or not browser_token or len(browser_token) > MAX_TOKEN_LENGTH:
        return INVALID
    if not hmac.compare_digest(request.browser_hash, digest(browser_token)):
        return INVALID
    if params.get("error"):
        return SignInOutcome("refused", f"Microsoft Entra ID did not sign you in ({params['error'][:100]}).")
    try:
        claims = await verified_person(services, request.flow, params)
    except SignInRefused as refusal:
        return SignInOutcome("refused", refusal.message)
    tenant_id, object_id = str(claims["tid"]).lower(), str(claims["oid"]).lower()
    upn = str(claims.get("preferred_username") or object_id)[:320]
    async with session_scope(services.sessions) as session:
        member = await member_for(session, tenant_id, object_id)
        if member is None:
            return SignInOutcome("unknown", upn=upn, tenant_id=tenant_id, object_id=object_id)
        token = await open_session(session, member, upn)
    return SignInOutcome("signed_in", session_token=token, next_path=request.next_path, upn=upn)


async def verified_person(services: Services, flow: dict, params: dict[str, str]) -> dict:
    """Redeem the code (MSAL: state, nonce, PKCE), then check the id token at the tenant it names."""
    response = {k: v for k, v in params.items() if k in ("code", "state", "client_info", "session_state")}
    try:
        result = await services.tokens.finish_sign_in(MULTI_TENANT_AUTHORITY, flow, response)
    except TokenError as error:
        raise SignInRefused("AZURE_UNAVAILABLE", error.message) from None
    id_token = result.get("id_token")
    if not id_token:
        log.info("console sign-in refused by Entra ID: %s", str(result.get("error", "no id token"))[:100])
        raise SignInRefused("SIGN_IN_FAILED", "Microsoft Entra ID did not complete the sign-in. Try again.")
    try:
        tenant_id = str(jwt.decode(id_token, options={"verify_signature": False}).get("tid", ""))
    except jwt.PyJWTError:
        tenant_id = ""
    if not GUID.fullmatch(tenant_id):
        raise SignInRefused("SIGN_IN_FAILED", "The sign-in answer could not be verified. Try again.")
    # Signature from that tenant's keys, issuer exactly that tenant's, our audience, expiry.
    claims = await verified_id_token(services, tenant_id, id_token)
    if str(claims.get("tid", "")).lower() != tenant_id.lower():
        raise SignInRefused("SIGN_IN_FAILED", "The sign-in answer could not be verified. Try again.")
    return claims


# --- sessions --------------------------------------------------------------------------------------------
async def purge_stale(session: AsyncSession) -> None:
    """Sign-ins and sessions over for a day go at the next sign-in: nothing piles up, nothing is needed."""
    cutoff = utcnow() - timedelta(days=1)
    await session.exec(delete(ConsoleSignIn).where(col(ConsoleSignIn.expires_at) < cutoff))
    await session.exec(
        delete(ConsoleSession).where(
            or_(ConsoleSession.expires_at < cutoff, col(ConsoleSession.revoked_at) < cutoff)
        )
    )


async def open_session(session: AsyncSession, member: AccountMember, upn: str) -> str:
    await purge_stale(session)
    token = secrets.token_urlsafe(32)
    session.add(
        ConsoleSession(
            token_hash=digest(token),
            account_id=member.account_id,
            member_id=member.id,
            upn=upn,
            expires_at=utcnow() + SESSION_LIFETIME,
        )
    )
    await session.flush()
    return token


async def session_for(session: AsyncSession, token: str | None) -> ConsoleSession | None:
    """The live session of this cookie value: not expired, not signed out, its membership still there."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    row = (
        await session.exec(select(ConsoleSession).where(ConsoleSession.token_hash == digest(token)))
    ).first()
    if row is None or row.revoked_at is not None or row.expires_at <= utcnow():
        return None
    return row


def principal_of(row: ConsoleSession) -> Principal:
    return Principal(account_id=row.account_id, user_email=row.upn, token_id="")


async def authenticate_session(
    session: AsyncSession, token: str | None, csrf: str | None
) -> Principal | None:
    """GraphQL with the cookie: only with the CSRF header that the console page alone can compute."""
    row = await session_for(session, token)
    if row is None or not csrf_matches(token or "", csrf):
        return None
    return principal_of(row)


async def sign_out(session: AsyncSession, token: str | None) -> bool:
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return False
    result = await session.exec(
        update(ConsoleSession)
        .where(col(ConsoleSession.token_hash) == digest(token), col(ConsoleSession.revoked_at).is_(None))
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


@dataclass
class SessionInfo:
    upn: str
    account_id: str
    account_name: str
    expires_at: str


async def describe(session: AsyncSession, row: ConsoleSession) -> SessionInfo:
    account = await session.get(Account, row.account_id)
    return SessionInfo(row.upn, row.account_id, account.name if account else "", row.expires_at.isoformat())
