"""The consent callback page and its Connect button."""

from __future__ import annotations

from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse

from api.http_errors import http_status
from api.pages.layout import e, page, plural
from core.accounts.service import Principal
from core.connections import flows, signin
from core.connections import service as connections
from core.db import session_scope
from core.errors import NotFound

COOKIE = "panoptica_consent"
CHECK_LABELS = {
    "ORGANIZATION_EXISTS": "Organization exists",
    "ORGANIZATION_ENTRA_BACKED": "Organization uses Microsoft Entra ID",
    "TENANT_MATCHES": "Consent given in the organization's tenant",
    "APP_TOKEN": "App can sign in to the tenant",
    "SERVICE_PRINCIPAL_MEMBER": "Service principal added to the organization",
    "ACCESS_LEVEL_BASIC": "Access level is Basic",
    "PROJECT_MEMBERSHIP": "Member of projects",
    "CONTRIBUTORS_GROUP": "In the Contributors group",
    "CAN_READ_CODE": "Can read repository contents",
}


def next_steps(organization: str, service_principal_name: str) -> str:
    users_url = f"https://dev.azure.com/{organization}/_settings/users"
    return (
        "<h2>Next: add the service principal to Azure DevOps</h2><ol>"
        f'<li>Open <a href="{e(users_url)}">{e(users_url)}</a> (Organization settings → Users) as a Project '
        "Collection Administrator.</li>"
        f"<li>Choose <strong>Add users</strong> and type <strong>{e(service_principal_name)}</strong>; pick the "
        "application of that name.</li>"
        "<li>Set the access level to <strong>Basic</strong> (Stakeholder cannot read code).</li>"
        "<li>Add it to the projects whose repositories should be scanned, in the group "
        "<strong>Project Contributors</strong>.</li>"
        "<li>Come back here and press <strong>Connect</strong>.</li></ol>"
    )


def connect_form(connection_id: str) -> str:
    return (
        '<form method="post" action="/consent/azure/connect">'
        f'<input type="hidden" name="connection_id" value="{e(connection_id)}">'
        '<button type="submit">Connect</button></form>'
    )


async def signin_callback(request: Request):
    """Microsoft's sign-in comes back here: a proven administrator goes on to admin consent."""
    services = request.app.state.services
    keys = ("state", "code", "client_info", "session_state", "error", "error_description")
    params = {k: v[:4096] for k, v in request.query_params.items() if k in keys}
    outcome = await signin.complete(services, params)
    if outcome.kind == "proven":
        return RedirectResponse(outcome.consent_url, status_code=303)
    if outcome.kind == "invalid":
        body = f'<h1>This sign-in link cannot be used</h1><p class="notice" role="alert">{e(outcome.message)}</p>'
        return HTMLResponse(page("Sign-in link not valid", body), status_code=400)
    body = (
        f"<h1>{e(outcome.organization)} cannot be connected from this sign-in</h1>"
        f'<p class="notice" role="alert">{e(outcome.message)}</p>'
        f'<p class="code">{e(outcome.code)}</p><p>Nothing was changed.</p>'
    )
    return HTMLResponse(page("Not an administrator", body), status_code=403)


