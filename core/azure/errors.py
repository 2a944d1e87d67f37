"""Typed errors for everything that goes wrong talking to Entra ID and Azure DevOps.

Every error carries a stable `code`, a `message` safe to show to its `audience`, and a `remediation`.
`audience` says who can fix it: "customer" (their tenant or organization) or "operator" (us: our
credentials, our bug, an outage). Messages and reprs never contain tokens or secrets; upstream text is kept
short in `detail` for logs and support.
"""

from __future__ import annotations

import json
import re
from typing import Literal

import httpx

Audience = Literal["customer", "operator"]
MAX_DETAIL = 300


def shorten(text: str, limit: int = MAX_DETAIL) -> str:
    """Cut text to `limit` characters so huge inputs or bodies never end up in messages or logs."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class AzureError(Exception):
    """Base class. Subclasses set the class defaults; instances may override message and remediation."""

    code = "azure_error"
    audience: Audience = "operator"
    retryable = False
    default_message = "Azure request failed."
    default_remediation = ""

    def __init__(
        self,
        message: str | None = None,
        *,
        remediation: str | None = None,
        detail: str = "",
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.message = message or self.default_message
        self.remediation = remediation if remediation is not None else self.default_remediation
        self.detail = shorten(detail)
        self.status = status
        self.retry_after = retry_after
        super().__init__(self.message)

    def to_dict(self) -> dict:
        return {
            "code": self.code,
            "audience": self.audience,
            "message": self.message,
            "remediation": self.remediation,
        }


# --- input ------------------------------------------------------------------------------------------


class InvalidOrganization(AzureError, ValueError):
    code = "invalid_organization"
    audience = "customer"
    default_message = "Not a valid Azure DevOps organization name."
    default_remediation = (
        "Enter the organization name (letters, digits and hyphens, at most 50 characters) or its URL, "
        "e.g. https://dev.azure.com/contoso or https://contoso.visualstudio.com."
    )


# --- Entra ID tokens --------------------------------------------------------------------------------


class TokenError(AzureError):
    """Entra ID refused to issue a token. `tenant_id` is the customer tenant asked."""

    code = "token_error"

    def __init__(self, message: str | None = None, *, tenant_id: str = "", correlation_id: str = "", **kw):
        self.tenant_id = tenant_id
        self.correlation_id = correlation_id
        super().__init__(message, **kw)


class ConsentMissing(TokenError):
    code = "consent_missing"
    audience = "customer"
    default_remediation = (
        "Ask a Global Administrator of that tenant to grant admin consent to the app again. If consent was "
        "granted in the last few minutes, wait a minute and retry: it takes time to propagate."
    )


class AppCredentialsInvalid(TokenError):
    """Our own client secret or certificate is wrong or expired: never the customer's fault."""

    code = "app_credentials_invalid"
    audience = "operator"
    default_message = (
        "The service could not sign in to Microsoft Entra ID. This is not a problem on your side."
    )
    default_remediation = "Operators: check and rotate the app registration's client secret or certificate."


class ConditionalAccessBlocked(TokenError):
    code = "conditional_access_blocked"
    audience = "customer"
    default_remediation = (
        "In Entra ID → Conditional Access, exclude the app's service principal from the policy for workload "
        "identities that blocks it (or allow its sign-in locations)."
    )


class AppDisabled(TokenError):
    code = "app_disabled"
    audience = "customer"
    default_remediation = (
        "In Entra ID → Enterprise applications, open the app, Properties, and set "
        "'Enabled for users to sign in' to Yes."
    )


class UnknownTenant(TokenError):
    code = "unknown_tenant"
    audience = "customer"
    default_remediation = "Check the tenant id, or grant consent again from the right tenant."


class TokenServiceUnavailable(TokenError):
    code = "token_service_unavailable"
    audience = "operator"
    retryable = True
    default_message = "Microsoft Entra ID is not answering right now. Please retry in a few minutes."


class TokenRequestFailed(TokenError):
    """An Entra ID answer we have no diagnosis for; most likely our request or configuration."""

    code = "token_request_failed"
    audience = "operator"
    default_message = "Microsoft Entra ID refused to issue a token for an unexpected reason."
    default_remediation = "Operators: see the AADSTS code in the error detail."


# --- Azure DevOps -----------------------------------------------------------------------------------


class OrganizationNotFound(AzureError):
    code = "organization_not_found"
    audience = "customer"
    default_remediation = "Check the spelling of the organization name (as in https://dev.azure.com/<name>)."


class AuthenticationFailed(AzureError):
    """A sign-in page, a redirect or a non-JSON success: Azure DevOps did not accept our token."""

    code = "authentication_failed"
    audience = "customer"
    default_message = "Azure DevOps rejected the service's token."
    default_remediation = (
        "Check that the organization is connected to the tenant where consent was granted "
        "(Organization settings → Microsoft Entra)."
    )


