"""The Azure DevOps hosts of the emulator: authentication, authorization, paging, faults and content."""

from __future__ import annotations

import io
import time
import zipfile

import jwt
import pytest

from sandbox.scenario import Fault
from tests.sandbox.client import SUPPRESS, get, token
from tests.worlds import CLIENT_ID, CONTOSO_TENANT, FABRIKAM_TENANT

CORE_AREA = "79134c72-4a58-4b42-976c-04e7115f32bf"
GRAPH_AREA = "bb1e7ec9-e901-4b68-999a-de7012b920f8"
ENTITLEMENT_AREA = "68ddce18-2501-45f1-a17b-7931a9922690"


def headers(sandbox, **extra) -> dict:
    return {"Authorization": f"Bearer {token(sandbox)}", **SUPPRESS, **extra}


# --- organization discovery and the tenant header ---------------------------------------------------


def test_anonymous_resource_area_finds_the_organization(sandbox, world):
    found = get(sandbox, "dev", f"/_apis/resourceAreas/{CORE_AREA.upper()}", accountName="contoso")
    assert found.status_code == 200
    assert found.json() == {"id": CORE_AREA, "name": "core", "locationUrl": f"{sandbox.urls['dev']}/contoso/"}
    assert get(sandbox, "dev", f"/_apis/resourceAreas/{CORE_AREA}", accountName="nope").status_code == 404


def test_org_resource_areas_point_at_the_graph_and_entitlement_hosts(sandbox, world):
    auth = headers(sandbox)
    graph = get(sandbox, "dev", f"/contoso/_apis/resourceAreas/{GRAPH_AREA}", auth).json()
    assert graph["locationUrl"] == f"{sandbox.urls['vssps']}/contoso/"
    listed = get(sandbox, "dev", "/contoso/_apis/ResourceAreas", auth).json()
    urls = {area["id"]: area["locationUrl"] for area in listed["value"]}
    assert listed["count"] == len(listed["value"])
    assert urls[ENTITLEMENT_AREA] == f"{sandbox.urls['vsaex']}/contoso/"
    assert urls[CORE_AREA] == f"{sandbox.urls['dev']}/contoso/"


@pytest.mark.parametrize(
    ("org", "tenant"), [("contoso", CONTOSO_TENANT), ("personal-msa", "0" * 8 + "-0000" * 3 + "-" + "0" * 12)]
)
def test_unauthenticated_requests_name_the_org_tenant(sandbox, world, org, tenant):
    response = get(sandbox, "dev", f"/{org}/_apis/connectionData", SUPPRESS)
    assert response.status_code == 401
    assert response.headers["x-vss-resourcetenant"] == tenant
    assert (
        response.headers["www-authenticate"] == f"Bearer authorization_uri={sandbox.authority_host}/{tenant}"
    )
    assert response.json()["message"].startswith("TF400813")


def test_unknown_org_is_404(sandbox, world):
    response = get(sandbox, "dev", "/no-such-org/_apis/connectionData", SUPPRESS)
    assert response.status_code == 404
    assert "x-vss-resourcetenant" not in response.headers


# --- authentication ---------------------------------------------------------------------------------


def test_bad_token_gets_the_203_sign_in_page_unless_suppressed(sandbox, world):
    bad = {"Authorization": "Bearer not-a-jwt", "Accept": "application/json"}
    page = get(sandbox, "dev", "/contoso/_apis/projects", bad)
    assert page.status_code == 203
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["x-vss-resourcetenant"] == CONTOSO_TENANT
    suppressed = get(sandbox, "dev", "/contoso/_apis/projects", {**bad, "X-TFS-FedAuthRedirect": "Suppress"})
    assert suppressed.status_code == 401
    assert suppressed.json()["typeKey"] == "UnauthorizedRequestException"


def test_expired_token_is_a_bad_token(sandbox, world):
    claims = jwt.decode(token(sandbox), options={"verify_signature": False})
    claims["exp"] = int(time.time()) - 60
    expired = jwt.encode(claims, sandbox.context.token_key, algorithm="HS256")
    response = get(
        sandbox, "dev", "/contoso/_apis/projects", {"Authorization": f"Bearer {expired}", **SUPPRESS}
    )
    assert response.status_code == 401
    assert response.json()["message"].startswith("TF400813")


