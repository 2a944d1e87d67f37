"""The admin host: a page and a JSON API to play the customer's administrator and to steer the world.

The page (`GET /`) lists tenants and organizations and offers plain HTML forms (POST, no JavaScript)
for what an Entra or Azure DevOps administrator does: grant or revoke consent, add our service principal
to an organization, change its access level, add it to projects. Every form posts to `/forms/{action}`;
the same actions are under `/api/...` for tests, plus the whole world, faults and the request log.
The app acted on is `client_id` from the form, body or query, else the first app of the world.
"""

from __future__ import annotations

import html
import json
import time
from collections import Counter
from pathlib import Path
from urllib.parse import quote, urlencode

from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from sandbox.scenario import ZERO_TENANT, Fault, Membership, ServicePrincipal, World, stable_id

REDACTED = "(redacted)"
ACCESS_LEVELS = {
    "express": "Basic",
    "stakeholder": "Stakeholder",
    "advanced": "Basic + Test Plans",
    "none": "None",
}
GROUPS = {
    "projectContributor": "Contributors",
    "projectReader": "Readers",
    "projectAdministrator": "Project Administrators",
    "projectStakeholder": "Stakeholders",
}
PAGE = (Path(__file__).parent / "pages" / "admin.html").read_text(encoding="utf-8")


class AdminError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


# --- actions: each takes the world and the request's parameters, changes it, returns a sentence -----


def client_id_of(world: World, params: dict) -> str:
    client_id = params.get("client_id") or (world.apps[0].client_id if world.apps else "")
    if not client_id:
        raise AdminError(400, "The world has no app: give client_id.")
    return client_id


def find_org(world: World, name: str):
    org = world.organization(name)
    if org is None:
        raise AdminError(404, f"Organization '{name}' not found.")
    return org


def find_tenant(world: World, key: str):
    tenant = world.tenant(key)
    if tenant is None:
        raise AdminError(404, f"Tenant '{key}' not found.")
    return tenant


def find_member(world: World, org_name: str, params: dict):
    org = find_org(world, org_name)
    client_id = client_id_of(world, params)
    member = org.member(client_id)
    if member is None:
        raise AdminError(404, f"The service principal {client_id} is not a member of '{org.name}'.")
    return org, member


def add_member(world: World, org_name: str, params: dict) -> str:
    org = find_org(world, org_name)
    client_id = client_id_of(world, params)
    if org.member(client_id) is not None:
        raise AdminError(409, f"The service principal {client_id} is already a member of '{org.name}'.")
    if not params.get("force"):
        # Azure DevOps finds service principals in the backing Entra tenant: no consent, nothing to add.
        if org.tenant_id == ZERO_TENANT:
            raise AdminError(
                409,
                f"'{org.name}' is backed by Microsoft accounts, not Microsoft Entra ID: service principals "
                "cannot be added to it. Connect the organization to a tenant first.",
            )
        tenant = world.tenant(org.tenant_id)
        if tenant is None or tenant.principal(client_id) is None:
            name = tenant.name if tenant else org.tenant_id
            raise AdminError(
                409,
                f"No service principal for {client_id} in the directory '{name}': grant admin consent first.",
            )
    group = params.get("group") or "projectContributor"
    projects = params.get("projects") or {p.name: group for p in org.projects}
    org.members.append(
        Membership(
            client_id=client_id,
            access_level=params.get("access_level") or "express",
            projects=projects,
            identity_id=stable_id("identity", org.name, client_id),
        )
    )
    return f"Added the service principal to '{org.name}'."


def set_access_level(world: World, org_name: str, params: dict) -> str:
    org, member = find_member(world, org_name, params)
    member.access_level = params.get("access_level", "")  # validated by pydantic on assignment
    return f"Access level in '{org.name}' is now {ACCESS_LEVELS[member.access_level]}."


def remove_member(world: World, org_name: str, params: dict) -> str:
    org, member = find_member(world, org_name, params)
    org.members = [m for m in org.members if m is not member]
    return f"Removed the service principal from '{org.name}'."


