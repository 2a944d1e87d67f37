"""Connect, refresh and disconnect: the diagnosis, the connection's status, then discovery.

No database transaction is held while Azure is called: the diagnosis and the listing happen first, then
one short transaction stores the checks, the status and the reconciled repositories together.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.accounts.service import Principal
from core.audit.service import record, record_change
from core.azure.errors import AzureError
from core.connections import service, signin
from core.connections.diagnosis import Diagnosis, Findings, diagnose
from core.connections.models import AzureConnection, ConnectionStatus, DiscoveryStatus
from core.db import session_scope
from core.db.columns import utcnow
from core.discovery.reconcile import Summary, reconcile
from core.ownership import find_owned
from core.services import Services


@dataclass
class ConnectResult:
    connection: AzureConnection
    diagnosis: Diagnosis
    discovery: Summary | None


async def start(
    services: Services, principal: Principal, organization_text: str, move: bool = False
) -> service.Started:
    """Validate the organization, find its tenant (anonymously), then the sign-in that must prove an
    administrator of it (core/connections/signin.py) before consent.

    Raises service.ConnectError with the GraphQL error code.
    """

    async def find_tenant(organization: str) -> str:
        return (await services.azure.find_tenant(organization)).tenant_id

    organization, tenant_id = await service.resolve_organization(organization_text, find_tenant)
    async with services.sessions() as session:  # refuse a claimed organization before calling Entra ID
        await service.check_claim(session, principal, organization, move)
    try:
        flow = await signin.new_flow(services, tenant_id)
    except AzureError as error:
        raise service.ConnectError("AZURE_UNAVAILABLE", error.message) from None
    async with session_scope(services.sessions) as session:
        connection = await service.start_connection(session, principal, organization, tenant_id, move)
        await signin.begin(session, connection, principal.user_email, flow, move)
    return service.Started(connection=connection, sign_in_url=flow["auth_uri"])


async def load_connection(services: Services, account_id: str, connection_id: str) -> AzureConnection | None:
    """Another account's connection is indistinguishable from one that does not exist."""
    async with services.sessions() as session:
        return await find_owned(session, AzureConnection, connection_id, account_id)


async def connect(services: Services, principal: Principal, connection_id: str, action: str = "connect"):
    """Diagnose; when every check passes, mark CONNECTED and discover. None for an unknown connection.

    Raises service.ConnectError (CONSENT_REQUIRED, PROOF_REQUIRED) before any call to Azure DevOps when no
    administrator of the organization proved it for this account."""
    connection = await load_connection(services, principal.account_id, connection_id)
    if connection is None:
        return None
    await require_proof(services, connection)
    findings = Findings(connection.organization, connection.tenant_id, connection.consented_at)
    diagnosis = await diagnose(services.azure, services.settings, findings)
    now = utcnow()
    async with session_scope(services.sessions) as session:
        connection = await session.get(AzureConnection, connection_id)
        if connection is None:  # disconnected meanwhile
            return None
        before = verification_state(connection)
        apply_diagnosis(connection, diagnosis, now)
        summary = None
        if diagnosis.ok:
            summary = await reconcile(
                session, connection, findings.projects, findings.repositories or [], now
            )
            connection.discovery_status = DiscoveryStatus.SUCCEEDED
            connection.discovery_error = ""
            connection.discovered_at = now
        session.add(connection)
        outcome = "succeeded" if diagnosis.ok else "failed"
        event = (
            principal.account_id,
            principal.user_email,
            f"connection.{action}.{outcome}",
            connection.organization,
        )
        failed = [c.code for c in diagnosis.checks if c.status == "FAIL"]
        if action == "verify":  # the daily re-verification: an event only when something changed
            after = verification_state(connection, summary)
            record_change(session, *event, before, after, connection_id=connection.id, failed=failed)
        else:
            record(session, *event, connection_id=connection.id, failed=failed)
    return ConnectResult(connection, diagnosis, summary)


def verification_state(connection: AzureConnection, summary: Summary | None = None) -> dict:
    """What a re-verification can change: the status, which checks fail, and what discovery found."""
    state = {
        "status": str(connection.status),
        "failed": sorted(c["code"] for c in (connection.checks or []) if c.get("status") == "FAIL"),
    }
    changes = {k: getattr(summary, k) for k in ("added", "renamed", "removed", "restored")} if summary else {}
    state.update({f"repositories_{k}": v for k, v in changes.items() if v})
    return state


async def require_proof(services: Services, connection: AzureConnection) -> None:
    """Only a consented connection whose organization is bound to it is verified (and so scanned)."""
    if connection.status == ConnectionStatus.PROOF_REQUIRED:
        raise service.ConnectError(
            "PROOF_REQUIRED", connection.status_reason or service.PROOF_REQUIRED_REASON
        )
    if connection.status in (ConnectionStatus.PENDING_CONSENT, ConnectionStatus.DISCONNECTED):
        raise service.ConnectError(
            "CONSENT_REQUIRED",
            f"The organization '{connection.organization}' is not consented yet: an administrator of it must "
            "sign in and grant consent (startAzureConnection) first.",
        )
    async with services.sessions() as session:
        if not await service.bound_to(session, connection):
            raise service.ConnectError("PROOF_REQUIRED", service.PROOF_REQUIRED_REASON)


def apply_diagnosis(connection: AzureConnection, diagnosis: Diagnosis, now) -> None:
    connection.checks = [c.as_dict() for c in diagnosis.checks]
    connection.last_verified_at = now
    if diagnosis.ok:
        connection.connected_at = connection.connected_at or now
        connection.status = ConnectionStatus.CONNECTED
        connection.status_reason = ""
        return
    failed = next(c for c in diagnosis.checks if c.status == "FAIL")
    connection.status_reason = failed.message[:500]
    if diagnosis.transient:
        return  # Azure was unavailable: keep the status we had
    if connection.status in (ConnectionStatus.CONNECTED, ConnectionStatus.DEGRADED):
        connection.status = ConnectionStatus.DEGRADED


async def disconnect(services: Services, principal: Principal, connection_id: str) -> bool:
    """Remove the connection and everything stored for it (projects, repositories, consent requests)."""
    async with session_scope(services.sessions) as session:
        connection = await find_owned(session, AzureConnection, connection_id, principal.account_id)
        if connection is None:
            return False
        await session.delete(connection)
        record(
            session,
            principal.account_id,
            principal.user_email,
            "connection.disconnected",
            connection.organization,
            connection_id=connection_id,
        )
    return True
