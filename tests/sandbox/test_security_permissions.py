"""The emulator's Security API: the caller's own effective permissions, per identity (our service principal
here), in the Git Repositories namespace, by `GET _apis/permissions/{ns}/{bits}?tokens=` and by
`POST _apis/security/permissionevaluationbatch`, in Microsoft's shapes (security.json, httpExamples)."""

from __future__ import annotations

import httpx

from tests.sandbox.client import SUPPRESS, http, token
from tests.worlds import CLIENT_ID

GIT = "2e9eb7ed-3c0a-47d4-87c1-0ffdd275fd87"
COLLECTION = "3e65f728-f8bc-4ecd-8764-7e378b19bfa7"


def tokens_by_project(world) -> dict[str, str]:
    return {p.name: f"repoV2/{p.id}" for p in world.organization("contoso").projects}


def batch(sandbox, evaluations: list[dict], version: str = "7.1-preview.1") -> httpx.Response:
    with http(sandbox) as client:
        return client.post(
            f"{sandbox.devops_url}/contoso/_apis/security/permissionevaluationbatch",
            params={"api-version": version},
            json={"alwaysAllowAdministrators": False, "evaluations": evaluations},
            headers={**SUPPRESS, "Authorization": f"Bearer {token(sandbox)}"},
        )


def test_batch_answers_git_read_for_the_principals_projects_only(sandbox, world):
    world.organization("contoso").member(CLIENT_ID).read_denied = ["Platform"]
    tokens = tokens_by_project(world)
    asked = [{"securityNamespaceId": GIT, "token": t, "permissions": 2} for t in tokens.values()]
    response = batch(sandbox, asked)
    assert response.status_code == 200, response.text
    values = {e["token"]: e["value"] for e in response.json()["evaluations"]}
    # A Contributor reads Payments and Open Source; Platform denies Read; Secret Lab is not its project.
    assert values == {
        tokens["Payments"]: True,
        tokens["Platform"]: False,
        tokens["Secret Lab"]: False,
        tokens["Open Source"]: True,
    }
    evaluation = response.json()["evaluations"][0]
    assert set(evaluation) == {"securityNamespaceId", "token", "permissions", "value"}


def test_batch_bits_follow_the_project_group(sandbox, world):
    world.organization("contoso").member(CLIENT_ID).projects["Payments"] = "projectReader"
    payments = tokens_by_project(world)["Payments"]
    asked = [
        {"securityNamespaceId": GIT, "token": payments, "permissions": 2},  # Read
        {"securityNamespaceId": GIT, "token": payments, "permissions": 4},  # Contribute
        {"securityNamespaceId": COLLECTION, "token": "NAMESPACE", "permissions": 1},
    ]
    values = [e["value"] for e in batch(sandbox, asked).json()["evaluations"]]
    assert values == [True, False, False]  # a Reader reads but does not contribute; no Collection right


def test_get_with_many_tokens_answers_one_boolean_each(sandbox, world):
    tokens = tokens_by_project(world)
    with http(sandbox) as client:
        response = client.get(
            f"{sandbox.devops_url}/contoso/_apis/permissions/{GIT}/2",
            params={"api-version": "7.1", "tokens": ",".join(tokens.values())},
            headers={**SUPPRESS, "Authorization": f"Bearer {token(sandbox)}"},
        )
    assert response.status_code == 200, response.text
    assert response.json() == {"count": 4, "value": [True, True, False, True]}


def test_batch_refused_when_the_security_api_is(sandbox, world):
    world.organization("contoso").member(CLIENT_ID).refused_apis = ["security"]
    asked = [{"securityNamespaceId": GIT, "token": tokens_by_project(world)["Payments"], "permissions": 2}]
    response = batch(sandbox, asked)
    assert response.status_code == 403
    assert "Access Denied" in response.json()["message"]


def test_batch_needs_its_preview_version_and_a_body(sandbox, world):
    assert batch(sandbox, [], version="7.1").status_code == 400
    with http(sandbox) as client:
        response = client.post(
            f"{sandbox.devops_url}/contoso/_apis/security/permissionevaluationbatch",
            params={"api-version": "7.1-preview.1"},
            content=b"not json",
            headers={**SUPPRESS, "Authorization": f"Bearer {token(sandbox)}"},
        )
    assert response.status_code == 400
