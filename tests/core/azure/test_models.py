"""Azure DevOps answers parsed into typed models at the client boundary.

Each model reads the examples Microsoft publishes with its 7.1 specs (/work/shared/specs/azure-devops/); a
changed shape (a required field missing, a field of another type, a collection renamed) answered by the emulator
over HTTPS reaches the real client and raises one clear, non-retryable error naming the endpoint and the field,
never a value.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.azure.errors import AzureUnexpectedAnswer, UnexpectedResponse
from core.azure.models import (
    CheckConfiguration,
    Commit,
    GitRef,
    GraphDescriptor,
    GraphGroup,
    GraphMembership,
    PermissionEvaluationBatch,
    PermissionValues,
    PolicyConfiguration,
    Project,
    Repository,
    ResourcePipelinePermissions,
    ServiceEndpoint,
    ServicePrincipalEntitlement,
    VariableGroup,
    parse,
    parse_collection,
)
from core.connections.diagnosis import FAIL, PASS, SKIPPED, Findings, diagnose
from core.db.columns import utcnow
from core.discovery.models import AzureProject, AzureRepository
from core.posture.control import Status, all_controls
from core.posture.data import collect_project
from tests.core.posture.worlds import payments_extras
from tests.worlds import CONTOSO_TENANT, Fault

SPECS = Path("/work/shared/specs/azure-devops")
SECRET_VALUE = "Zq8vR2mN4pL7xK1sT9wY3bH6"


def example(relative: str):
    """The 200 body of one of Microsoft's example files (every spec file starts with a BOM)."""
    document = json.loads((SPECS / relative).read_text(encoding="utf-8-sig"))
    return document["responses"]["200"]["body"]


def values(body) -> list:
    return body["value"]


