"""Entra ID (login.microsoftonline.com): OIDC discovery, client-credentials tokens, admin consent.

Error bodies and AADSTS codes are Entra's: 90002 unknown tenant, 700016 app unknown (or consent still
propagating), 7000215 bad secret, 7000222 expired secret, 700027 bad assertion, 7000229 no service
principal in the tenant (no consent), 7000112 app disabled, 53003 Conditional Access.
"""

from __future__ import annotations

import base64
import hashlib
import html
import time
import uuid
from datetime import UTC, datetime
from urllib.parse import urlencode

import jwt
from cryptography import x509
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from sandbox import signin
from sandbox.scenario import ServicePrincipal, Tenant

ADO_RESOURCE = "499b84ac-1321-427f-aa17-267ca6975798"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
SPECIAL_TENANTS = ("common", "organizations", "consumers")


def entra_error(status: int, error: str, code: int, description: str) -> JSONResponse:
    trace, correlation = str(uuid.uuid4()), str(uuid.uuid4())
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    text = f"AADSTS{code}: {description} Trace ID: {trace} Correlation ID: {correlation} Timestamp: {now}"
    return JSONResponse(
        {
            "error": error,
            "error_description": text,
            "error_codes": [code],
            "timestamp": now,
            "trace_id": trace,
            "correlation_id": correlation,
            "error_uri": f"https://login.microsoftonline.com/error?code={code}",
        },
        status_code=status,
    )


def unknown_tenant(tenant: str) -> JSONResponse:
    return entra_error(
        400,
        "invalid_request",
        90002,
        f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing "
        "into the correct cloud.",
    )


def build_app(context) -> Starlette:
    login = context.urls["login"]

    def find_tenant(name: str) -> Tenant | None:
        return context.world.tenant(name)

    async def openid_configuration(request: Request) -> Response:
        name = request.path_params["tenant"]
        tenant = find_tenant(name)
        if tenant is None and name not in SPECIAL_TENANTS:
            return unknown_tenant(name)
        tid = tenant.id if tenant else "{tenantid}"
        return JSONResponse(
            {
                "token_endpoint": f"{login}/{name}/oauth2/v2.0/token",
                "authorization_endpoint": f"{login}/{name}/oauth2/v2.0/authorize",
                "device_authorization_endpoint": f"{login}/{name}/oauth2/v2.0/devicecode",
                "end_session_endpoint": f"{login}/{name}/oauth2/v2.0/logout",
                "jwks_uri": f"{login}/{name}/discovery/v2.0/keys",
                "issuer": f"{login}/{tid}/v2.0",
                "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt"],
                "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
                "scopes_supported": ["openid", "profile", "email", "offline_access"],
                "tenant_region_scope": "EU",
                "cloud_instance_name": "microsoftonline.com",
            }
        )

    async def instance_discovery(request: Request) -> Response:
        host = login.split("://", 1)[1]
        return JSONResponse(
            {
                "tenant_discovery_endpoint": f"{login}/common/v2.0/.well-known/openid-configuration",
                "api-version": "1.1",
                "metadata": [{"preferred_network": host, "preferred_cache": host, "aliases": [host]}],
            }
        )

    async def token(request: Request) -> Response:
        form = await request.form()
        name = request.path_params["tenant"]
        with context.holder.lock:
            tenant = find_tenant(name) or signin.code_tenant(context, name, form)
            if tenant is None:
                return unknown_tenant(name)
            if form.get("grant_type") == "authorization_code":
                return redeem(context, tenant, dict(form), login, f"{login}/{name}/oauth2/v2.0/token")
            return issue_token(context, tenant, dict(form), f"{login}/{name}/oauth2/v2.0/token")

    async def admin_consent(request: Request) -> Response:
        return consent_page(context, request)

    async def consent_decision(request: Request) -> Response:
        return await decide_consent(context, request)

    async def authorize(request: Request) -> Response:
        return signin.authorize_page(context, request)

    async def authorize_decision(request: Request) -> Response:
        return await signin.authorize_decision(context, request)

    async def keys(request: Request) -> Response:
        return JSONResponse(signin.jwks(context))

    return Starlette(
        routes=[
            Route("/common/discovery/instance", instance_discovery),
            Route("/{tenant}/oauth2/v2.0/authorize", authorize),
            Route("/{tenant}/oauth2/v2.0/authorize/decision", authorize_decision, methods=["POST"]),
            Route("/{tenant}/discovery/v2.0/keys", keys),
            Route("/{tenant}/v2.0/.well-known/openid-configuration", openid_configuration),
            Route("/{tenant}/oauth2/v2.0/token", token, methods=["POST"]),
            Route("/{tenant}/v2.0/adminconsent", admin_consent),
            Route("/{tenant}/v2.0/adminconsent/decision", consent_decision, methods=["POST"]),
        ]
    )