def test_token_from_another_tenant_is_refused(sandbox, world):
    response = get(sandbox, "dev", "/fabrikam/_apis/projects", headers(sandbox))
    assert response.status_code == 401
    assert response.json()["message"].startswith("TF400813")
    assert response.headers["x-vss-resourcetenant"] == FABRIKAM_TENANT


def test_service_principal_not_added_gets_tf401444(sandbox, world):
    world.organization("contoso").members.clear()
    auth = headers(sandbox)
    claims = jwt.decode(auth["Authorization"][7:], options={"verify_signature": False})
    response = get(sandbox, "dev", "/contoso/_apis/connectionData", auth)
    assert response.status_code == 401
    expected = (
        f"TF401444: Please sign-in at least once as {CONTOSO_TENANT}\\{CONTOSO_TENANT}\\{claims['oid']} "
        "in a web browser to enable access to the service."
    )
    assert response.json()["message"] == expected


def test_disabled_membership_is_not_a_member(sandbox, world):
    world.organization("contoso").member(CLIENT_ID).status = "disabled"
    response = get(sandbox, "dev", "/contoso/_apis/projects", headers(sandbox))
    assert response.status_code == 401
    assert response.json()["message"].startswith("TF401444")


def test_connection_data_identifies_the_service_principal(sandbox, world):
    response = get(sandbox, "dev", "/contoso/_apis/connectionData", headers(sandbox))
    assert response.status_code == 200
    body = response.json()
    membership = world.organization("contoso").member(CLIENT_ID)
    assert body["authenticatedUser"]["id"] == membership.identity_id
    assert body["authenticatedUser"]["subjectDescriptor"].startswith("aadsp.")
    assert body["authenticatedUser"]["providerDisplayName"] == "Panoptica"
    assert body["instanceId"] == world.organization("contoso").id
    assert body["deploymentType"] == "hosted"


# --- authorization ----------------------------------------------------------------------------------


def test_projects_are_filtered_to_the_memberships(sandbox, world):
    names = [
        p["name"] for p in get(sandbox, "dev", "/contoso/_apis/projects", headers(sandbox)).json()["value"]
    ]
    assert names == ["Payments", "Platform", "Open Source"]
    missing = get(sandbox, "dev", "/contoso/_apis/projects/Secret Lab", headers(sandbox))
    assert missing.status_code == 404
    repos = get(sandbox, "dev", "/contoso/_apis/git/repositories", headers(sandbox)).json()["value"]
    assert "lab" not in {r["name"] for r in repos}
    assert (
        get(sandbox, "dev", "/contoso/Secret Lab/_apis/git/repositories", headers(sandbox)).status_code == 404
    )


def test_stakeholder_cannot_read_private_code_but_can_read_public(sandbox, world):
    world.organization("contoso").member(CLIENT_ID).access_level = "stakeholder"
    auth = headers(sandbox)
    listed = get(sandbox, "dev", "/contoso/Payments/_apis/git/repositories", auth)
    assert listed.status_code == 200 and listed.json()["count"] == 3
    refused = get(sandbox, "dev", "/contoso/Payments/_apis/git/repositories/payments-api/refs", auth)
    assert refused.status_code == 404
    assert refused.json()["message"].startswith("TF401019")
    assert refused.json()["typeKey"] == "GitRepositoryNotFoundException"
    public = get(
        sandbox, "dev", "/contoso/Open Source/_apis/git/repositories/oss-lib/refs", auth, filter="heads/"
    )
    assert public.status_code == 200
    assert public.json()["value"][0]["name"] == "refs/heads/main"


