"""Entra ID's user sign-in: the OIDC authorization-code flow with PKCE, and the keys that sign id tokens.

`/{tenant}/oauth2/v2.0/authorize` shows a sign-in page listing the world's people (a browser can hold any
account); choosing one redirects to the app with a code. A person of another tenant gets Entra's AADSTS50020
page, as in Microsoft's service. The token endpoint redeems a code once, within 10 minutes, for the same
client, redirect URI and PKCE verifier, and answers an id token (RS256, key served at `jwks_uri`) and a
delegated access token for the requested resource.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import secrets
import time
from urllib.parse import urlencode

import jwt
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from sandbox.scenario import Tenant

CODE_LIFETIME_SECONDS = 600
KEY_ID = "sandbox-signing-key"
ADO_RESOURCE = "499b84ac-1321-427f-aa17-267ca6975798"

SIGN_IN_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in to your account</title>
<style>body{{font-family:Segoe UI,Arial,sans-serif;max-width:34rem;margin:3rem auto;color:#1b1b1b}}
button{{display:block;width:100%;text-align:left;font-size:1rem;padding:.6rem 1rem;margin:.4rem 0}}</style>
</head><body><main>
<p>Microsoft (sandbox)</p>
<h1>Pick an account</h1>
<p><strong>{app_name}</strong> asks you to sign in ({tenant_name}).</p>
<form method="post" action="{action}">
{hidden}
{accounts}
</form></main></body></html>"""