def add_to_project(world: World, org_name: str, project_name: str, params: dict) -> str:
    org, member = find_member(world, org_name, params)
    project = org.project(project_name)
    if project is None:
        raise AdminError(404, f"Project '{project_name}' not found in '{org.name}'.")
    group = params.get("group") or "projectContributor"
    member.projects = {**member.projects, project.name: group}
    return f"Added the service principal to {project.name} as {GROUPS.get(group, group)}."


def remove_from_project(world: World, org_name: str, project_name: str, params: dict) -> str:
    org, member = find_member(world, org_name, params)
    project = org.project(project_name)
    name = project.name if project else project_name
    if name not in member.projects:
        raise AdminError(404, f"The service principal is not in project '{project_name}'.")
    member.projects = {k: v for k, v in member.projects.items() if k != name}
    return f"Removed the service principal from {name}."


def grant_consent(world: World, tenant_key: str, params: dict) -> str:
    tenant = find_tenant(world, tenant_key)
    client_id = client_id_of(world, params)
    if world.app(client_id) is None:
        raise AdminError(404, f"No app with client id {client_id}.")
    if tenant.principal(client_id) is None:
        principal = ServicePrincipal(
            client_id=client_id, object_id=stable_id("sp", tenant.id, client_id), consented_at=time.time()
        )
        tenant.service_principals = [*tenant.service_principals, principal]
    return f"Admin consent granted in '{tenant.name}'."


def revoke_consent(world: World, tenant_key: str, params: dict) -> str:
    tenant = find_tenant(world, tenant_key)
    client_id = client_id_of(world, params)
    if tenant.principal(client_id) is None:
        raise AdminError(404, f"No service principal for {client_id} in '{tenant.name}'.")
    tenant.service_principals = [sp for sp in tenant.service_principals if sp.client_id != client_id]
    return f"Consent revoked in '{tenant.name}': the service principal was deleted."


def add_fault(world: World, org_name: str | None, params: dict) -> str:
    fault = Fault.model_validate({k: v for k, v in params.items() if k != "client_id"})
    if org_name is None:
        world.faults.append(fault)
        return "Added a fault on every organization."
    org = find_org(world, org_name)
    org.faults.append(fault)
    return f"Added a fault to '{org.name}'."


def clear_faults(world: World, params: dict) -> str:
    world.faults.clear()
    for org in world.organizations:
        org.faults.clear()
    return "Cleared all faults."


# --- the world as JSON ---------------------------------------------------------------------------


def redacted_world(world: World) -> dict:
    data = world.model_dump(mode="json")
    for app in data["apps"]:
        if app.get("secret"):
            app["secret"] = REDACTED
    data["slack"]["bot_token"] = REDACTED
    return data


def restore_redacted(data: dict, current: World) -> dict:
    """A world fetched from GET /api/world can be PUT back: redacted secrets keep their current value."""
    for app in data.get("apps") or []:
        if isinstance(app, dict) and app.get("secret") == REDACTED:
            known = current.app(str(app.get("client_id")))
            app["secret"] = known.secret if known else None
    slack = data.get("slack")
    if isinstance(slack, dict) and slack.get("bot_token") == REDACTED:
        slack["bot_token"] = current.slack.bot_token
    return data


def request_counts(context) -> dict:
    records = list(context.requests)
    return {
        "total": len(records),
        "by_host": dict(Counter(r.host for r in records)),
        "by_status": {str(k): v for k, v in Counter(r.status for r in records).items()},
        "by_host_and_status": {
            f"{h} {s}": n for (h, s), n in Counter((r.host, r.status) for r in records).items()
        },
        "slack_calls": len(context.slack_calls),
        "recent": [
            {"host": r.host, "method": r.method, "path": r.path, "query": r.query, "status": r.status}
            for r in records[-20:]
        ],
    }