# (model, example file, collection?, what the model read, what Microsoft's JSON holds)
EXAMPLES = [
    (
        Project,
        "core/httpExamples/projects/GET__projects.json",
        True,
        lambda m: (m.id, m.name, m.visibility),
        lambda raw: (raw["id"], raw["name"], "private"),
    ),
    (
        Repository,
        "git/httpExamples/repositories/GET__git_repositories.json",
        True,
        lambda m: (m.id, m.name, m.project.id, m.project.name, m.default_branch),
        lambda raw: (
            raw["id"],
            raw["name"],
            raw["project"]["id"],
            raw["project"]["name"],
            raw.get("defaultBranch"),
        ),
    ),
    (
        Repository,
        "git/httpExamples/repositories/GET__git_repositories__repositoryId_.json",
        False,
        lambda m: (m.id, m.name, m.default_branch, m.project.name),
        lambda raw: (raw["id"], raw["name"], raw.get("defaultBranch"), raw["project"]["name"]),
    ),
    (
        GitRef,
        "git/httpExamples/refs/GET__git_repositories__repositoryId__refs_heads.json",
        True,
        lambda m: (m.name, m.object_id),
        lambda raw: (raw["name"], raw["objectId"]),
    ),
    (
        Commit,
        "git/httpExamples/commits/GET__git_repositories__repositoryId__commits.json",
        True,
        lambda m: m.committer.date,
        lambda raw: raw["committer"]["date"],
    ),
    (
        ServicePrincipalEntitlement,
        "memberEntitlementManagement/httpExamples/ServicePrincipalEntitlements/"
        "GET__memberEntitlementManagement_ServicePrincipalEntitlementById.json",
        False,
        lambda m: (
            m.access_level.account_license_type,
            m.access_level.status,
            [(e.project_ref.name, e.group.group_type) for e in m.project_entitlements],
        ),
        lambda raw: (
            raw["accessLevel"]["accountLicenseType"],
            raw["accessLevel"]["status"],
            [(e["projectRef"]["name"], e["group"]["groupType"]) for e in raw["projectEntitlements"]],
        ),
    ),
    (
        GraphMembership,
        "graph/httpExamples/MembershipsBatch/BatchGetMembershipsUserUp.json",
        True,
        lambda m: m.container_descriptor,
        lambda raw: raw["containerDescriptor"],
    ),
    (
        GraphGroup,
        "graph/httpExamples/Groups/GetAllGroups.json",
        True,
        lambda m: m.principal_name,
        lambda raw: raw["principalName"],
    ),
    (
        GraphDescriptor,
        "graph/httpExamples/Descriptors/GetDescriptorById.json",
        False,
        lambda m: m.value,
        lambda raw: raw["value"],
    ),
    (
        PermissionEvaluationBatch,
        "security/httpExamples/permissionEvaluationBatch/POST__security_permissionevaluationbatch__api-version-3.0-preview.json",
        False,
        lambda m: [(e.token, e.value) for e in m.evaluations],
        lambda raw: [(e["token"], e["value"]) for e in raw["evaluations"]],
    ),
    (
        PolicyConfiguration,
        "policy/httpExamples/configurations/GET__policy_configurations.json",
        True,
        lambda m: (
            m.type.id,
            m.is_enabled,
            m.is_blocking,
            [(s.repository_id, s.ref_name, s.match_kind) for s in m.settings.scope],
        ),
        lambda raw: (
            raw["type"]["id"],
            raw["isEnabled"],
            raw["isBlocking"],
            [
                (s.get("repositoryId"), s.get("refName"), s.get("matchKind") or "exact")
                for s in raw["settings"].get("scope", [])
            ],
        ),
    ),
    (
        ServiceEndpoint,
        "serviceEndpoint/httpExamples/endpoints/GET__ServiceEndpoints.json",
        True,
        lambda m: (m.id, m.name, m.type, m.authorization.parameters.scope),
        lambda raw: (
            raw["id"],
            raw["name"],
            raw["type"],
            ((raw.get("authorization") or {}).get("parameters") or {}).get("scope", ""),
        ),
    ),
    (
        VariableGroup,
        "distributedTask/httpExamples/variablegroups/GET_VariableGroupsByIds.json",
        True,
        lambda m: (m.id, m.name, m.type, {n: (v.value, v.is_secret) for n, v in m.variables.items()}),
        lambda raw: (
            str(raw["id"]),
            raw["name"],
            raw["type"],
            {n: (v.get("value"), bool(v.get("isSecret"))) for n, v in raw["variables"].items()},
        ),
    ),
    (
        ResourcePipelinePermissions,
        "approvalsAndChecks/httpExamples/pipelinePermissions/GET__GetPipelinePermissionsForResource.json",
        False,
        lambda m: m.all_pipelines.authorized,
        lambda raw: bool((raw.get("allPipelines") or {}).get("authorized")),
    ),
    (
        CheckConfiguration,
        "approvalsAndChecks/httpExamples/configurations/GET__CheckConfigurationsOnResource.json",
        True,
        lambda m: (m.type.name, m.is_disabled),
        lambda raw: (raw["type"]["name"], bool(raw.get("isDisabled"))),
    ),
]


@pytest.mark.parametrize(
    ("model", "relative", "collection", "read", "expected"),
    EXAMPLES,
    ids=[f"{case[0].__name__}:{Path(case[1]).stem}" for case in EXAMPLES],
)
def test_models_read_microsofts_examples(model, relative, collection, read, expected):
    body = example(relative)
    if collection:
        parsed = parse_collection(model, body, "GET example")
        assert len(parsed) == len(values(body)) > 0
        assert [read(m) for m in parsed] == [expected(raw) for raw in values(body)]
    else:
        assert read(parse(model, body, "GET example")) == expected(body)


def test_permissions_example_is_one_boolean_per_token():
    body = example(
        "security/httpExamples/permissions/"
        "GET__permissions__securityNamespaceId__8__api-version-2.2_tokens-_token1_,_token2_,_token3__"
        "alwaysAllowAdministrators-False.json"
    )
    assert parse(PermissionValues, body, "GET example").value == [False, False, True]
    with pytest.raises(AzureUnexpectedAnswer) as caught:
        parse(PermissionValues, {"count": 1, "value": ["true"]}, "GET example")
    assert caught.value.field == "value.0"


