"""Starting a connection and completing Entra ID admin consent.

The consent `state` is random, single use, valid 15 minutes and bound to the account, the user and the
pending connection; only its hash is stored. It is issued only after an administrator of the organization
signed in (core/connections/signin.py), and the callback checks that the organization is bound to this
connection. The callback's `admin_consent` and `tenant` parameters are unsigned and never trusted.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlencode

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.accounts.service import Principal
from core.audit.service import record
from core.azure.errors import AzureError, InvalidOrganization, OrganizationNotFound
from core.azure.organization import parse_organization
from core.connections.models import AzureConnection, ConnectionStatus, ConsentRequest, OrganizationBinding
from core.db.columns import utcnow
from core.errors import DomainError
from core.jobs import service as jobs
from core.ownership import owned_by
from core.settings import Settings
from core.slack.models import SlackConnectOrigin
from core.slack.payloads import CONSENT_FOLLOWUP, ConsentFollowup

ZERO_TENANT = "00000000-0000-0000-0000-000000000000"
STATE_LIFETIME = timedelta(minutes=15)
PAGE_LIFETIME = timedelta(hours=2)
MAX_STATE_LENGTH = 200

FindTenant = Callable[[str], Awaitable[str]]


class ConnectError(DomainError):
    """A connection could not be started or changed; `code` says why (the GraphQL error code)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class Started:
    connection: AzureConnection
    # Microsoft's sign-in at the organization's tenant; once the person is proven an administrator of
    # the organization, the callback sends the browser on to admin consent.
    sign_in_url: str


@dataclass
class ConsentOutcome:
    """What the callback page shows: `granted`, `cancelled` (retry offered) or `invalid` (HTTP 400)."""

    kind: str
    message: str
    connection: AzureConnection | None = None
    error: str = ""
    page_token: str = ""


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def consent_url(settings: Settings, tenant_id: str, state: str) -> str:
    query = urlencode(
        {
            "client_id": settings.entra_client_id,
            "scope": settings.entra_consent_scope,
            "redirect_uri": f"{settings.public_url}/consent/azure/callback",
            "state": state,
        }
    )
    return f"{settings.entra_authority_host}/{tenant_id}/v2.0/adminconsent?{query}"


async def resolve_organization(text: str, find_tenant: FindTenant) -> tuple[str, str]:
    """Validate the name and find the organization's Entra tenant, before touching the database."""
    try:
        organization = parse_organization(text)
    except InvalidOrganization as error:
        raise ConnectError("INVALID_ORGANIZATION", error.message) from None
    try:
        tenant_id = await find_tenant(organization)
    except OrganizationNotFound:
        raise ConnectError(
            "ORGANIZATION_NOT_FOUND",
            f"There is no Azure DevOps organization named '{organization}'. Check the name in "
            f"https://dev.azure.com/{organization}.",
        ) from None
    except AzureError as error:
        raise ConnectError("AZURE_UNAVAILABLE", error.message) from None
    if tenant_id == ZERO_TENANT:
        raise ConnectError(
            "ORGANIZATION_NOT_ENTRA_BACKED",
            f"The organization '{organization}' uses Microsoft accounts, not Microsoft Entra ID, so it cannot "
            "add service principals. Connect it to your Entra tenant first (Organization settings → "
            "Microsoft Entra), then try again.",
        )
    return organization, tenant_id


# Statuses whose data and status stay as they are while an administrator signs in again.
KEEP_WHILE_PROVING = (ConnectionStatus.DEGRADED, ConnectionStatus.PROOF_REQUIRED)


async def start_connection(
    session: AsyncSession, principal: Principal, organization: str, tenant_id: str, move: bool = False
) -> AzureConnection:
    """Create (or reuse) the account's connection, before its administrator signs in.

    ORGANIZATION_CLAIMED when another account holds the organization (unless `move` is asked: then only a
    proven administrator of the organization completes it).
    """
    await check_claim(session, principal, organization, move)
    existing = (
        await session.exec(
            select(AzureConnection).where(
                owned_by(AzureConnection, principal.account_id),
                AzureConnection.organization == organization,
            )
        )
    ).first()
    if existing is not None and existing.status == ConnectionStatus.CONNECTED:
        raise ConnectError("ALREADY_CONNECTED", f"The organization '{organization}' is already connected.")
    connection = existing or AzureConnection(
        account_id=principal.account_id,
        organization=organization,
        tenant_id=tenant_id,
        created_by=principal.user_email,
    )
    connection.tenant_id = tenant_id
    if connection.status not in KEEP_WHILE_PROVING:
        connection.status = ConnectionStatus.PENDING_CONSENT
        connection.status_reason = ""
    session.add(connection)
    await session.flush()
    record(
        session,
        principal.account_id,
        principal.user_email,
        "connection.started",
        organization,
        connection_id=connection.id,
        tenant_id=tenant_id,
        move=move,
    )
    return connection


PROOF_REQUIRED_REASON = (
    "An administrator of the organization must sign in to prove it belongs to this account before it is "
    "verified or scanned again: start the connection again (startAzureConnection) and sign in."
)