def test_disabled_and_empty_repositories(sandbox, world):
    auth = headers(sandbox)
    repos = {
        r["name"]: r for r in get(sandbox, "dev", "/contoso/_apis/git/repositories", auth).json()["value"]
    }
    assert repos["old-infra"]["isDisabled"] is True
    assert "defaultBranch" not in repos["empty-repo"]
    assert repos["payments-api"]["defaultBranch"] == "refs/heads/main"
    disabled = get(sandbox, "dev", "/contoso/Platform/_apis/git/repositories/old-infra/items", auth, path="/")
    assert disabled.status_code == 404
    empty_refs = get(
        sandbox, "dev", f"/contoso/_apis/git/repositories/{repos['empty-repo']['id']}/refs", auth
    )
    assert empty_refs.json() == {"count": 0, "value": []}


# --- paging and faults ------------------------------------------------------------------------------


def test_projects_paging_follows_the_continuation_header(sandbox, world):
    auth = headers(sandbox)
    first = get(sandbox, "dev", "/contoso/_apis/projects", auth, **{"$top": 2})
    assert [p["name"] for p in first.json()["value"]] == ["Payments", "Platform"]
    next_token = first.headers["x-ms-continuationtoken"]
    second = get(
        sandbox, "dev", "/contoso/_apis/projects", auth, **{"$top": 2, "continuationToken": next_token}
    )
    assert [p["name"] for p in second.json()["value"]] == ["Open Source"]
    assert "x-ms-continuationtoken" not in second.headers


def test_empty_page_fault_still_carries_a_token(sandbox, world):
    world.organization("contoso").faults.append(
        Fault(route="/_apis/projects$", host="dev", empty_pages=1, count=1)
    )
    auth = headers(sandbox)
    empty = get(sandbox, "dev", "/contoso/_apis/projects", auth)
    assert empty.status_code == 200
    assert empty.json() == {"count": 0, "value": []}
    retry = get(
        sandbox,
        "dev",
        "/contoso/_apis/projects",
        auth,
        continuationToken=empty.headers["x-ms-continuationtoken"],
    )
    assert retry.json()["count"] == 3


# --- content ----------------------------------------------------------------------------------------


