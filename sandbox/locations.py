"""Resource areas (which host serves which area) and the `OPTIONS {base}/_apis` resource-location lists.

Area ids are the specs' `x-ms-vss-resource-area-id` values (reference §3.1). Location ids, route templates and
resource versions are those Microsoft's Python client (azure-devops 7.1) asks for, so that the client can
build its URLs and negotiate versions against the emulator.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from sandbox.adohttp import collection, wrapped_error

# area id -> (name, host key in context.urls)
RESOURCE_AREAS = {
    "79134c72-4a58-4b42-976c-04e7115f32bf": ("core", "dev"),
    "4e080c62-fa21-4fbc-8fef-2a10a2b38049": ("git", "dev"),
    "fb13a388-40dd-4a04-b530-013a739c72ef": ("policy", "dev"),
    "965220d5-5bb9-42cf-8d67-9b146df2a5a4": ("build", "dev"),
    "a85b8835-c1a1-4aac-ae97-1c3d0ba72dbd": ("distributedtask", "dev"),
    "1814ab31-2f4f-4a9f-8761-f4d77dc5a5d7": ("serviceEndpoint", "dev"),
    "bb1e7ec9-e901-4b68-999a-de7012b920f8": ("Graph", "vssps"),
    "68ddce18-2501-45f1-a17b-7931a9922690": ("MemberEntitlementManagement", "vsaex"),
}

# (location id, area, resource name, route template, resource version, preview only)
LOCATIONS = {
    "dev": [
        ("00d9565f-ed9c-4a06-9a50-00e7896ccab4", "Location", "ConnectionData", "_apis/{resource}", 1, True),
        (
            "e81700f7-3be2-46de-8624-2eb35882fcaa",
            "Location",
            "ResourceAreas",
            "_apis/{resource}/{areaId}",
            1,
            True,
        ),
        (
            "603fe2ac-9723-48b9-88ad-09305aa6c6e1",
            "core",
            "projects",
            "_apis/{resource}/{*projectId}",
            4,
            False,
        ),
        (
            "225f7195-f9c7-4d14-ab28-a83f7ff77e1f",
            "git",
            "repositories",
            "{project}/_apis/{area}/{resource}/{repositoryId}",
            1,
            False,
        ),
        (
            "2d874a60-a811-4f62-9c9f-963a6ea0a55b",
            "git",
            "refs",
            "{project}/_apis/{area}/repositories/{repositoryId}/{resource}/{*filter}",
            1,
            False,
        ),
        (
            "fb93c0db-47ed-4a31-8c20-47552878fb44",
            "git",
            "items",
            "{project}/_apis/{area}/repositories/{repositoryId}/{resource}/{*path}",
            1,
            False,
        ),
        (
            "2c420070-a0a2-49cc-9639-c9f271c5ff07",
            "git",
            "policyConfigurations",
            "{project}/_apis/{area}/policy/configurations",
            1,
            False,
        ),
        (
            "dad91cbe-d183-45f8-9c6e-9c1164472121",
            "policy",
            "configurations",
            "{project}/_apis/{area}/{resource}/{configurationId}",
            1,
            False,
        ),
        (
            "44096322-2d3d-466a-bb30-d1b7de69f61f",
            "policy",
            "types",
            "{project}/_apis/{area}/{resource}/{typeId}",
            1,
            False,
        ),
    ],
    "vssps": [
        (
            "e34b6394-6b30-4435-94a9-409a5eef3e31",
            "Graph",
            "Memberships",
            "_apis/{area}/{resource}/{subjectDescriptor}/{containerDescriptor}",
            1,
            True,
        ),
        (
            "ebbe6af8-0b91-4c13-8cf1-777c14858188",
            "Graph",
            "Groups",
            "_apis/{area}/{resource}/{groupDescriptor}",
            1,
            True,
        ),
        (
            "048aee0a-7072-4cde-ab73-7af77b1e0b4e",
            "Graph",
            "Descriptors",
            "_apis/{area}/{resource}/{storageKey}",
            1,
            False,
        ),
    ],
    "vsaex": [
        (
            "1d491a66-190b-43ae-86b8-9c2688c55186",
            "MemberEntitlementManagement",
            "ServicePrincipalEntitlements",
            "_apis/{resource}/{servicePrincipalId}",
            1,
            True,
        ),
    ],
}


def area_info(context, org_name: str, area_id: str) -> dict | None:
    found = RESOURCE_AREAS.get(area_id.lower())
    if found is None:
        return None
    name, host = found
    return {"id": area_id.lower(), "name": name, "locationUrl": f"{context.urls[host]}/{org_name}/"}


def resource_locations(host: str) -> list[dict]:
    return [
        {
            "id": location_id,
            "area": area,
            "resourceName": resource,
            "routeTemplate": template,
            "resourceVersion": version,
            "minVersion": 1.0,
            "maxVersion": 7.1,
            # A preview-only resource has no released version; the client then keeps "-preview".
            "releasedVersion": "0.0" if preview else "7.1",
        }
        for location_id, area, resource, template, version, preview in LOCATIONS[host]
    ]


def area_not_found(area_id: str) -> JSONResponse:
    return wrapped_error(
        404, f"The resource area '{area_id}' could not be found.", "ResourceAreaNotFoundException"
    )


# --- handlers --------------------------------------------------------------------------------------


def anonymous_area_handler(context):
    """`GET https://dev.azure.com/_apis/resourceAreas/{areaId}?accountName={org}`: needs no authentication."""

    async def handler(request: Request, caller, area: str) -> Response:
        name = request.query_params.get("accountName") or request.query_params.get("organizationName") or ""
        with context.holder.lock:
            org = context.world.organization(name) if name else None
        info = area_info(context, org.name, area) if org else None
        if info is None:
            return area_not_found(area)
        return JSONResponse(info)

    return handler


def org_area_handler(context):
    async def handler(request: Request, caller, org: str, area: str) -> Response:
        info = area_info(context, caller.org.name, area)
        return JSONResponse(info) if info else area_not_found(area)

    return handler


def org_areas_handler(context):
    async def handler(request: Request, caller, org: str) -> Response:
        return collection([area_info(context, caller.org.name, area_id) for area_id in RESOURCE_AREAS])

    return handler


def options_handler(host: str):
    async def handler(request: Request, caller, org: str) -> Response:
        return collection(resource_locations(host))

    return handler