def test_a_null_field_reads_as_absent_and_unknown_fields_are_ignored():
    repo = parse(
        Repository,
        {"id": "r1", "name": "api", "project": None, "isFork": None, "brandNewField": {"x": 1}},
        "GET example",
    )
    assert (repo.project.name, repo.is_fork, repo.default_branch) == ("", False, None)


# --- a changed shape, answered over HTTPS by the emulator, through the real client ----------------------------


def answers(world, route: str, body, host: str = "dev") -> None:
    world.faults.append(Fault(host=host, route=route, answer=body))


def requests_to(sandbox, path_contains: str) -> int:
    return sum(1 for r in sandbox.context.requests if path_contains in r.path)


async def test_a_missing_required_field_names_the_endpoint_and_the_field(contoso, world, sandbox):
    answers(world, "/_apis/projects$", {"count": 1, "value": [{"id": "p1", "state": "wellFormed"}]})
    with pytest.raises(AzureUnexpectedAnswer) as caught:
        [p async for p in contoso.list_projects()]
    error = caught.value
    assert (error.endpoint, error.field) == ("GET _apis/projects", "value.0.name")
    assert error.message == (
        "Azure DevOps answered GET _apis/projects in a shape the service does not understand "
        "(field 'value.0.name': Field required)."
    )
    assert isinstance(error, UnexpectedResponse) and not error.retryable and error.audience == "operator"
    assert requests_to(sandbox, "/_apis/projects") == 1  # not retried: the same answer would come back


async def test_a_field_of_another_type_is_named(contoso, world):
    repository = {"id": "r1", "name": "api", "size": "very large", "project": {"id": "p1", "name": "P"}}
    answers(world, "/_apis/git/repositories$", {"count": 1, "value": [repository]})
    with pytest.raises(AzureUnexpectedAnswer) as caught:
        await contoso.list_repositories()
    assert caught.value.field == "value.0.size"
    assert "valid integer" in caught.value.message


async def test_a_renamed_collection_is_a_changed_shape(contoso, world):
    answers(world, "/_apis/git/repositories$", {"count": 1, "repositories": [{"id": "r1", "name": "api"}]})
    with pytest.raises(AzureUnexpectedAnswer) as caught:
        await contoso.list_repositories()
    assert (caught.value.endpoint, caught.value.field) == ("GET _apis/git/repositories", "value")


async def test_a_changed_object_answer_on_another_host(contoso, world):
    me = await contoso.connection_data()
    answers(world, "/_apis/serviceprincipalentitlements/", {"accessLevel": "Basic"}, host="vsaex")
    with pytest.raises(AzureUnexpectedAnswer) as caught:
        await contoso.get_service_principal_entitlement(me.user_id)
    assert caught.value.field == "accessLevel"
    assert caught.value.endpoint.startswith("GET _apis/serviceprincipalentitlements/")


async def test_the_error_never_holds_a_value_or_the_token(contoso, world, tokens, caplog):
    # A variable whose value became an object: the error names the variable's field, never what it holds.
    group = {"id": 7, "name": "deploy", "variables": {"dbPassword": {"value": {"text": SECRET_VALUE}}}}
    answers(world, "/_apis/distributedtask/variablegroups$", {"count": 1, "value": [group]})
    with pytest.raises(AzureUnexpectedAnswer) as caught:
        await contoso.list_as(VariableGroup, "Payments/_apis/distributedtask/variablegroups")
    error = caught.value
    assert error.field == "value.0.variables.dbPassword.value"
    bearer = await tokens.get_token(CONTOSO_TENANT)
    shown = " ".join([str(error), repr(error), error.detail, json.dumps(error.to_dict()), caplog.text])
    assert SECRET_VALUE not in shown and bearer not in shown
    alerts = [r for r in caplog.records if r.name == "core.azure.models" and r.levelname == "ERROR"]
    assert [r.getMessage() for r in alerts] == [
        "Azure DevOps answer not understood: GET Payments/_apis/distributedtask/variablegroups field "
        "'value.0.variables.dbPassword.value': Input should be a valid string"
    ]