class Unauthorized(AzureError):
    code = "unauthorized"
    audience = "customer"
    default_message = "The service principal is not authorized to access this Azure DevOps resource."
    default_remediation = (
        "Check that the service principal is a member of the organization and of the project."
    )


class NotOrganizationMember(Unauthorized):
    code = "not_organization_member"
    default_message = "The service principal has not been added to the Azure DevOps organization."
    default_remediation = (
        "In Azure DevOps: Organization settings → Users → Add users, pick the app, "
        "and give it the Basic access level."
    )


class Forbidden(AzureError):
    code = "forbidden"
    audience = "customer"
    default_message = "The service principal lacks a permission Azure DevOps requires for this request."
    default_remediation = "Check the service principal's permissions in the organization and project."


class CannotReadRepository(AzureError):
    code = "cannot_read_repository"
    audience = "customer"
    default_message = "The service principal cannot read this repository."
    default_remediation = (
        "Give the service principal the Basic access level (Stakeholder cannot read code) and add it to the "
        "project's Contributors group (or grant Read on the repository)."
    )


class ProjectNotAccessible(AzureError):
    code = "project_not_accessible"
    audience = "customer"
    default_message = "The project does not exist or the service principal has no access to it."
    default_remediation = "Add the service principal to the project (e.g. its Contributors group)."


class NotFound(AzureError):
    code = "not_found"
    audience = "customer"
    default_message = "Azure DevOps could not find the requested resource."


class Throttled(AzureError):
    code = "throttled"
    audience = "operator"
    retryable = True
    default_message = "Azure DevOps is rate-limiting the service principal."
    default_remediation = "Wait a few minutes. Nothing to change on your side."


class ServiceUnavailable(AzureError):
    code = "service_unavailable"
    audience = "operator"
    retryable = True
    default_message = "Azure DevOps is not answering correctly right now."
    default_remediation = "Retry in a few minutes."


class ConnectionFailed(ServiceUnavailable):
    code = "connection_failed"
    default_message = "The connection to Azure DevOps failed."


class ApiVersionError(AzureError):
    """Azure DevOps refused our api-version: a bug on our side."""

    code = "api_version_error"
    audience = "operator"
    default_message = "The service called Azure DevOps with an unsupported API version."


class UnexpectedResponse(AzureError):
    code = "unexpected_response"
    audience = "operator"
    default_message = "Azure DevOps answered in an unexpected way."


class AzureUnexpectedAnswer(UnexpectedResponse):
    """A success whose body does not have the shape we read (a field missing, of another type): Microsoft changed
    an answer. Raised in one place, the client boundary (core/azure/models.py), naming the endpoint and the
    field, never a value. Retrying gives the same answer, so it is not retryable."""

    code = "unexpected_answer"
    audience = "operator"
    default_remediation = (
        "Nothing to change on your side: Azure DevOps changed the shape of this answer and our operators "
        "have been alerted."
    )

    def __init__(self, endpoint: str, field: str, problem: str) -> None:
        self.endpoint = shorten(endpoint, 120)
        self.field = shorten(field, 120)
        where = f"field '{self.field}'" if self.field else "the body"
        message = (
            f"Azure DevOps answered {self.endpoint} in a shape the service does not understand "
            f"({where}: {shorten(problem, 80)})."
        )
        super().__init__(message, detail=f"{self.endpoint} {where}: {problem}")


class ArchiveTooLarge(AzureError):
    code = "archive_too_large"
    audience = "customer"
    default_message = "The repository archive is larger than the service accepts."


class RetryBudgetExhausted(AzureError):
    """Retries of a transient failure used up the whole time budget. `last_error` is the final failure."""

    code = "retry_budget_exhausted"
    audience = "operator"
    retryable = True
    default_remediation = "Retry later; Azure DevOps is throttling or unavailable."

    def __init__(self, last_error: AzureError, attempts: int, elapsed: float) -> None:
        self.last_error = last_error
        self.attempts = attempts
        message = (
            f"{last_error.message} Gave up after {attempts} attempt{'s' if attempts != 1 else ''} "
            f"in {elapsed:.1f} s."
        )
        super().__init__(message, detail=last_error.detail, status=last_error.status)


# --- mapping Azure DevOps responses -------------------------------------------------------------------

ERROR_CODE = re.compile(r"^\s*((?:TF|VS)\d+):")


def parse_error_body(content: bytes) -> dict:
    """The WrappedException body as a dict, {} when absent or not JSON. Some servers prefix a BOM."""
    try:
        body = json.loads(content.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError):
        return {}
    return body if isinstance(body, dict) else {}


