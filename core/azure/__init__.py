"""Entra ID and Azure DevOps: the one place all traffic to Microsoft goes through.

- `parse_organization` validates what a customer typed before it becomes part of a URL.
- `TokenProvider` gets app-only tokens per customer tenant (MSAL).
- `AzureDevOps` / `AzureDevOpsClient` call the Azure DevOps REST API with retries, pacing and typed errors, and
  return its answers as the typed models of `core.azure.models` (a changed shape: `AzureUnexpectedAnswer`).
"""

from core.azure.client import (
    ENTITLEMENT_AREA,
    GRAPH_AREA,
    ZERO_TENANT,
    AzureDevOps,
    AzureDevOpsClient,
    ConnectionData,
    OrganizationTenant,
)
from core.azure.errors import (
    ApiVersionError,
    AppCredentialsInvalid,
    AppDisabled,
    ArchiveTooLarge,
    AuthenticationFailed,
    AzureError,
    AzureUnexpectedAnswer,
    CannotReadRepository,
    ConditionalAccessBlocked,
    ConnectionFailed,
    ConsentMissing,
    Forbidden,
    InvalidOrganization,
    NotFound,
    NotOrganizationMember,
    OrganizationNotFound,
    ProjectNotAccessible,
    RetryBudgetExhausted,
    ServiceUnavailable,
    Throttled,
    TokenError,
    TokenRequestFailed,
    TokenServiceUnavailable,
    Unauthorized,
    UnexpectedResponse,
    UnknownTenant,
)
from core.azure.organization import is_valid_organization, parse_organization, path_segment
from core.azure.tokens import ADO_SCOPE, TokenProvider
from core.azure.transport import RetryPolicy

__all__ = [
    "ADO_SCOPE",
    "ENTITLEMENT_AREA",
    "GRAPH_AREA",
    "ZERO_TENANT",
    "ApiVersionError",
    "AppCredentialsInvalid",
    "AppDisabled",
    "ArchiveTooLarge",
    "AuthenticationFailed",
    "AzureDevOps",
    "AzureDevOpsClient",
    "AzureError",
    "AzureUnexpectedAnswer",
    "CannotReadRepository",
    "ConditionalAccessBlocked",
    "ConnectionData",
    "ConnectionFailed",
    "ConsentMissing",
    "Forbidden",
    "InvalidOrganization",
    "NotFound",
    "NotOrganizationMember",
    "OrganizationNotFound",
    "OrganizationTenant",
    "ProjectNotAccessible",
    "RetryBudgetExhausted",
    "RetryPolicy",
    "ServiceUnavailable",
    "Throttled",
    "TokenError",
    "TokenProvider",
    "TokenRequestFailed",
    "TokenServiceUnavailable",
    "Unauthorized",
    "UnexpectedResponse",
    "UnknownTenant",
    "is_valid_organization",
    "parse_organization",
    "path_segment",
]
