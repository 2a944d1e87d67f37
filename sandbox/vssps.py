"""vssps.dev.azure.com: the Graph calls the Connect diagnosis falls back on (reference §5.2).

Memberships `direction=up` of the service principal are its direct project groups; group descriptors are
derived from (project, group type), so `graph/groups/{descriptor}` can name them `[Project]\\Contributors`.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from sandbox import locations
from sandbox.adohttp import AdoRoute, build_host_app, collection, wrapped_error
from sandbox.identity import GROUP_NAMES, Caller, group_descriptor, subject_descriptor
from sandbox.scenario import Organization, stable_id


def subject_not_found(descriptor: str) -> JSONResponse:
    return wrapped_error(
        404,
        f"VS860018: The subject with descriptor '{descriptor}' could not be found.",
        "GraphSubjectNotFoundException",
    )


def member_descriptors(context, org: Organization) -> dict[str, object]:
    """Subject descriptor -> membership, for every service principal added to the organization."""
    found = {}
    with context.holder.lock:
        tenant = context.world.tenant(org.tenant_id)
        for member in org.members:
            principal = tenant.principal(member.client_id) if tenant else None
            if principal is not None:
                found[subject_descriptor(org.tenant_id, principal.object_id)] = member
    return found


def build_app(context):
    vssps = context.urls["vssps"]

    def groups(org: Organization) -> dict[str, tuple]:
        return {
            group_descriptor(org, project, group_type): (project, group_type)
            for project in org.projects
            for group_type in GROUP_NAMES
        }

    async def memberships(request: Request, caller: Caller, org: str, subject: str) -> Response:
        member = member_descriptors(context, caller.org).get(subject)
        if member is None:
            if subject in groups(caller.org):
                return collection([])  # groups are not nested in this emulator
            return subject_not_found(subject)
        if request.query_params.get("direction", "down").lower() != "up":
            return collection([])  # a service principal has no members
        links = []
        for project_name, group_type in member.projects.items():
            project = caller.org.project(project_name)
            if project is None:
                continue
            container = group_descriptor(caller.org, project, group_type)
            links.append(
                {
                    "containerDescriptor": container,
                    "memberDescriptor": subject,
                    "_links": {
                        "container": {"href": f"{vssps}/{caller.org.name}/_apis/Graph/Groups/{container}"},
                        "member": {
                            "href": f"{vssps}/{caller.org.name}/_apis/Graph/ServicePrincipals/{subject}"
                        },
                    },
                }
            )
        return collection(links)

    async def group(request: Request, caller: Caller, org: str, descriptor: str) -> Response:
        found = groups(caller.org).get(descriptor)
        if found is None:
            return subject_not_found(descriptor)
        project, group_type = found
        name = GROUP_NAMES[group_type]
        return JSONResponse(
            {
                "subjectKind": "group",
                "description": f"Members of this group are {name.lower()} of the project {project.name}.",
                "domain": f"vstfs:///Classification/TeamProject/{project.id}",
                "principalName": f"[{project.name}]\\{name}",
                "mailAddress": "",
                "origin": "vsts",
                "originId": stable_id("group-origin", caller.org.name, project.id, group_type),
                "displayName": name,
                "url": f"{vssps}/{caller.org.name}/_apis/Graph/Groups/{descriptor}",
                "descriptor": descriptor,
                "_links": {"self": {"href": f"{vssps}/{caller.org.name}/_apis/Graph/Groups/{descriptor}"}},
            }
        )

    async def descriptor(request: Request, caller: Caller, org: str, storage_key: str) -> Response:
        for subject, member in member_descriptors(context, caller.org).items():
            if member.identity_id.lower() == storage_key.lower():
                return JSONResponse({"value": subject, "_links": {}})
        return wrapped_error(
            404,
            f"VS860018: The storage key '{storage_key}' could not be found.",
            "StorageKeyNotFoundException",
        )

    routes = [
        AdoRoute("OPTIONS", "/{org}/_apis", locations.options_handler("vssps")),
        AdoRoute("GET", "/{org}/_apis/graph/memberships/{subject}", memberships, preview=1),
        AdoRoute("GET", "/{org}/_apis/graph/groups/{descriptor}", group, preview=1),
        AdoRoute("GET", "/{org}/_apis/graph/descriptors/{storage_key}", descriptor),
    ]
    return build_host_app(context, routes)