def devops_error(response: httpx.Response, retry_after: float | None = None) -> AzureError:
    """Map a non-successful Azure DevOps response (body already read) to a typed error."""
    status = response.status_code
    body = parse_error_body(response.content)
    message = str(body.get("message") or "")
    type_key = str(body.get("typeKey") or "")
    match = ERROR_CODE.match(message)
    tf_code = match.group(1) if match else ""
    detail = shorten(f"HTTP {status} {tf_code or type_key} {message}".strip())
    kw = {"detail": detail, "status": status}
    if status == 203 or 300 <= status < 400:
        return AuthenticationFailed(**kw)
    if tf_code == "TF401444":
        return NotOrganizationMember(**kw)
    if tf_code == "TF401019" or type_key == "GitRepositoryNotFoundException":
        return CannotReadRepository(**kw)
    if tf_code == "VS800075":
        return ProjectNotAccessible(**kw)
    if tf_code == "TF400733" or status == 429:
        return Throttled(retry_after=retry_after, **kw)
    if type_key == "VssInvalidPreviewVersionException" or "-preview flag must be supplied" in message:
        return ApiVersionError(**kw)
    if tf_code == "TF400813" or status == 401:
        return Unauthorized(**kw)
    if status == 403:
        return Forbidden(**kw)
    if status == 404:
        return NotFound(**kw)
    if status >= 500:
        return ServiceUnavailable(retry_after=retry_after, **kw)
    return UnexpectedResponse(**kw)


def token_rejected(status: int, why: str) -> AuthenticationFailed:
    return AuthenticationFailed(detail=f"HTTP {status}: {why}", status=status)


# --- mapping Entra ID token errors ----------------------------------------------------------------------

CONSENT_CODES = {7000229, 700016}
OUR_CREDENTIAL_CODES = {7000215, 7000222, 700027, 7000218}


def entra_error(result: dict, tenant_id: str) -> TokenError:
    """Map an MSAL error result. Branch on `error` (stable); `error_codes` only pick the diagnosis text."""
    error = str(result.get("error") or "")
    codes = {int(c) for c in result.get("error_codes") or [] if str(c).isdigit()}
    aadsts = ",".join(f"AADSTS{c}" for c in sorted(codes))
    kw = {
        "tenant_id": tenant_id,
        "correlation_id": str(result.get("correlation_id") or ""),
        "detail": f"{error} {aadsts}".strip(),
    }
    if not error:  # no OAuth error body: a 5xx page, a proxy, an outage
        return TokenServiceUnavailable(**kw)
    if error in ("invalid_client", "unauthorized_client") and codes & CONSENT_CODES:
        return ConsentMissing(f"The app has no admin consent in Microsoft Entra tenant {tenant_id}.", **kw)
    if error == "invalid_client":
        return AppCredentialsInvalid(remediation=_credential_remediation(codes), **kw)
    if error == "unauthorized_client" and 7000112 in codes:
        return AppDisabled(f"The app is disabled in Microsoft Entra tenant {tenant_id}.", **kw)
    if error == "unauthorized_client":
        return ConsentMissing(f"The app is not authorized in Microsoft Entra tenant {tenant_id}.", **kw)
    if error == "access_denied" and 53003 in codes:
        return ConditionalAccessBlocked(
            f"A Conditional Access policy in tenant {tenant_id} blocks the app from signing in.", **kw
        )
    if error == "invalid_request" and 90002 in codes:
        return unknown_tenant(tenant_id, **kw)
    if error in ("temporarily_unavailable", "server_error"):
        return TokenServiceUnavailable(**kw)
    return TokenRequestFailed(**kw)


def unknown_tenant(tenant_id: str, **kw) -> UnknownTenant:
    kw.setdefault("tenant_id", tenant_id)
    return UnknownTenant(f"Microsoft Entra tenant {tenant_id} does not exist.", **kw)


def _credential_remediation(codes: set[int]) -> str:
    if 7000222 in codes:
        return (
            "Operators: the client secret has expired; create a new one and update "
            "PANOPTICA_ENTRA_CLIENT_SECRET."
        )
    if 7000215 in codes:
        return (
            "Operators: the client secret is wrong (use the secret's value, not its id); check "
            "PANOPTICA_ENTRA_CLIENT_SECRET."
        )
    if 700027 in codes:
        return (
            "Operators: the client certificate is not registered on the app; check "
            "PANOPTICA_ENTRA_CERTIFICATE_PATH."
        )
    if 7000218 in codes:
        return "Operators: no client credential configured; set a client secret or certificate."
    return AppCredentialsInvalid.default_remediation