def request_details(context, detail: str) -> dict:
    """What `GET /api/requests?detail=records,slack` adds to the counts, read-only: every request record
    (host, method, path, query, status) and every Slack call (method, channel, time, outcome; no bodies).
    The git store's counters (bytes served, upload-packs, fetches since the emulator started) come always."""
    wanted = {part.strip() for part in detail.split(",") if part.strip()}
    answer: dict = {}
    store = context.git
    if store is not None:
        answer["git"] = {
            "bytes_served": store.bytes_served,
            "upload_packs": store.upload_packs,
            "fetches": store.fetches,
        }
    if "records" in wanted:
        answer["records"] = [
            {"host": r.host, "method": r.method, "path": r.path, "query": r.query, "status": r.status}
            for r in list(context.requests)
        ]
    if "slack" in wanted:
        answer["slack_log"] = [
            {
                "method": c.get("method"),
                "channel": c["body"].get("channel") if isinstance(c.get("body"), dict) else None,
                "at": c.get("at"),
                "ok": c.get("ok"),
                "error": c.get("error"),
            }
            for c in list(context.slack_calls)
        ]
    return answer


# --- the page --------------------------------------------------------------------------------------


def esc(value) -> str:
    return html.escape(str(value), quote=True)


def button(action: str, label: str, fields: dict, danger: bool = False) -> str:
    hidden = "".join(f'<input type="hidden" name="{esc(k)}" value="{esc(v)}">' for k, v in fields.items())
    css = ' class="danger"' if danger else ""
    return (
        f'<form class="inline" method="post" action="/forms/{esc(action)}">{hidden}'
        f'<button type="submit"{css}>{esc(label)}</button></form>'
    )


def principal_row(world: World, sp: ServicePrincipal) -> str:
    app = world.app(sp.client_id)
    name = app.display_name if app else "(unknown app)"
    state = "enabled" if sp.enabled else "disabled"
    return f"<tr><td>{esc(name)}</td><td><code>{esc(sp.client_id)}</code></td><td>{state}</td></tr>"


def render_tenants(world: World, client_id: str) -> str:
    parts = ['<h2 id="tenants">Tenants (Microsoft Entra ID)</h2>']
    if not world.tenants:
        parts.append("<p>No tenants.</p>")
    for tenant in world.tenants:
        fields = {"tenant": tenant.id, "client_id": client_id}
        parts.append(f'<section class="card" aria-labelledby="tenant-{esc(tenant.id)}">')
        parts.append(f'<h3 id="tenant-{esc(tenant.id)}">{esc(tenant.name)}</h3>')
        parts.append(
            f'<p class="muted">Tenant id <code>{esc(tenant.id)}</code> &middot; {esc(tenant.domain)}</p>'
        )
        if tenant.service_principals:
            rows = "".join(principal_row(world, sp) for sp in tenant.service_principals)
            parts.append(
                '<table><caption>Consented service principals</caption><thead><tr><th scope="col">App</th>'
                '<th scope="col">Client id</th><th scope="col">State</th></tr></thead>'
                f"<tbody>{rows}</tbody></table>"
            )
        else:
            parts.append("<p>No consented service principals.</p>")
        if tenant.principal(client_id):
            parts.append(button("revoke-consent", f"Revoke consent in {tenant.name}", fields, danger=True))
        else:
            parts.append(button("grant-consent", f"Grant admin consent in {tenant.name} (shortcut)", fields))
        parts.append("</section>")
    return "".join(parts)


