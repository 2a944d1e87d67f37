"""The console's routes: its pages (one HTML shell for every console path), sign-in, sign-out, its session.

The shell is static; everything it shows comes from `/graphql`. Its Content-Security-Policy allows only our
own scripts and stylesheet (`script-src 'self'`, no inline script), requests to ourselves, no framing.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from api.console.auth import CSRF_HEADER, SESSION_COOKIE
from api.pages.layout import e, page
from core.accounts import sessions
from core.db import session_scope

STATIC = Path(__file__).parent / "static"
SIGNIN_COOKIE = "panoptica_signin"
CONSOLE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
# Every path the console's router knows; each answers the same shell (so links and reloads work).
CONSOLE_PATHS = [
    "/",
    "/repositories",
    "/repositories/{id}",
    "/add",
    "/findings",
    "/scans",
    "/posture",
    "/posture/{id}",
    "/trends",
    "/settings",
]


def secure(request: Request) -> bool:
    return request.app.state.settings.public_url.startswith("https://")


async def console_shell(request: Request) -> Response:
    """The console page for a signed-in browser; anyone else goes to sign in first (and comes back here)."""
    async with request.app.state.services.sessions() as session:
        row = await sessions.session_for(session, request.cookies.get(SESSION_COOKIE))
    if row is None:
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/console/signin?next={quote(here, safe='')}", status_code=303)
    html = (STATIC / "index.html").read_text()
    return HTMLResponse(html, headers={"content-security-policy": CONSOLE_POLICY})


async def signin_start(request: Request) -> Response:
    """Straight to Microsoft's sign-in (one click on the emulator's page for `make run`)."""
    started = await sessions.begin_sign_in(request.app.state.services, request.query_params.get("next", "/"))
    response = RedirectResponse(started.url, status_code=303)
    response.set_cookie(
        SIGNIN_COOKIE,
        started.browser_token,
        max_age=int(sessions.SIGN_IN_LIFETIME.total_seconds()),
        httponly=True,
        secure=secure(request),
        samesite="lax",  # sent on Microsoft's redirect back (a top-level GET navigation)
        path="/console/signin",
    )
    return response


async def signin_callback(request: Request) -> Response:
    keys = ("state", "code", "client_info", "session_state", "error", "error_description")
    params = {k: v[:4096] for k, v in request.query_params.items() if k in keys}
    outcome = await sessions.complete_sign_in(
        request.app.state.services, params, request.cookies.get(SIGNIN_COOKIE)
    )
    if outcome.kind == "signed_in":
        response = RedirectResponse(outcome.next_path, status_code=303)
        response.set_cookie(
            SESSION_COOKIE,
            outcome.session_token,
            max_age=int(sessions.SESSION_LIFETIME.total_seconds()),
            httponly=True,
            secure=secure(request),
            samesite="lax",
            path="/",
        )
        response.delete_cookie(SIGNIN_COOKIE, path="/console/signin")
        return response
    again = '<p><a href="/console/signin">Sign in again</a></p>'
    if outcome.kind == "unknown":
        body = (
            "<h1>No Panoptica account knows you yet</h1>"
            f'<p class="notice" role="alert">You signed in as <strong>{e(outcome.upn)}</strong>, but you are not '
            "a member of any Panoptica account, so there is nothing to show you.</p>"
            "<p>Ask the person who runs Panoptica for your organization to add you as a member, with these "
            f'identifiers:</p><p class="code">tenant id {e(outcome.tenant_id)}<br>object id '
            f"{e(outcome.object_id)}</p><p>(They run <code>panoptica accounts add-member ACCOUNT_ID --tenant-id "
            f"{e(outcome.tenant_id)} --object-id {e(outcome.object_id)}</code>.)</p>" + again
        )
        return HTMLResponse(page("Not a member", body), status_code=403)
    status = 400 if outcome.kind == "invalid" else 403
    body = f'<h1>You are not signed in</h1><p class="notice" role="alert">{e(outcome.message)}</p>' + again
    return HTMLResponse(page("Not signed in", body), status_code=status)


async def signout(request: Request) -> Response:
    """POST with the CSRF header (the console's fetch); the session is revoked, the cookie dropped."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token or not sessions.csrf_matches(token, request.headers.get(CSRF_HEADER)):
        return JSONResponse({"error": "Sign out from the console page."}, status_code=403)
    async with session_scope(request.app.state.services.sessions) as session:
        await sessions.sign_out(session, token)
    response = JSONResponse({"signedOut": True})
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


async def signed_out(request: Request) -> Response:
    body = '<h1>You are signed out</h1><p><a href="/console/signin">Sign in</a></p>'
    return HTMLResponse(page("Signed out", body))


async def session_info(request: Request) -> Response:
    """Who is signed in, their account, and the CSRF token for GraphQL; readable only by our own pages
    (same origin: no CORS header is ever sent)."""
    token = request.cookies.get(SESSION_COOKIE)
    async with request.app.state.services.sessions() as session:
        row = await sessions.session_for(session, token)
        if row is None:
            return JSONResponse({"error": "Not signed in."}, status_code=401)
        info = await sessions.describe(session, row)
    settings = request.app.state.settings
    return JSONResponse(
        {
            "user": info.upn,
            "accountName": info.account_name,
            "expiresAt": info.expires_at,
            "csrfToken": sessions.csrf_token(token or ""),
            "servicePrincipalName": settings.service_principal_name,
        }
    )


def console_routes() -> list:
    return [
        *(Route(path, console_shell) for path in CONSOLE_PATHS),
        Route("/console/signin", signin_start),
        Route("/console/signin/callback", signin_callback),
        Route("/console/signout", signout, methods=["POST"]),
        Route("/console/signed-out", signed_out),
        Route("/console/api/session", session_info),
        Mount("/console/static", app=StaticFiles(directory=STATIC), name="console-static"),
    ]