FORWARDED = (
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwks(context) -> dict:
    numbers = context.id_token_key.public_key().public_numbers()
    return {
        "keys": [
            {
                "kty": "RSA",
                "use": "sig",
                "kid": KEY_ID,
                "alg": "RS256",
                "n": b64url(numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")),
                "e": b64url(numbers.e.to_bytes((numbers.e.bit_length() + 7) // 8, "big")),
            }
        ]
    }


def error_page(code: int, text: str) -> HTMLResponse:
    body = "<!doctype html><title>Sign in</title><h1>Sorry, but we're having trouble signing you in.</h1>"
    body += f'<p id="error">AADSTS{code}: {html.escape(text)}</p>'
    return HTMLResponse(body, status_code=400)


# The multi-tenant authorities: anyone of any tenant signs in, and the token names their home tenant.
MULTI_TENANT = ("organizations", "common")


def authority_tenant(context, name: str) -> Tenant | None:
    return context.world.tenant(name)


def code_tenant(context, name: str, form) -> Tenant | None:
    """At a multi-tenant authority, the tenant of the person a code was issued to (for the token endpoint)."""
    grant = context.auth_codes.get(str(form.get("code", ""))) if name in MULTI_TENANT else None
    return context.world.tenant(grant["tenant_id"]) if grant else None


def check_request(context, tenant: Tenant | None, name: str, params) -> HTMLResponse | None:
    if tenant is None and name not in MULTI_TENANT:
        return error_page(90002, f"Tenant '{name}' not found.")
    app = context.world.app(params.get("client_id", ""))
    if app is None:
        return error_page(
            700016, f"Application with identifier '{params.get('client_id', '')}' was not found."
        )
    redirect_uri = params.get("redirect_uri", "")
    if not redirect_uri or (app.redirect_uris and redirect_uri not in app.redirect_uris):
        return error_page(50011, f"The redirect URI '{redirect_uri}' does not match the application's.")
    if params.get("response_type", "code") != "code":
        return error_page(900144, "Only response_type=code is supported here.")
    if "openid" not in params.get("scope", "").split():
        return error_page(900144, "The 'scope' must include 'openid' for a sign-in.")
    if not params.get("code_challenge") or params.get("code_challenge_method") != "S256":
        return error_page(9002325, "Proof Key for Code Exchange is required (code_challenge with S256).")
    return None


def authorize_page(context, request: Request) -> Response:
    name = request.path_params["tenant"]
    params = request.query_params
    with context.holder.lock:
        tenant = authority_tenant(context, name)
        error = check_request(context, tenant, name, params)
        if error is not None:
            return error
        app = context.world.app(params["client_id"])
        people = [(t, u) for t in context.world.tenants for u in t.users]
    hidden = "\n".join(
        f'<input type="hidden" name="{key}" value="{html.escape(params.get(key, ""))}">' for key in FORWARDED
    )
    accounts = (
        "\n".join(
            f'<button type="submit" name="upn" value="{html.escape(u.upn)}">{html.escape(u.display_name)} '
            f"&lt;{html.escape(u.upn)}&gt; ({html.escape(t.name)})</button>"
            for t, u in people
        )
        or "<p>No accounts in this world.</p>"
    )
    page = SIGN_IN_PAGE.format(
        app_name=html.escape(app.display_name),
        tenant_name=html.escape(tenant.name if tenant else "any work or school account"),
        action=html.escape(f"/{name}/oauth2/v2.0/authorize/decision"),
        hidden=hidden,
        accounts=accounts,
    )
    return HTMLResponse(page)


async def authorize_decision(context, request: Request) -> Response:
    name = request.path_params["tenant"]
    form = await request.form()
    params = {key: str(form.get(key, "")) for key in (*FORWARDED, "upn")}
    with context.holder.lock:
        tenant = authority_tenant(context, name)
        error = check_request(context, tenant, name, params)
        if error is not None:
            return error
        found = context.world.user(params["upn"])
        if found is None:
            return error_page(50034, f"The user account {params['upn']} does not exist in this directory.")
        home, user = found
        tenant = tenant or home  # a multi-tenant authority signs the person in at their home tenant
        if home.id != tenant.id:
            return error_page(
                50020,
                f"User account '{user.upn}' from identity provider 'https://sts.windows.net/{home.id}/' does "
                f"not exist in tenant '{tenant.name}' and cannot access the application "
                f"'{params['client_id']}' in that tenant.",
            )
        code = secrets.token_urlsafe(32)
        context.auth_codes[code] = {
            **params,
            "tenant_id": tenant.id,
            "object_id": user.object_id,
            "name": user.display_name,
            "issued_at": time.time(),
        }
    query = {"code": code, "state": params["state"], "session_state": secrets.token_hex(8)}
    query["client_info"] = b64url(json.dumps({"uid": user.object_id, "utid": tenant.id}).encode())
    separator = "&" if "?" in params["redirect_uri"] else "?"
    return RedirectResponse(params["redirect_uri"] + separator + urlencode(query), status_code=302)


def redeem_code(context, tenant: Tenant, form: dict, login: str, entra_error) -> Response:
    """grant_type=authorization_code, once the client has authenticated (checked by the caller)."""
    grant = context.auth_codes.pop(form.get("code", ""), None)
    invalid = entra_error(
        400,
        "invalid_grant",
        70008,
        "The provided authorization code or refresh token has expired "
        "due to inactivity or was already redeemed.",
    )
    if grant is None or time.time() - grant["issued_at"] > CODE_LIFETIME_SECONDS:
        return invalid
    if grant["tenant_id"] != tenant.id or grant["client_id"] != form.get("client_id"):
        return invalid
    if grant["redirect_uri"] != form.get("redirect_uri"):
        return entra_error(
            400, "invalid_grant", 50148, "The redirect_uri does not match the authorization request."
        )
    verifier = form.get("code_verifier", "")
    if b64url(hashlib.sha256(verifier.encode()).digest()) != grant["code_challenge"]:
        return entra_error(
            400, "invalid_grant", 501481, "The Code_Verifier does not match the code_challenge."
        )
    now = int(time.time())
    lifetime = context.world.token_lifetime_seconds
    person = {"oid": grant["object_id"], "sub": grant["object_id"], "tid": tenant.id}
    id_claims = {
        **person,
        "aud": grant["client_id"],
        "iss": f"{login}/{tenant.id}/v2.0",
        "iat": now,
        "nbf": now,
        "exp": now + lifetime,
        "nonce": grant["nonce"],
        "preferred_username": grant["upn"],
        "name": grant["name"],
        "ver": "2.0",
    }
    id_token = jwt.encode(id_claims, context.id_token_key, algorithm="RS256", headers={"kid": KEY_ID})
    scopes = grant["scope"].split()
    answer = {
        "token_type": "Bearer",
        "scope": " ".join(s for s in scopes if s not in ("openid", "profile", "offline_access")),
        "expires_in": lifetime,
        "ext_expires_in": lifetime,
        "id_token": id_token,
        "client_info": b64url(json.dumps({"uid": grant["object_id"], "utid": tenant.id}).encode()),
    }
    resource = next((s.rsplit("/", 1)[0] for s in scopes if s.startswith(ADO_RESOURCE + "/")), None)
    if resource is not None:
        access_claims = {
            **person,
            "aud": resource,
            "iss": f"https://sts.windows.net/{tenant.id}/",
            "iat": now,
            "nbf": now,
            "exp": now + lifetime,
            "appid": grant["client_id"],
            "idtyp": "user",
            "scp": "user_impersonation",
            "upn": grant["upn"],
            "ver": "1.0",
        }
        answer["access_token"] = jwt.encode(access_claims, context.token_key, algorithm="HS256")
    if "offline_access" in scopes:
        answer["refresh_token"] = secrets.token_urlsafe(48)  # never redeemable here: clients must not need it
    return JSONResponse(answer)