def render_org(world: World, org, client_id: str) -> str:
    tenant = world.tenant(org.tenant_id)
    backing = (
        "Microsoft accounts (no Entra tenant)"
        if org.tenant_id == ZERO_TENANT
        else (tenant.name if tenant else f"unknown tenant {org.tenant_id}")
    )
    member = org.member(client_id)
    fields = {"org": org.name, "client_id": client_id}
    parts = [
        f'<section class="card" aria-labelledby="org-{esc(org.name)}">',
        f'<h3 id="org-{esc(org.name)}">{esc(org.name)}</h3>',
        f'<p class="muted">Backed by {esc(backing)} &middot; {len(org.projects)} projects'
        f" &middot; {len(org.faults)} faults</p>",
    ]
    if member is None:
        parts.append("<p>The service principal is <strong>not a member</strong> of this organization.</p>")
        parts.append(
            button("add-member", "Add the service principal as Basic (Contributors in every project)", fields)
        )
    else:
        level = ACCESS_LEVELS[member.access_level]
        parts.append(
            f"<p>The service principal is a member: access level <strong>{esc(level)}</strong>, "
            f"status {esc(member.status)}.</p>"
        )
        if member.access_level != "stakeholder":
            parts.append(
                button(
                    "set-access-level",
                    "Set access level to Stakeholder",
                    {**fields, "access_level": "stakeholder"},
                )
            )
        if member.access_level != "express":
            parts.append(
                button("set-access-level", "Set access level to Basic", {**fields, "access_level": "express"})
            )
        parts.append(
            button("remove-member", "Remove the service principal from the organization", fields, danger=True)
        )
    rows = []
    for project in org.projects:
        group = member.projects.get(project.name) if member else None
        actions = ""
        if member is not None:
            pfields = {**fields, "project": project.name}
            if group != "projectContributor":
                actions += button(
                    "add-to-project",
                    f"Add to {project.name} as Contributors",
                    {**pfields, "group": "projectContributor"},
                )
            if group != "projectReader":
                actions += button(
                    "add-to-project",
                    f"Add to {project.name} as Readers",
                    {**pfields, "group": "projectReader"},
                )
            if group:
                actions += button("remove-from-project", f"Remove from {project.name}", pfields, danger=True)
        group_name = GROUPS.get(group, group) if group else "none"
        rows.append(
            f'<tr><th scope="row">{esc(project.name)}</th><td>{esc(project.visibility)}</td>'
            f"<td>{len(project.repositories)}</td><td>{esc(group_name)}</td><td>{actions}</td></tr>"
        )
    parts.append(
        f'<table><caption>Projects of {esc(org.name)}</caption><thead><tr><th scope="col">Project</th>'
        '<th scope="col">Visibility</th><th scope="col">Repositories</th>'
        '<th scope="col">Service principal\'s group</th><th scope="col">Actions</th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></section>"
    )
    return "".join(parts)


def render_page(context, done: str = "", error: str = "") -> str:
    with context.holder.lock:
        world = context.world
        client_id = world.apps[0].client_id if world.apps else ""
        app = world.app(client_id)
        parts = ["<h1>Sandbox admin</h1>"]
        if error:
            parts.append(f'<p class="status error" role="alert">{esc(error)}</p>')
        elif done:
            parts.append(f'<p class="status" role="status">{esc(done)}</p>')
        parts.append(
            "<p>Play the customer's administrator: consent in Microsoft Entra ID, then add the service "
            f"principal of <strong>{esc(app.display_name if app else '(no app)')}</strong> "
            f"(<code>{esc(client_id)}</code>) to an Azure DevOps organization.</p>"
        )
        parts.append(render_tenants(world, client_id))
        parts.append('<h2 id="organizations">Organizations (Azure DevOps)</h2>')
        parts.extend(render_org(world, org, client_id) for org in world.organizations)
        if not world.organizations:
            parts.append("<p>No organizations.</p>")
    parts.append('<h2 id="tools">Tools</h2>')
    parts.append(button("clear-faults", "Clear all faults", {}))
    parts.append(
        '<ul><li><a href="/api/world">The world as JSON</a> (secrets redacted)</li>'
        '<li><a href="/api/requests">Request counts</a></li></ul>'
    )
    return PAGE.replace("<!--BODY-->", "\n".join(parts))


# --- routes ----------------------------------------------------------------------------------------


def run(context, action, *args) -> str:
    """Apply one action under the world lock; pydantic refusals become 400s."""
    with context.holder.lock:
        try:
            return action(context.world, *args)
        except ValidationError as exc:
            raise AdminError(400, validation_message(exc)) from exc


def validation_message(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'value'}: {e['msg']}" for e in exc.errors())


FORM_ACTIONS = {
    "add-member": lambda w, f: add_member(w, f.get("org", ""), f),
    "set-access-level": lambda w, f: set_access_level(w, f.get("org", ""), f),
    "remove-member": lambda w, f: remove_member(w, f.get("org", ""), f),
    "add-to-project": lambda w, f: add_to_project(w, f.get("org", ""), f.get("project", ""), f),
    "remove-from-project": lambda w, f: remove_from_project(w, f.get("org", ""), f.get("project", ""), f),
    "grant-consent": lambda w, f: grant_consent(w, f.get("tenant", ""), f),
    "revoke-consent": lambda w, f: revoke_consent(w, f.get("tenant", ""), f),
    "clear-faults": clear_faults,
}