async def consent_callback(request: Request) -> HTMLResponse:
    sessions = request.app.state.services.sessions
    settings = request.app.state.settings
    params = {k: v for k, v in request.query_params.items() if k in ("state", "error", "error_description")}
    async with session_scope(sessions) as session:
        outcome = await connections.complete_consent(session, settings, params)
    request.app.state.services.wake_jobs()
    if outcome.kind == "invalid":
        body = f'<h1>This consent link cannot be used</h1><p class="notice" role="alert">{e(outcome.message)}</p>'
        return HTMLResponse(page("Consent link not valid", body), status_code=400)
    connection = outcome.connection
    assert connection is not None  # every outcome but "invalid" names its connection
    organization = connection.organization
    if outcome.kind == "cancelled":
        body = (
            f"<h1>Consent was not granted for {e(organization)}</h1>"
            '<p class="notice" role="alert">The permissions were not accepted in Microsoft Entra ID.</p>'
            f'<p class="code">Reported by Microsoft Entra ID: {e(outcome.error)}</p>'
            "<p>Nothing was changed. A Microsoft Entra administrator of the organization's tenant must accept the "
            "requested permissions.</p>"
            f'<p><a href="{e(outcome.message)}">Try again</a> (the link is valid for 15 minutes).</p>'
        )
        return HTMLResponse(page("Consent not granted", body))
    body = (
        f"<h1>Consent granted for {e(organization)}</h1>"
        f'<p class="ok" role="status">Microsoft Entra ID created the {e(settings.service_principal_name)} '
        "service principal in your tenant. It cannot read anything yet.</p>"
        + next_steps(organization, settings.service_principal_name)
        + connect_form(connection.id)
    )
    response = HTMLResponse(page("Consent granted", body))
    response.set_cookie(
        COOKIE,
        outcome.page_token,
        max_age=int(connections.PAGE_LIFETIME.total_seconds()),
        httponly=True,
        secure=settings.public_url.startswith("https://"),
        samesite="strict",
        path="/consent/azure",
    )
    return response


def checks_table(checks) -> str:
    rows = "".join(
        f'<tr><th scope="row">{e(CHECK_LABELS.get(c.code, c.code))} <span class="code">{e(c.code)}</span></th>'
        f'<td class="{e(c.status)}"><strong>{e(c.status)}</strong></td>'
        f"<td>{e(c.message)}</td><td>{e(c.remediation)}</td></tr>"
        for c in checks
    )
    return (
        '<table><caption>Connection checks</caption><thead><tr><th scope="col">Check</th>'
        '<th scope="col">Result</th><th scope="col">What we saw</th><th scope="col">How to fix</th></tr></thead>'
        f"<tbody>{rows}</tbody></table>"
    )


async def consent_connect(request: Request) -> HTMLResponse:
    """The Connect button: allowed for the browser that completed consent (its HttpOnly cookie)."""
    services = request.app.state.services
    form = await request.form()
    connection_id = str(form.get("connection_id", ""))[:64]
    async with services.sessions() as session:
        consent = await connections.connection_for_page(session, request.cookies.get(COOKIE), connection_id)
    if consent is None:
        body = (
            '<h1>This page has expired</h1><p class="notice" role="alert">Open the console (or use Slack) to '
            "connect the organization.</p>"
        )
        return HTMLResponse(page("Page expired", body), status_code=403)
    principal = Principal(account_id=consent.account_id, user_email=consent.user_email, token_id="")
    try:
        result = await flows.connect(services, principal, connection_id)
    except connections.ConnectError as error:
        body = f'<h1>This connection cannot be checked yet</h1><p class="notice" role="alert">{e(error.message)}</p>'
        return HTMLResponse(page("Not connected", body), status_code=http_status(error))
    if result is None:
        body = "<h1>This connection no longer exists</h1>"
        return HTMLResponse(page("Not found", body), status_code=http_status(NotFound("connection")))
    organization = result.connection.organization
    if result.diagnosis.ok:
        found = result.discovery
        assert found is not None  # a connection that passed its diagnosis has been discovered
        headline = (
            f'<h1>{e(organization)} is connected</h1><p class="ok" role="status">Found '
            f"{plural(found.projects, 'project')} and {plural(found.repositories, 'repository', 'repositories')}. "
            f'They are in the console\'s <a href="/repositories?org={e(quote(organization))}">Repositories table</a>.</p>'
        )
    else:
        headline = (
            f'<h1>{e(organization)} is not connected yet</h1><p class="notice" role="alert">Fix the first failing '
            "check below, then press Connect again.</p>"
        )
    body = headline + checks_table(result.diagnosis.checks)
    if not result.diagnosis.ok:
        body += next_steps(organization, services.settings.service_principal_name) + connect_form(
            connection_id
        )
    return HTMLResponse(page(f"Connect {organization}", body))
