"""vsaex.dev.azure.com: the service principal's entitlement (access level and project groups, reference §5.1).

`Membership.entitlement_readable = False` plays a service principal without the "View users" permission:
the Connect diagnosis must then fall back on Graph and capability probes.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from sandbox import locations
from sandbox.adohttp import AdoRoute, build_host_app, wrapped_error
from sandbox.identity import GROUP_NAMES, LICENSE_NAMES, Caller, group_descriptor, subject_descriptor

CREATED = "2024-05-01T10:00:00.000Z"


def build_app(context):
    async def entitlement(request: Request, caller: Caller, org: str, principal_id: str) -> Response:
        if not caller.membership.entitlement_readable:
            return wrapped_error(
                403,
                f"Access Denied: {caller.membership.identity_id} needs the following permission(s) on the "
                "resource Users to perform this action: View users",
                "UnauthorizedAccessException",
            )
        org_model = caller.org
        with context.holder.lock:
            member = next(
                (m for m in org_model.members if m.identity_id.lower() == principal_id.lower()), None
            )
            tenant = context.world.tenant(org_model.tenant_id)
            app = context.world.app(member.client_id) if member else None
        principal = tenant.principal(member.client_id) if member and tenant else None
        if member is None or principal is None:
            return wrapped_error(
                404,
                f"VS403283: Could not find service principal with id {principal_id}.",
                "ServicePrincipalNotFoundException",
            )
        projects = []
        for project_name, group_type in member.projects.items():
            project = org_model.project(project_name)
            if project is None:
                continue
            projects.append(
                {
                    "projectRef": {"id": project.id, "name": project.name},
                    "group": {
                        "groupType": group_type,
                        "displayName": GROUP_NAMES[group_type],
                        "id": group_descriptor(org_model, project, group_type),
                    },
                    "projectPermissionInherited": "notSet",
                    "teamRefs": [],
                }
            )
        return JSONResponse(
            {
                "id": member.identity_id,
                "servicePrincipal": {
                    "subjectKind": "servicePrincipal",
                    "applicationId": member.client_id,
                    "originId": principal.object_id,
                    "origin": "aad",
                    "domain": org_model.tenant_id,
                    "descriptor": subject_descriptor(org_model.tenant_id, principal.object_id),
                    "displayName": app.display_name if app else member.client_id,
                    "principalName": member.client_id,
                },
                "accessLevel": {
                    "accountLicenseType": member.access_level,
                    "licensingSource": "account",
                    "msdnLicenseType": "none",
                    "licenseDisplayName": LICENSE_NAMES[member.access_level],
                    "status": member.status,
                    "statusMessage": "",
                    "assignmentSource": "unknown",
                },
                "projectEntitlements": projects,
                "groupAssignments": [],
                "dateCreated": CREATED,
                "lastAccessedDate": CREATED,
            }
        )

    routes = [
        AdoRoute("OPTIONS", "/{org}/_apis", locations.options_handler("vsaex")),
        AdoRoute("GET", "/{org}/_apis/serviceprincipalentitlements/{principal_id}", entitlement, preview=1),
    ]
    return build_host_app(context, routes)