def build_app(context) -> Starlette:
    async def page(request: Request) -> Response:
        params = request.query_params
        return HTMLResponse(render_page(context, done=params.get("done", ""), error=params.get("error", "")))

    async def form_action(request: Request) -> Response:
        action = FORM_ACTIONS.get(request.path_params["action"])
        form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        try:
            if action is None:
                raise AdminError(404, "Unknown action.")
            done = run(context, action, form)
        except AdminError as exc:
            return HTMLResponse(render_page(context, error=exc.message), status_code=exc.status)
        anchor = f"#org-{quote(form['org'])}" if form.get("org") else ""
        # Post/redirect/get: reloading the page does not repeat the action.
        return RedirectResponse("/?" + urlencode({"done": done}) + anchor, status_code=303)

    async def params_of(request: Request) -> dict:
        params = dict(request.query_params)
        raw = await request.body()
        if raw:
            try:
                data = json.loads(raw)
            except ValueError as exc:
                raise AdminError(400, f"The body is not JSON: {exc}") from exc
            if not isinstance(data, dict):
                raise AdminError(400, "The body must be a JSON object.")
            params.update(data)
        return params

    def api(action, *names):
        async def endpoint(request: Request) -> Response:
            try:
                params = await params_of(request)
                args = [request.path_params[name] for name in names]
                message = run(context, action, *args, params)
            except AdminError as exc:
                return JSONResponse({"ok": False, "error": exc.message}, status_code=exc.status)
            return JSONResponse({"ok": True, "message": message})

        return endpoint

    async def get_world(request: Request) -> Response:
        with context.holder.lock:
            return JSONResponse(redacted_world(context.world))

    async def put_world(request: Request) -> Response:
        try:
            data = json.loads(await request.body())
        except ValueError as exc:
            return JSONResponse({"ok": False, "error": f"The body is not JSON: {exc}"}, status_code=400)
        if not isinstance(data, dict):
            return JSONResponse({"ok": False, "error": "The body must be a JSON object."}, status_code=400)
        with context.holder.lock:
            try:
                world = World.model_validate(restore_redacted(data, context.world))
            except ValidationError as exc:
                # Nothing changes: the live world is replaced only by a valid one.
                return JSONResponse({"ok": False, "error": validation_message(exc)}, status_code=400)
            context.holder.replace(world)
        return JSONResponse({"ok": True, "message": "World replaced."})

    async def get_requests(request: Request) -> Response:
        detail = request.query_params.get("detail", "")
        return JSONResponse({**request_counts(context), **request_details(context, detail)})

    async def clear_requests(request: Request) -> Response:
        context.requests.clear()
        context.slack_calls.clear()
        return JSONResponse({"ok": True, "message": "Request log cleared."})

    org_sp = "/api/organizations/{org}/service-principal"
    return Starlette(
        routes=[
            Route("/", page),
            Route("/forms/{action}", form_action, methods=["POST"]),
            Route("/api/world", get_world, methods=["GET"]),
            Route("/api/world", put_world, methods=["PUT"]),
            Route(org_sp, api(add_member, "org"), methods=["POST"]),
            Route(org_sp, api(remove_member, "org"), methods=["DELETE"]),
            Route(org_sp + "/access-level", api(set_access_level, "org"), methods=["PUT"]),
            Route(org_sp + "/projects/{project}", api(add_to_project, "org", "project"), methods=["PUT"]),
            Route(
                org_sp + "/projects/{project}", api(remove_from_project, "org", "project"), methods=["DELETE"]
            ),
            Route("/api/tenants/{tenant}/consent", api(grant_consent, "tenant"), methods=["POST"]),
            Route("/api/tenants/{tenant}/consent", api(revoke_consent, "tenant"), methods=["DELETE"]),
            Route("/api/organizations/{org}/faults", api(add_fault, "org"), methods=["POST"]),
            Route("/api/faults", api(lambda w, p: add_fault(w, None, p)), methods=["POST"]),
            Route("/api/faults", api(clear_faults), methods=["DELETE"]),
            Route("/api/requests", get_requests, methods=["GET"]),
            Route("/api/requests", clear_requests, methods=["DELETE"]),
        ]
    )