def test_zip_download_holds_the_repository_files(sandbox, world):
    repo = world.organization("contoso").project("Payments").repositories[0]
    repo.files = {"main.tf": 'resource "x" "y" {}\n', "modules/net/vpc.tf": "# vpc\n"}
    params = {
        "path": "/",
        "$format": "zip",
        "download": "true",
        "versionDescriptor.version": "main",
        "versionDescriptor.versionType": "branch",
        "api-version": "7.1",
    }
    response = get(
        sandbox,
        "dev",
        f"/contoso/Payments/_apis/git/repositories/{repo.id}/items",
        headers(sandbox),
        **params,
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert {name: archive.read(name).decode() for name in archive.namelist()} == repo.files
    wrong_branch = get(
        sandbox,
        "dev",
        f"/contoso/Payments/_apis/git/repositories/{repo.id}/items",
        headers(sandbox),
        **{**params, "versionDescriptor.version": "nope"},
    )
    assert wrong_branch.status_code == 404


def test_single_file_raw_and_json(sandbox, world):
    auth = headers(sandbox)
    url = "/contoso/Payments/_apis/git/repositories/payments-api/items"
    raw = get(sandbox, "dev", url, {"Authorization": auth["Authorization"]}, path="/README.md")
    assert raw.headers["content-type"].startswith("text/plain")
    assert raw.text == "# payments-api\n"
    item = get(sandbox, "dev", url, auth, path="/README.md", includeContent="true").json()
    assert item["content"] == "# payments-api\n" and item["gitObjectType"] == "blob"
    listing = get(sandbox, "dev", url, auth, scopePath="/", recursionLevel="Full").json()
    assert [i["path"] for i in listing["value"]] == ["/", "/README.md"]


def test_preview_resources_require_the_preview_suffix(sandbox, world):
    auth = headers(sandbox)
    path = "/contoso/Payments/_apis/pipelines/checks/configurations"
    refused = get(sandbox, "dev", path, auth, **{"api-version": "7.1"})
    assert refused.status_code == 400
    assert refused.json()["typeKey"] == "VssInvalidPreviewVersionException"
    in_header = get(sandbox, "dev", path, {**auth, "Accept": "application/json;api-version=7.1"})
    assert in_header.status_code == 400
    assert get(sandbox, "dev", path, auth, **{"api-version": "7.1-preview.1"}).status_code == 200
    assert get(sandbox, "dev", "/contoso/_apis/projects", auth, **{"api-version": "7.1"}).status_code == 200


def test_policies_apply_to_the_branch(sandbox, world):
    project = world.organization("contoso").project("Payments")
    repo = project.repositories[0]
    reviewers = {
        "id": 1,
        "type": {"id": "fa4e907d-c16b-4a4c-9dfa-4906e5d171dd"},
        "isEnabled": True,
        "settings": {
            "scope": [{"repositoryId": repo.id, "refName": "refs/heads/main", "matchKind": "exact"}]
        },
    }
    other = {
        "id": 2,
        "type": {"id": "0609b952-1397-4640-95ec-e00a01b2c241"},
        "isEnabled": True,
        "settings": {
            "scope": [{"repositoryId": None, "refName": "refs/heads/release/", "matchKind": "prefix"}]
        },
    }
    project.extras = {"policy/configurations": [reviewers, other]}
    auth = headers(sandbox)
    applied = get(
        sandbox,
        "dev",
        "/contoso/Payments/_apis/git/policy/configurations",
        auth,
        repositoryId=repo.id,
        refName="refs/heads/main",
    ).json()
    assert [c["id"] for c in applied["value"]] == [1]
    release = get(
        sandbox,
        "dev",
        "/contoso/Payments/_apis/git/policy/configurations",
        auth,
        refName="refs/heads/release/1.0",
    ).json()
    assert [c["id"] for c in release["value"]] == [2]
    assert get(sandbox, "dev", "/contoso/Payments/_apis/policy/configurations", auth).json()["count"] == 2


# --- vsaex and vssps --------------------------------------------------------------------------------


def test_entitlement_reports_access_level_and_groups(sandbox, world):
    member = world.organization("contoso").member(CLIENT_ID)
    path = f"/contoso/_apis/serviceprincipalentitlements/{member.identity_id}"
    body = get(sandbox, "vsaex", path, headers(sandbox), **{"api-version": "7.1-preview.1"}).json()
    assert body["accessLevel"]["accountLicenseType"] == "express"
    assert body["accessLevel"]["licenseDisplayName"] == "Basic"
    assert body["servicePrincipal"]["applicationId"] == CLIENT_ID
    groups = {e["projectRef"]["name"]: e["group"]["groupType"] for e in body["projectEntitlements"]}
    assert groups == {
        "Payments": "projectContributor",
        "Platform": "projectContributor",
        "Open Source": "projectContributor",
    }


def test_entitlement_forbidden_when_not_readable(sandbox, world):
    member = world.organization("contoso").member(CLIENT_ID)
    member.entitlement_readable = False
    path = f"/contoso/_apis/serviceprincipalentitlements/{member.identity_id}"
    response = get(sandbox, "vsaex", path, headers(sandbox), **{"api-version": "7.1-preview.1"})
    assert response.status_code == 403
    assert response.json()["message"].startswith("Access Denied")
    assert "needs the following permission(s)" in response.json()["message"]


def test_graph_memberships_name_the_project_groups(sandbox, world):
    auth = headers(sandbox)
    me = get(sandbox, "dev", "/contoso/_apis/connectionData", auth).json()["authenticatedUser"]
    preview = {"api-version": "7.1-preview.1"}
    descriptor = get(sandbox, "vssps", f"/contoso/_apis/graph/descriptors/{me['id']}", auth).json()["value"]
    assert descriptor == me["subjectDescriptor"]
    links = get(
        sandbox, "vssps", f"/contoso/_apis/graph/Memberships/{descriptor}", auth, direction="up", **preview
    )
    names = {
        get(
            sandbox, "vssps", f"/contoso/_apis/graph/groups/{link['containerDescriptor']}", auth, **preview
        ).json()["principalName"]
        for link in links.json()["value"]
    }
    assert names == {"[Payments]\\Contributors", "[Platform]\\Contributors", "[Open Source]\\Contributors"}
    plain = get(
        sandbox, "vssps", f"/contoso/_apis/graph/Memberships/{descriptor}", auth, **{"api-version": "7.1"}
    )
    assert plain.status_code == 400