async def check_claim(session: AsyncSession, principal: Principal, organization: str, move: bool) -> None:
    owner = await session.get(OrganizationBinding, organization)
    if owner is not None and owner.account_id != principal.account_id and not move:
        raise ConnectError("ORGANIZATION_CLAIMED", claimed_message(organization))


def claimed_message(organization: str) -> str:
    # Says nothing about the owner: not its name, its users or when it connected.
    return (
        f"The organization '{organization}' is already connected to another Panoptica account. Its owner "
        "can disconnect it; or an administrator of the organization can move it to this account: start "
        "again with moveFromOtherAccount: true (in Slack: connect azure <organization> move) and sign in."
    )


async def bound_to(session: AsyncSession, connection: AzureConnection) -> bool:
    """Whether the organization is bound to this very connection (its administrator proved it)."""
    binding = await session.get(OrganizationBinding, connection.organization)
    return (
        binding is not None
        and binding.connection_id == connection.id
        and binding.account_id == connection.account_id
        and connection.admin_proven_at is not None
    )


async def new_consent_request(session: AsyncSession, connection: AzureConnection, user_email: str) -> str:
    state = secrets.token_urlsafe(32)
    session.add(
        ConsentRequest(
            state_hash=digest(state),
            account_id=connection.account_id,
            connection_id=connection.id,
            user_email=user_email,
            expires_at=utcnow() + STATE_LIFETIME,
        )
    )
    await session.flush()
    return state


async def complete_consent(
    session: AsyncSession, settings: Settings, params: dict[str, str]
) -> ConsentOutcome:
    """The consent callback: state first, then error, then success. A bad state changes nothing."""
    request = await claim_state(session, params.get("state", ""))
    if request is None:
        return ConsentOutcome(
            "invalid",
            "This consent link is invalid, expired or was already used. Start the connection again from the "
            "console or Slack.",
        )
    connection = await session.get(AzureConnection, request.connection_id)
    if connection is None:
        return ConsentOutcome("invalid", "The connection this consent was for no longer exists.")
    if not await bound_to(session, connection):
        # A consent state is only issued after an administrator's sign-in; anything else is a forgery or a
        # state from before the proof was required.
        return ConsentOutcome(
            "invalid",
            "An administrator of the organization must sign in before consent. Start the connection again.",
        )
    if params.get("error"):
        return await consent_cancelled(session, settings, request, connection, params)
    now = utcnow()
    connection.status = ConnectionStatus.CONSENT_GRANTED
    connection.status_reason = ""
    connection.consented_at = now
    connection.consented_by = request.user_email
    session.add(connection)
    page_token = secrets.token_urlsafe(32)
    request.page_token_hash = digest(page_token)
    request.page_expires_at = now + PAGE_LIFETIME
    session.add(request)
    record(
        session,
        connection.account_id,
        request.user_email,
        "consent.granted",
        connection.organization,
        connection_id=connection.id,
    )
    if await session.get(SlackConnectOrigin, connection.id) is not None:
        # Started from Slack: tell that person what comes next (a durable job, once per consent).
        await jobs.enqueue(
            session,
            CONSENT_FOLLOWUP,
            ConsentFollowup(connection_id=connection.id),
            dedupe_key=f"consent-followup:{request.id}",
        )
    return ConsentOutcome("granted", "Consent granted.", connection, page_token=page_token)


async def consent_cancelled(session, settings, request, connection, params) -> ConsentOutcome:
    error = params.get("error", "")[:100]
    description = params.get("error_description", "")[:300]
    connection.status_reason = f"Consent was not granted ({error})."
    session.add(connection)
    record(
        session,
        connection.account_id,
        request.user_email,
        "consent.cancelled",
        connection.organization,
        connection_id=connection.id,
        error=error,
    )
    retry_state = await new_consent_request(session, connection, request.user_email)
    return ConsentOutcome(
        "cancelled",
        consent_url(settings, connection.tenant_id, retry_state),
        connection,
        error=f"{error}: {description}" if description else error,
    )


async def claim_state(session: AsyncSession, state: str, model: type = ConsentRequest):
    """Mark a single-use state used in one conditional UPDATE, so two racing callbacks cannot both win.

    `model` is the request the state belongs to: a ConsentRequest, or a SignInRequest (same columns)."""
    if not state or len(state) > MAX_STATE_LENGTH:
        return None
    state_hash = digest(state)
    now = utcnow()
    result = await session.exec(
        update(model)
        .where(model.state_hash == state_hash, col(model.used_at).is_(None), model.expires_at > now)
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return None
    request = (await session.exec(select(model).where(model.state_hash == state_hash))).one()
    return request if hmac.compare_digest(request.state_hash, state_hash) else None


async def connection_for_page(session: AsyncSession, page_token: str | None, connection_id: str):
    """The connection a callback page may act on, when its cookie is valid for that connection."""
    if not page_token or len(page_token) > MAX_STATE_LENGTH:
        return None
    request = (
        await session.exec(select(ConsentRequest).where(ConsentRequest.page_token_hash == digest(page_token)))
    ).first()
    if request is None or request.connection_id != connection_id:
        return None
    if request.page_expires_at is None or request.page_expires_at < utcnow():
        return None
    return request
