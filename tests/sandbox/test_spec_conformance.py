"""Every operation the emulator serves that Microsoft's 7.1 specs describe answers with the spec's 200 schema.

The table below lists them: (host, url template, api-version, spec file, spec path). Lists are
validated item by item, because the wire wraps the declared array in `{count, value}`. Besides the schema
(which rarely forbids anything), every field the emulator sends must be one the spec declares, to catch
misspelt names.
`connectionData` and `resourceAreas` are not in the specs: Microsoft's Python client models check them.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import pytest
from azure.devops.v7_1.location import models as location_models
from jsonschema import Draft4Validator

from tests.sandbox.client import SUPPRESS, get, token
from tests.worlds import CLIENT_ID

SPECS = Path("/work/shared/specs/azure-devops")
PROJECT = "/{org}/{project}/_apis"
REPO = PROJECT + "/git/repositories/{repo}"

OPERATIONS = [
    # host, url template, api-version, spec file, spec path (under "paths" or "x-ms-paths")
    ("dev", "/{org}/_apis/projects", "7.1", "core/core.json", "/{organization}/_apis/projects"),
    (
        "dev",
        "/{org}/_apis/projects/{project}",
        "7.1",
        "core/core.json",
        "/{organization}/_apis/projects/{projectId}",
    ),
    (
        "dev",
        "/{org}/_apis/git/repositories",
        "7.1",
        "git/git.json",
        "/{organization}/{project}/_apis/git/repositories",
    ),
    (
        "dev",
        PROJECT + "/git/repositories",
        "7.1",
        "git/git.json",
        "/{organization}/{project}/_apis/git/repositories",
    ),
    ("dev", REPO, "7.1", "git/git.json", "/{organization}/{project}/_apis/git/repositories/{repositoryId}"),
    (
        "dev",
        REPO + "/refs?filter=heads/",
        "7.1",
        "git/git.json",
        "/{organization}/{project}/_apis/git/repositories/{repositoryId}/refs",
    ),
    (
        "dev",
        REPO + "/items?scopePath=/&recursionLevel=Full&$format=json",
        "7.1",
        "git/git.json",
        "/{organization}/{project}/_apis/git/repositories/{repositoryId}/items",
    ),
    (
        "dev",
        REPO + "/items?path=/README.md&includeContent=true&includeContentMetadata=true&$format=json",
        "7.1",
        "git/git.json",
        "/{organization}/{project}/_apis/git/repositories/{repositoryId}/items?path={path}",
    ),
    (
        "dev",
        PROJECT + "/git/policy/configurations?repositoryId={repo}&refName=refs/heads/main",
        "7.1",
        "git/git.json",
        "/{organization}/{project}/_apis/git/policy/configurations",
    ),
    (
        "dev",
        PROJECT + "/policy/configurations",
        "7.1",
        "policy/policy.json",
        "/{organization}/{project}/_apis/policy/configurations",
    ),
    (
        "dev",
        PROJECT + "/policy/types",
        "7.1",
        "policy/policy.json",
        "/{organization}/{project}/_apis/policy/types",
    ),
    (
        "dev",
        PROJECT + "/build/generalsettings",
        "7.1",
        "build/build.json",
        "/{organization}/{project}/_apis/build/generalsettings",
    ),
    (
        "dev",
        PROJECT + "/build/definitions",
        "7.1",
        "build/build.json",
        "/{organization}/{project}/_apis/build/definitions",
    ),
    (
        "dev",
        PROJECT + "/pipelines",
        "7.1",
        "pipelines/pipelines.json",
        "/{organization}/{project}/_apis/pipelines",
    ),
    (
        "dev",
        PROJECT + "/serviceendpoint/endpoints",
        "7.1",
        "serviceEndpoint/serviceEndpoint.json",
        "/{organization}/{project}/_apis/serviceendpoint/endpoints?",
    ),
    (
        "dev",
        PROJECT + "/distributedtask/variablegroups",
        "7.1",
        "distributedTask/taskAgent.json",
        "/{organization}/{project}/_apis/distributedtask/variablegroups?",
    ),
    (
        "dev",
        PROJECT + "/distributedtask/environments",
        "7.1",
        "distributedTask/taskAgent.json",
        "/{organization}/{project}/_apis/distributedtask/environments",
    ),
    (
        "dev",
        PROJECT + "/pipelines/pipelinepermissions/endpoint/{endpoint}",
        "7.1-preview.1",
        "approvalsAndChecks/pipelinePermissions.json",
        "/{organization}/{project}/_apis/pipelines/pipelinepermissions/{resourceType}/{resourceId}",
    ),
    (
        "dev",
        PROJECT + "/pipelines/checks/configurations?resourceType=environment&resourceId=1",
        "7.1-preview.1",
        "approvalsAndChecks/pipelinesChecks.json",
        "/{organization}/{project}/_apis/pipelines/checks/configurations",
    ),
    (
        "vssps",
        "/{org}/_apis/graph/Memberships/{subject}?direction=up",
        "7.1-preview.1",
        "graph/graph.json",
        "/{organization}/_apis/graph/Memberships/{subjectDescriptor}",
    ),
    (
        "vssps",
        "/{org}/_apis/graph/groups/{group}",
        "7.1-preview.1",
        "graph/graph.json",
        "/{organization}/_apis/graph/groups/{groupDescriptor}",
    ),
    (
        "vssps",
        "/{org}/_apis/graph/descriptors/{identity}",
        "7.1",
        "graph/graph.json",
        "/{organization}/_apis/graph/descriptors/{storageKey}",
    ),
    (
        "vsaex",
        "/{org}/_apis/serviceprincipalentitlements/{identity}",
        "7.1-preview.1",
        "memberEntitlementManagement/memberEntitlementManagement.json",
        "/{organization}/_apis/serviceprincipalentitlements/{servicePrincipalId}",
    ),
]

ENDPOINT_ID = "5e3b8f2a-0000-4000-8000-00000000e001"
# One item per project list, so that the lists are not validated empty.
PROJECT_EXTRAS = {
    "build/definitions": [
        {
            "id": 1,
            "name": "ci",
            "path": "\\",
            "type": "build",
            "queueStatus": "enabled",
            "revision": 3,
            "uri": "vstfs:///Build/Definition/1",
        }
    ],
    "pipelines": [
        {"id": 1, "name": "ci", "folder": "\\", "revision": 3, "url": "https://example.invalid/p/1"}
    ],
    "serviceendpoint/endpoints": [
        {
            "id": ENDPOINT_ID,
            "name": "azure-prod",
            "type": "azurerm",
            "isShared": False,
            "isReady": True,
            "url": "https://management.azure.com/",
            "authorization": {"scheme": "WorkloadIdentityFederation", "parameters": {}},
        }
    ],
    "distributedtask/variablegroups": [
        {
            "id": 1,
            "name": "prod",
            "type": "Vsts",
            "isShared": False,
            "variables": {"region": {"value": "westeurope", "isSecret": False}},
        }
    ],
    "distributedtask/environments": [{"id": 1, "name": "production", "description": ""}],
    "pipelines/checks/configurations": [
        {
            "id": 1,
            "type": {"id": "8c6f20a7-a545-4486-9777-f762fafe0d4d", "name": "Approval"},
            "resource": {"type": "environment", "id": "1", "name": "production"},
        }
    ],
    "pipelines/pipelinepermissions": {f"endpoint/{ENDPOINT_ID}": {"allPipelines": {"authorized": True}}},
}


@cache
def spec(file: str) -> dict:
    return json.loads((SPECS / file).read_text(encoding="utf-8-sig"))


def spec_operation(file: str, path: str) -> dict:
    document = spec(file)
    operations = document.get("paths", {}).get(path) or document.get("x-ms-paths", {}).get(path)
    assert operations and "get" in operations, f"{path} is not a GET operation in {file}"
    return operations["get"]


def declared_version(file: str, operation: dict) -> str:
    for parameter in operation["parameters"]:
        if "$ref" in parameter:
            parameter = spec(file)["parameters"][parameter["$ref"].rsplit("/", 1)[-1]]
        if parameter.get("name") == "api-version":
            return parameter["description"].split("'")[1]
    raise AssertionError("no api-version parameter")


def resolve(file: str, schema: dict) -> dict:
    while "$ref" in schema:
        schema = spec(file)["definitions"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def declared_properties(file: str, schema: dict) -> set[str]:
    schema = resolve(file, schema)
    names = set(schema.get("properties", {}))
    for parent in schema.get("allOf", []):
        names |= declared_properties(file, parent)
    return names


@cache
def definitions(file: str) -> dict:
    """The spec's definitions, where a `JObject` (free-form JSON, e.g. policy `settings`) accepts any value:
    git.json declares it a string though the service sends an object, as policy.json declares it."""
    text = json.dumps(spec(file)["definitions"])
    return json.loads(text.replace('"type": "string", "format": "JObject"', '"format": "JObject"'))


def check(file: str, schema: dict, instance) -> None:
    Draft4Validator({**schema, "definitions": definitions(file)}).validate(instance)
    if isinstance(instance, dict) and resolve(file, schema).get("type", "object") == "object":
        undeclared = set(instance) - declared_properties(file, schema)
        assert not undeclared, f"fields not in the spec: {undeclared}"


@pytest.fixture
def names(world) -> dict:
    org = world.organization("contoso")
    project = org.project("Payments")
    project.extras = dict(PROJECT_EXTRAS)
    project.extras["policy/configurations"] = [
        {
            "id": 1,
            "revision": 1,
            "isEnabled": True,
            "isBlocking": True,
            "isDeleted": False,
            "type": {
                "id": "fa4e907d-c16b-4a4c-9dfa-4906e5d171dd",
                "displayName": "Minimum number of reviewers",
            },
            "settings": {
                "minimumApproverCount": 2,
                "scope": [
                    {
                        "repositoryId": project.repositories[0].id,
                        "refName": "refs/heads/main",
                        "matchKind": "Exact",
                    }
                ],
            },
        }
    ]
    return {
        "org": "contoso",
        "project": "Payments",
        "repo": project.repositories[0].id,
        "endpoint": ENDPOINT_ID,
        "identity": org.member(CLIENT_ID).identity_id,
    }


@pytest.mark.parametrize(
    ("host", "template", "version", "file", "path"), OPERATIONS, ids=[f"{op[0]}:{op[1]}" for op in OPERATIONS]
)
def test_response_matches_the_spec(sandbox, names, host, template, version, file, path):
    operation = spec_operation(file, path)
    assert declared_version(file, operation) == version
    auth = {"Authorization": f"Bearer {token(sandbox)}", **SUPPRESS}
    if "{subject}" in template or "{group}" in template:
        me = get(sandbox, "dev", "/contoso/_apis/connectionData", auth).json()["authenticatedUser"]
        names["subject"] = me["subjectDescriptor"]
        memberships = get(
            sandbox,
            "vssps",
            f"/contoso/_apis/graph/Memberships/{names['subject']}",
            auth,
            direction="up",
            **{"api-version": "7.1-preview.1"},
        ).json()
        names["group"] = memberships["value"][0]["containerDescriptor"]
    url_path, _, query = template.format(**names).partition("?")
    params = dict(part.split("=", 1) for part in query.split("&") if part)
    response = get(sandbox, host, url_path, auth, **params, **{"api-version": version})
    assert response.status_code == 200, response.text
    schema = operation["responses"]["200"]["schema"]
    body = response.json()
    if schema.get("type") == "array":
        assert set(body) == {"count", "value"} and body["count"] == len(body["value"])
        assert body["value"], "an empty list proves nothing: give the scenario data"
        for item in body["value"]:
            check(file, schema["items"], item)
    else:
        check(file, schema, body)


def model_keys(model) -> set[str]:
    return {attribute["key"] for attribute in model._attribute_map.values()}


def test_connection_data_matches_the_client_models(sandbox, world):
    body = get(
        sandbox,
        "dev",
        "/contoso/_apis/connectionData",
        {"Authorization": f"Bearer {token(sandbox)}", **SUPPRESS},
    ).json()
    assert set(body) <= model_keys(location_models.ConnectionData)
    assert set(body["authenticatedUser"]) <= model_keys(location_models.Identity)
    assert set(body["locationServiceData"]) <= model_keys(location_models.LocationServiceData)
    for mapping in body["locationServiceData"]["accessMappings"]:
        assert set(mapping) <= model_keys(location_models.AccessMapping)


def test_resource_areas_match_the_client_models(sandbox, world):
    auth = {"Authorization": f"Bearer {token(sandbox)}", **SUPPRESS}
    areas = get(sandbox, "dev", "/contoso/_apis/resourceAreas", auth).json()["value"]
    assert areas and all(set(area) == model_keys(location_models.ResourceAreaInfo) for area in areas)
    anonymous = get(
        sandbox, "dev", "/_apis/resourceAreas/79134c72-4a58-4b42-976c-04e7115f32bf", accountName="contoso"
    )
    assert set(anonymous.json()) == model_keys(location_models.ResourceAreaInfo)