def redeem(context, tenant: Tenant, form: dict, login: str, audience: str) -> Response:
    """The authorization-code grant: the client authenticates as for client credentials, then the code."""
    app = context.world.app(form.get("client_id", ""))
    if app is None:
        return app_not_found(form.get("client_id", ""), tenant)
    credential_error = check_credential(app, form, audience)
    if credential_error is not None:
        return credential_error
    return signin.redeem_code(context, tenant, form, login, entra_error)


# --- tokens --------------------------------------------------------------------------------------


def issue_token(context, tenant: Tenant, form: dict, audience: str) -> Response:
    world = context.world
    client_id = form.get("client_id", "")
    if form.get("grant_type") != "client_credentials":
        return entra_error(
            400, "unsupported_grant_type", 70003, "The app requested an unsupported grant type."
        )
    scope = form.get("scope", "")
    if not scope.endswith("/.default"):
        return entra_error(
            400,
            "invalid_scope",
            1002012,
            f"The provided value for scope {scope} is not valid. "
            "Client credential flows must have a scope value with /.default suffixed to the resource identifier.",
        )
    app = world.app(client_id)
    if app is None:
        return app_not_found(client_id, tenant)
    credential_error = check_credential(app, form, audience)
    if credential_error is not None:
        return credential_error
    principal = tenant.principal(client_id)
    if principal is None:
        return entra_error(
            401,
            "invalid_client",
            7000229,
            f"The client application {client_id} is missing service principal in the tenant {tenant.id}. "
            "See instructions here: https://go.microsoft.com/fwlink/?linkid=2225119",
        )
    if principal.consented_at and time.time() - principal.consented_at < tenant.consent_propagation_seconds:
        # Right after consent the new service principal is not visible everywhere yet.
        return app_not_found(client_id, tenant)
    if not principal.enabled:
        return entra_error(400, "unauthorized_client", 7000112, f"Application '{client_id}' is disabled.")
    if client_id in tenant.conditional_access_blocks:
        return entra_error(
            400,
            "access_denied",
            53003,
            "Access has been blocked by Conditional Access policies. The access policy does not allow token issuance.",
        )
    now = int(time.time())
    resource = scope.removesuffix("/.default")
    claims = {
        "aud": resource,
        "iss": f"https://sts.windows.net/{tenant.id}/",
        "iat": now,
        "nbf": now,
        "exp": now + world.token_lifetime_seconds,
        "appid": client_id,
        "appidacr": "1" if form.get("client_secret") else "2",
        "idtyp": "app",
        "oid": principal.object_id,
        "sub": principal.object_id,
        "tid": tenant.id,
        "ver": "1.0",
    }
    access_token = jwt.encode(claims, context.token_key, algorithm="HS256")
    lifetime = world.token_lifetime_seconds
    return JSONResponse(
        {
            "token_type": "Bearer",
            "expires_in": lifetime,
            "ext_expires_in": lifetime,
            "access_token": access_token,
        }
    )


def app_not_found(client_id: str, tenant: Tenant) -> JSONResponse:
    return entra_error(
        400,
        "unauthorized_client",
        700016,
        f"Application with identifier '{client_id}' was not found in the directory '{tenant.name}'. This can happen "
        "if the application has not been installed by the administrator of the tenant or consented to by any user "
        "in the tenant. You may have sent your authentication request to the wrong tenant.",
    )


def check_credential(app, form: dict, audience: str) -> JSONResponse | None:
    if form.get("client_assertion_type") == ASSERTION_TYPE:
        if verify_assertion(app, form.get("client_assertion", ""), audience):
            return None
        return entra_error(
            401,
            "invalid_client",
            700027,
            "Client assertion failed signature validation.",
        )
    secret = form.get("client_secret")
    if secret is None or app.secret is None:
        return entra_error(
            401,
            "invalid_client",
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
        )
    if not _same(secret, app.secret):
        return entra_error(
            401,
            "invalid_client",
            7000215,
            f"Invalid client secret provided. Ensure the secret being sent in the request is the client secret "
            f"value, not the client secret ID, for a secret added to app '{app.client_id}'.",
        )
    if app.secret_expired:
        return entra_error(
            401,
            "invalid_client",
            7000222,
            f"The provided client secret keys for app '{app.client_id}' are expired.",
        )
    return None


def _same(a: str, b: str) -> bool:
    import hmac

    return hmac.compare_digest(a.encode(), b.encode())


