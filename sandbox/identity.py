"""Who is calling an Azure DevOps host, and what they may see.

The bearer token is the Entra emulator's HS256 JWT (sandbox/entra.py). Rules (reference §0, §4, §10, §13):
no or bad token → 203 sign-in page (or JSON 401 TF400813 with `X-TFS-FedAuthRedirect: Suppress`); token from
another tenant → 401 TF400813; app not added to the organization (or not active) → 401 TF401444. Every
refusal names the organization's tenant in `X-VSS-ResourceTenant`. A member sees only its projects, and a
Stakeholder cannot read code in private projects.
"""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass

import jwt
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from sandbox.adoerrors import wrapped_error
from sandbox.scenario import Membership, Organization, Project, stable_id

ADO_RESOURCE = "499b84ac-1321-427f-aa17-267ca6975798"
GROUP_NAMES = {
    "projectContributor": "Contributors",
    "projectReader": "Readers",
    "projectAdministrator": "Project Administrators",
    # No default project group carries this name; the entitlement API's group type is all we know.
    "projectStakeholder": "Stakeholders",
}
LICENSE_NAMES = {
    "express": "Basic",
    "stakeholder": "Stakeholder",
    "advanced": "Basic + Test Plans",
    "none": "None",
}


@dataclass
class Caller:
    org: Organization
    membership: Membership
    tenant_id: str
    object_id: str  # the service principal's object id in the tenant (token `oid`)
    display_name: str


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def subject_descriptor(tenant_id: str, object_id: str) -> str:
    """Graph descriptors of service principals look like `aadsp.<base64>`."""
    return "aadsp." + _b64(f"{tenant_id}\\{object_id}")


def identity_descriptor(tenant_id: str, object_id: str) -> str:
    return f"Microsoft.VisualStudio.Services.Claims.AadServicePrincipal;{tenant_id}\\{object_id}"


def group_descriptor(org: Organization, project: Project, group_type: str) -> str:
    # Project groups are `vssgp.` + base64 of a SID; any stable per-(project, group) value serves.
    return "vssgp." + _b64("S-1-9-1551374245-" + stable_id("group", org.name, project.id, group_type))


def auth_headers(context, org: Organization) -> dict:
    tenant = org.tenant_id
    return {
        "X-VSS-ResourceTenant": tenant,
        "WWW-Authenticate": f"Bearer authorization_uri={context.urls['login']}/{tenant}",
    }


def sign_in_required(context, request: Request, org: Organization) -> Response:
    """No usable token: a 203 HTML sign-in page, unless the client asked for a plain 401."""
    headers = auth_headers(context, org)
    if request.headers.get("x-tfs-fedauthredirect", "").lower() == "suppress":
        return wrapped_error(
            401,
            "TF400813: Resource not available for anonymous access. Client authentication required.",
            "UnauthorizedRequestException",
            headers=headers,
        )
    login = html.escape(f"{context.urls['login']}/{org.tenant_id}/oauth2/authorize")
    page = (
        "<!DOCTYPE html><html><head><title>Azure DevOps Services | Sign In</title></head>"
        f'<body><p>Sign in to continue to Azure DevOps.</p><a href="{login}">Sign in</a></body></html>'
    )
    return HTMLResponse(page, status_code=203, headers=headers)


def bearer_claims(context, request: Request, org: Organization) -> dict | Response:
    """The bearer token's claims; expired, unsigned or foreign-audience tokens are no credentials at all."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        return sign_in_required(context, request, org)
    try:
        return jwt.decode(token, context.token_key, algorithms=["HS256"], audience=ADO_RESOURCE)
    except jwt.PyJWTError:
        return sign_in_required(context, request, org)


def not_authorized(context, org: Organization, object_id: str) -> Response:
    return wrapped_error(
        401,
        f"TF400813: The user '{object_id}' is not authorized to access this resource.",
        "UnauthorizedRequestException",
        headers=auth_headers(context, org),
    )


def authenticate(context, request: Request, org: Organization) -> Caller | Response:
    claims = bearer_claims(context, request, org)
    if isinstance(claims, Response):
        return claims
    tenant_id, object_id, app_id = claims.get("tid", ""), claims.get("oid", ""), claims.get("appid", "")
    headers = auth_headers(context, org)
    # A person's delegated token is served only the permissions API (person_caller).
    if claims.get("idtyp") == "user" or tenant_id.lower() != org.tenant_id.lower():
        return not_authorized(context, org, object_id)
    with context.holder.lock:
        membership = org.member(app_id)
        app = context.world.app(app_id)
        tenant = context.world.tenant(tenant_id)
        principal = tenant.principal(app_id) if tenant is not None else None
    if principal is None:
        # Consent revoked (the enterprise application deleted): a token issued before still verifies, but
        # Azure DevOps no longer resolves its identity.
        return not_authorized(context, org, object_id)
    if membership is None or membership.status != "active":
        return wrapped_error(
            401,
            f"TF401444: Please sign-in at least once as {tenant_id}\\{tenant_id}\\{object_id} in a web "
            "browser to enable access to the service.",
            "UnauthorizedRequestException",
            headers=headers,
        )
    return Caller(org, membership, tenant_id, object_id, app.display_name if app else app_id)


# --- authorization ---------------------------------------------------------------------------------


def visible_projects(caller: Caller) -> list[Project]:
    """Only the projects the service principal was added to (by name, case-insensitively)."""
    names = {name.lower() for name in caller.membership.projects}
    return [p for p in caller.org.projects if p.name.lower() in names]


def find_project(caller: Caller, name_or_id: str) -> Project | None:
    project = caller.org.project(name_or_id)
    return project if project is not None and project in visible_projects(caller) else None


def can_read_code(caller: Caller, project: Project) -> bool:
    """Stakeholders have no access to repositories of private projects (reference §13)."""
    if project.name in caller.membership.read_denied:
        return False  # an explicit Deny on the project's repositories, whatever the access level
    return caller.membership.access_level != "stakeholder" or project.visibility == "public"


def project_group(caller: Caller, project: Project) -> str:
    return next(g for name, g in caller.membership.projects.items() if name.lower() == project.name.lower())


# --- people (delegated tokens) ---------------------------------------------------------------------


@dataclass
class Person:
    org: Organization
    upn: str
    object_id: str


def person_caller(context, request: Request, org: Organization) -> Person | Response | None:
    """A person signed in through Entra (delegated token); None when the token is an app's."""
    claims = bearer_claims(context, request, org)
    if isinstance(claims, Response):
        return claims
    object_id = str(claims.get("oid", ""))
    if str(claims.get("tid", "")).lower() != org.tenant_id.lower():
        return not_authorized(context, org, object_id)
    if claims.get("idtyp") != "user":
        return None
    upn = str(claims.get("upn", ""))
    with context.holder.lock:
        if not org.has_user(upn):
            return not_authorized(context, org, object_id)
    return Person(org, upn, object_id)
