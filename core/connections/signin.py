"""Proving that the person connecting an organization administers it, then binding it to their account.

One multi-tenant app has one service principal per tenant, so every account of ours can get an app token
for any tenant that consented once: app tokens prove nothing about who is asking (the confused deputy).
Before consent, the person signs in with Entra ID at the organization's own tenant (authorization code
flow with PKCE, through MSAL); we check the id token ourselves (signature from the tenant's keys, issuer,
audience, expiry, `tid`), then ask Azure DevOps, with the person's delegated token, whether they hold a
permission only Project Collection Administrators hold. Only then is the organization bound to the
account, and only then is the admin-consent URL issued. The delegated token is used for that one call and
never stored; MSAL's cache for the sign-in is thrown away with its refresh token.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

import jwt
from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from core.audit.service import record
from core.azure.errors import AzureError, Forbidden, TokenError, Unauthorized
from core.azure.tokens import ADO_RESOURCE
from core.connections import service
from core.connections.models import (
    AzureConnection,
    ConnectionStatus,
    OrganizationBinding,
    SignInRequest,
)
from core.db import session_scope
from core.db.columns import utcnow

if TYPE_CHECKING:
    from core.services import Services


log = logging.getLogger(__name__)

# Security namespace reference (learn.microsoft.com, "Security namespace and permission reference"): the
# organization-level "Collection" namespace, its root token, and "Edit instance-level information"
# (GENERIC_WRITE), held by Project Collection Administrators and not by Project Collection Valid Users.
COLLECTION_NAMESPACE = "3e65f728-f8bc-4ecd-8764-7e378b19bfa7"
COLLECTION_TOKEN = "NAMESPACE"  # noqa: S105 - a security namespace token, not a password
COLLECTION_GENERIC_WRITE = 2
SIGN_IN_SCOPES = [f"{ADO_RESOURCE}/user_impersonation"]
SIGN_IN_LIFETIME = timedelta(minutes=15)
CLOCK_SKEW_SECONDS = 120


class SignInRefused(service.ConnectError):
    """The sign-in did not prove an administrator; `code` says why, `message` says what to do."""


@dataclass
class SignInOutcome:
    """`proven` (go on to consent at `consent_url`), `refused` (HTTP 403), `invalid` (HTTP 400)."""

    kind: str
    message: str
    code: str = ""
    consent_url: str = ""
    organization: str = ""


def redirect_uri(settings) -> str:
    return f"{settings.public_url}/signin/azure/callback"


async def begin(session: AsyncSession, connection: AzureConnection, user_email: str, flow: dict, move: bool):
    """Keep MSAL's flow server-side under its state's hash; the browser carries only the state."""
    session.add(
        SignInRequest(
            state_hash=service.digest(flow["state"]),
            account_id=connection.account_id,
            connection_id=connection.id,
            user_email=user_email,
            flow=flow,
            move=move,
            expires_at=utcnow() + SIGN_IN_LIFETIME,
        )
    )
    await session.flush()


async def new_flow(services: Services, tenant_id: str) -> dict:
    return await services.tokens.begin_sign_in(tenant_id, redirect_uri(services.settings), SIGN_IN_SCOPES)


async def complete(services: Services, params: dict[str, str]) -> SignInOutcome:
    """The sign-in callback: claim the state once, check the person, bind, then hand over to consent."""
    async with session_scope(services.sessions) as session:
        request = await service.claim_state(session, params.get("state", ""), SignInRequest)
        connection = await session.get(AzureConnection, request.connection_id) if request else None
    if request is None or connection is None:
        return SignInOutcome(
            "invalid",
            "This sign-in link is invalid, expired or was already used. Start the connection again from the "
            "console or Slack.",
        )
    organization = connection.organization
    try:
        if params.get("error"):
            raise SignInRefused(
                "SIGN_IN_CANCELLED",
                f"Microsoft Entra ID did not sign you in ({params['error'][:100]}). Nothing was changed.",
            )
        person = await prove_administrator(services, connection, request.flow, params)
        consent_url = await bind(services, request, person, organization)
    except SignInRefused as refusal:
        await audit_refusal(services, request, organization, refusal)
        return SignInOutcome("refused", refusal.message, refusal.code, organization=organization)
    return SignInOutcome(
        "proven", "Administrator confirmed.", consent_url=consent_url, organization=organization
    )


@dataclass
class Person:
    upn: str
    object_id: str


async def prove_administrator(services: Services, connection: AzureConnection, flow: dict, params) -> Person:
    organization, tenant_id = connection.organization, connection.tenant_id
    try:
        current = (await services.azure.find_tenant(organization)).tenant_id
    except AzureError as error:
        raise SignInRefused("AZURE_UNAVAILABLE", error.message) from None
    if current.lower() != tenant_id.lower():
        raise SignInRefused(
            "TENANT_MISMATCH",
            f"The organization '{organization}' is now backed by another Microsoft Entra tenant. Start the "
            "connection again.",
        )
    response = {k: v for k, v in params.items() if k in ("code", "state", "client_info", "session_state")}
    try:
        result = await services.tokens.finish_sign_in(tenant_id, flow, response)
    except TokenError as error:
        raise SignInRefused("AZURE_UNAVAILABLE", error.message) from None
    if "id_token" not in result or "access_token" not in result:
        log.info(
            "sign-in refused by Entra ID: %s %s",
            result.get("error", "no tokens"),
            result.get("error_description", "")[:200],
        )
        raise SignInRefused(
            "SIGN_IN_FAILED",
            f"Microsoft Entra ID did not complete the sign-in ({str(result.get('error', 'no token'))[:80]}). "
            "Start the connection again.",
        )
    claims = await verified_id_token(services, tenant_id, result["id_token"])
    if str(claims.get("tid", "")).lower() != tenant_id.lower():
        raise SignInRefused(
            "WRONG_TENANT",
            f"You signed in with an account of another Microsoft Entra tenant. Sign in with an account of the "
            f"tenant that backs '{organization}'.",
        )
    person = Person(
        str(claims.get("preferred_username") or claims.get("oid", ""))[:320], str(claims["oid"])[:36]
    )
    client = services.azure.organization(organization, tenant_id)
    try:
        admin = await client.caller_has_permission(
            result["access_token"], COLLECTION_NAMESPACE, COLLECTION_GENERIC_WRITE, COLLECTION_TOKEN
        )
    except (Unauthorized, Forbidden):
        admin = False  # not even a member of the organization
    except AzureError as error:
        raise SignInRefused("AZURE_UNAVAILABLE", error.message) from None
    if not admin:
        raise SignInRefused(
            "NOT_ORGANIZATION_ADMINISTRATOR",
            f"You signed in as {person.upn}, who is not a Project Collection Administrator of '{organization}'. "
            "Only an administrator of the organization can connect it: ask one to connect it, or to add you "
            f"to Project Collection Administrators (https://dev.azure.com/{organization}/_settings/groups).",
        )
    return person


async def verified_id_token(services: Services, tenant_id: str, id_token: str) -> dict:
    """What MSAL leaves to us: the signature (the tenant's published keys), issuer, audience, expiry."""
    try:
        issuer, keys = await services.tokens.openid_keys(tenant_id)
    except TokenError as error:
        raise SignInRefused("AZURE_UNAVAILABLE", error.message) from None
    try:
        header = jwt.get_unverified_header(id_token)
        key = jwt.PyJWKSet.from_dict(keys)[header.get("kid", "")]
        return jwt.decode(
            id_token,
            key.key,
            algorithms=["RS256"],
            audience=services.settings.entra_client_id,
            issuer=issuer,
            leeway=CLOCK_SKEW_SECONDS,
            options={"require": ["exp", "iat", "iss", "aud", "sub", "tid", "oid"]},
        )
    except (jwt.PyJWTError, KeyError, ValueError) as error:
        log.warning("id token refused: %s", type(error).__name__)
        raise SignInRefused(
            "SIGN_IN_FAILED", "The sign-in answer could not be verified. Start the connection again."
        ) from None


async def bind(services: Services, request: SignInRequest, person: Person, organization: str) -> str:
    """Bind the organization to the account (or move it, when asked by a proven administrator)."""
    try:
        async with session_scope(services.sessions) as session:
            connection = await session.get(AzureConnection, request.connection_id)
            if connection is None:
                raise SignInRefused("NOT_FOUND", "The connection this sign-in was for no longer exists.")
            await take_binding(session, connection, request, person)
            now = utcnow()
            connection.admin_proven_at = now
            connection.admin_proven_by = person.upn
            connection.admin_object_id = person.object_id
            if connection.status in (ConnectionStatus.PROOF_REQUIRED, ConnectionStatus.DISCONNECTED):
                connection.status = ConnectionStatus.PENDING_CONSENT
            connection.status_reason = ""
            session.add(connection)
            record(
                session,
                connection.account_id,
                request.user_email,
                "connection.administrator_proven",
                connection.organization,
                connection_id=connection.id,
                administrator=person.upn,
            )
            state = await service.new_consent_request(session, connection, request.user_email)
            return service.consent_url(services.settings, connection.tenant_id, state)
    except IntegrityError:
        # Another account bound it between our read and our write.
        raise SignInRefused("ORGANIZATION_CLAIMED", service.claimed_message(organization)) from None


async def take_binding(session, connection: AzureConnection, request: SignInRequest, person: Person) -> None:
    binding = await session.get(OrganizationBinding, connection.organization)
    if binding is None:
        session.add(
            OrganizationBinding(
                organization=connection.organization,
                account_id=connection.account_id,
                connection_id=connection.id,
                bound_by=person.upn,
            )
        )
        await session.flush()
        return
    if binding.account_id == connection.account_id:
        binding.connection_id = connection.id
        session.add(binding)
        return
    if not request.move:
        raise SignInRefused("ORGANIZATION_CLAIMED", service.claimed_message(connection.organization))
    await move_binding(session, binding, connection, request, person)


async def move_binding(session, binding, connection, request, person: Person) -> None:
    """A proven administrator takes the organization over: the old account keeps its history, stops scanning."""
    previous = await session.get(AzureConnection, binding.connection_id)
    if previous is not None:
        previous.status = ConnectionStatus.DISCONNECTED
        previous.status_reason = (
            "An administrator of the organization moved it to another Panoptica account: it is no longer "
            "verified or scanned here. Its history stays until you disconnect it."
        )
        session.add(previous)
        record(
            session,
            previous.account_id,
            person.upn,
            "connection.moved_away",
            previous.organization,
            connection_id=previous.id,
        )
    binding.account_id = connection.account_id
    binding.connection_id = connection.id
    binding.bound_at = utcnow()
    binding.bound_by = person.upn
    session.add(binding)
    record(
        session,
        connection.account_id,
        request.user_email,
        "connection.moved_here",
        connection.organization,
        connection_id=connection.id,
        administrator=person.upn,
    )


async def audit_refusal(
    services: Services, request: SignInRequest, organization: str, refusal: SignInRefused
) -> None:
    """Nothing changes but the audit trail of the account that asked."""
    async with session_scope(services.sessions) as session:
        record(
            session,
            request.account_id,
            request.user_email,
            "connection.administrator_refused",
            organization,
            connection_id=request.connection_id,
            reason=refusal.code,
        )