def verify_assertion(app, assertion: str, audience: str) -> bool:
    if not app.certificate_pem:
        return False
    try:
        certificate = x509.load_pem_x509_certificate(app.certificate_pem.encode())
        header = jwt.get_unverified_header(assertion)
        thumbprints = {
            "x5t": base64.urlsafe_b64encode(certificate.fingerprint(_sha1())).rstrip(b"=").decode(),
            "x5t#S256": base64.urlsafe_b64encode(hashlib.sha256(certificate.public_bytes(_der())).digest())
            .rstrip(b"=")
            .decode(),
        }
        # MSAL sends x5t with base64 padding; the JOSE spelling has none. Compare without it.
        if not any(str(header.get(k, "")).rstrip("=") == v for k, v in thumbprints.items()):
            return False
        claims = jwt.decode(
            assertion,
            certificate.public_key(),
            algorithms=["RS256", "PS256"],
            audience=audience,
            options={"require": ["exp", "iss", "sub"]},
        )
        return claims["iss"] == claims["sub"] == app.client_id
    except (jwt.PyJWTError, ValueError):
        return False


def _sha1():
    from cryptography.hazmat.primitives import hashes

    return hashes.SHA1()  # noqa: S303 - x5t is defined as a SHA-1 thumbprint


def _der():
    from cryptography.hazmat.primitives.serialization import Encoding

    return Encoding.DER


# --- admin consent -------------------------------------------------------------------------------

CONSENT_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Permissions requested</title>
<style>body{{font-family:Segoe UI,Arial,sans-serif;max-width:34rem;margin:3rem auto;color:#1b1b1b}}
button{{font-size:1rem;padding:.5rem 1.5rem;margin-right:.5rem}}</style></head>
<body><main>
<p>Microsoft (sandbox) &middot; signed in to <strong>{tenant_name}</strong></p>
<h1>Permissions requested</h1>
<p><strong>{app_name}</strong> wants to be added to your organization <strong>{tenant_name}</strong>.</p>
<p>Accepting creates the application's service principal in this tenant. It will have access to: {scope}</p>
<form method="post" action="{action}">
<input type="hidden" name="client_id" value="{client_id}">
<input type="hidden" name="scope" value="{scope}">
<input type="hidden" name="redirect_uri" value="{redirect_uri}">
<input type="hidden" name="state" value="{state}">
<button type="submit" name="decision" value="accept" id="accept">Accept</button>
<button type="submit" name="decision" value="cancel" id="cancel">Cancel</button>
</form></main></body></html>"""


def consent_tenant(context, name: str) -> Tenant | None:
    if name in ("organizations", "common"):
        world = context.world
        signed_in = world.browser_tenant or (world.tenants[0].id if world.tenants else "")
        return world.tenant(signed_in)
    return context.world.tenant(name)


consent_error_page = signin.error_page  # Entra's one error page, for sign-in and consent alike


def consent_page(context, request: Request) -> Response:
    params = request.query_params
    name = request.path_params["tenant"]
    tenant = consent_tenant(context, name)
    if tenant is None:
        return consent_error_page(90002, f"Tenant '{name}' not found.")
    client_id, redirect_uri = params.get("client_id", ""), params.get("redirect_uri", "")
    app = context.world.app(client_id)
    if app is None:
        return consent_error_page(700016, f"Application with identifier '{client_id}' was not found.")
    if not redirect_uri or (app.redirect_uris and redirect_uri not in app.redirect_uris):
        return consent_error_page(
            50011,
            f"The redirect URI '{redirect_uri}' specified in the request does not match the redirect URIs "
            f"configured for the application '{client_id}'.",
        )
    if not params.get("scope"):
        return consent_error_page(900144, "The request body must contain the following parameter: 'scope'.")
    page = CONSENT_PAGE.format(
        tenant_name=html.escape(tenant.name),
        app_name=html.escape(app.display_name),
        scope=html.escape(params["scope"]),
        action=html.escape(f"/{name}/v2.0/adminconsent/decision"),
        client_id=html.escape(client_id),
        redirect_uri=html.escape(redirect_uri),
        state=html.escape(params.get("state", "")),
    )
    return HTMLResponse(page)


async def decide_consent(context, request: Request) -> Response:
    form = await request.form()
    name = request.path_params["tenant"]
    client_id, redirect_uri = form.get("client_id", ""), form.get("redirect_uri", "")
    with context.holder.lock:
        tenant = consent_tenant(context, name)
        app = context.world.app(client_id)
        if tenant is None or app is None or not redirect_uri:
            return consent_error_page(90002, "The request is not valid.")
        query: dict[str, str] = {"admin_consent": "True"}
        if form.get("decision") == "accept":
            if tenant.principal(client_id) is None:
                tenant.service_principals.append(
                    ServicePrincipal(
                        client_id=client_id,
                        object_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"sp/{tenant.id}/{client_id}")),
                        consented_at=time.time(),
                    )
                )
            query.update({"tenant": tenant.id, "scope": form.get("scope", "")})
        else:
            query.update(
                {
                    "error": "consent_required",
                    "error_description": "AADSTS65004: User declined to consent to access the app.",
                }
            )
    if form.get("state"):
        query["state"] = form["state"]
    separator = "&" if "?" in redirect_uri else "?"
    return RedirectResponse(redirect_uri + separator + urlencode(query), status_code=302)