async def test_a_permission_answer_that_is_not_a_boolean_is_refused(contoso, world):
    answers(world, "/_apis/security/permissionevaluationbatch$", {"evaluations": [{"token": "repoV2/p"}]})
    answered = await contoso.evaluate_permissions("ns", 2, ["repoV2/p"])
    assert answered == {"repoV2/p": False}  # an evaluation without a value grants nothing
    for evaluation, field in (
        ({"value": True}, "evaluations.0.token"),
        ({"token": "repoV2/p", "value": "true"}, "evaluations.0.value"),
    ):
        world.faults.clear()
        answers(world, "/_apis/security/permissionevaluationbatch$", {"evaluations": [evaluation]})
        with pytest.raises(AzureUnexpectedAnswer) as caught:
            await contoso.evaluate_permissions("ns", 2, ["repoV2/p"])
        assert caught.value.field == field


async def test_connect_diagnosis_says_the_answer_was_not_understood(ado, settings, world):
    answers(world, "/_apis/connectionData$", {"authenticatedUser": {"providerDisplayName": "Panoptica"}})
    world.faults[-1].after = 1  # the anonymous tenant probe goes through; the authenticated call is changed
    diagnosis = await diagnose(ado, settings, Findings("contoso", CONTOSO_TENANT))
    checks = {c.code: c for c in diagnosis.checks}
    member = checks["SERVICE_PRINCIPAL_MEMBER"]
    assert checks["APP_TOKEN"].status == PASS
    assert member.status == FAIL and not member.transient
    assert member.message == (
        "Azure DevOps answered GET _apis/connectionData in a shape the service does not understand "
        "(field 'authenticatedUser.id': Field required)."
    )
    assert "operators have been alerted" in member.remediation
    assert checks["CAN_READ_CODE"].status == SKIPPED
    assert not diagnosis.ok


async def test_a_changed_posture_answer_leaves_its_controls_not_evaluated(contoso, world):
    # Branch policies whose `settings.scope` became a text: the policy controls say why they could not judge,
    # every other control still reads its own answers.
    payments = world.organization("contoso").project("Payments")
    payments.extras = payments_extras(*(r.id for r in payments.repositories[:2]))
    bad_policy = {"type": {"id": "fa4e907d-c16b-4a4c-9dfa-4906e5d171dd"}, "settings": {"scope": "main"}}
    answers(world, "/_apis/policy/configurations$", {"count": 1, "value": [bad_policy]})
    project = AzureProject(connection_id="c", ado_id=payments.id, name=payments.name)
    repositories = [
        AzureRepository(
            account_id="a",
            connection_id="c",
            ado_id=r.id,
            organization="contoso",
            project_ado_id=payments.id,
            project_name=payments.name,
            name=r.name,
            default_branch="refs/heads/main",
        )
        for r in payments.repositories[:2]
    ]
    data = await collect_project(contoso, project, repositories, inactive_days=180, now=utcnow())
    assert data.policies.error == (
        "Azure DevOps did not return the project's branch policies (GET "
        f"{payments.id}/_apis/policy/configurations field 'value.0.settings.scope': Input should be a valid "
        "list)."
    )
    by_control: dict[str, set[str]] = {}
    for check in all_controls():
        for result in check.run(data):
            by_control.setdefault(check.id, set()).add(result.status)
    assert by_control["ADO-REPO-01"] == {Status.NOT_EVALUATED}
    assert by_control["ADO-PIPE-01"] == {Status.FAIL}  # the planted enforceJobAuthScope: false, still read
