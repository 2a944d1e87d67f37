"""Posture over GraphQL: evaluate on demand, read per-project and per-repository results, filters, isolation."""

from tests.core.posture.worlds import plant_posture
from tests.support.connect_api import CONNECT, connect, consented

EVALUATE = """mutation($id: ID!) { evaluatePosture(connectionId: $id) { __typename
  ... on PostureQueued { run { id status } message } ... on UserError { code message } } }"""
CHECKS = """query($id: ID!, $filter: PostureFilter, $first: Int, $after: String) {
  postureChecks(connectionId: $id, filter: $filter, first: $first, after: $after) {
    latestRun { status }
    summary { passed failed notEvaluated failedBySeverity { high medium low } }
    projects { name results { control { id severity } status reason resourceType resourceName } }
    repositories { name projectName results { control { id } status } }
    repositoriesPageInfo { hasNextPage endCursor } } }"""


async def connected(alice, sandbox, http, world, app) -> str:
    plant_posture(world)
    connection_id = await consented(alice, sandbox, http)
    assert (await connect(alice, connection_id, CONNECT))["ok"]
    queued = (await alice.graphql(EVALUATE, id=connection_id))["data"]["evaluatePosture"]
    assert queued["__typename"] == "PostureQueued" and queued["run"]["status"] == "QUEUED"
    again = (await alice.graphql(EVALUATE, id=connection_id))["data"]["evaluatePosture"]
    assert again["run"]["id"] == queued["run"]["id"]  # pressing twice evaluates once
    await app.state.jobs.run_until_idle()
    return connection_id


async def test_posture_checks_per_project_and_repository(alice, mallory, sandbox, http, world, app):
    connection_id = await connected(alice, sandbox, http, world, app)
    report = (await alice.graphql(CHECKS, id=connection_id))["data"]["postureChecks"]
    assert report["latestRun"]["status"] == "SUCCEEDED"
    summary = report["summary"]
    assert summary["notEvaluated"] == 4
    projects = {p["name"]: p["results"] for p in report["projects"]}
    assert set(projects) == {"Open Source", "Payments", "Platform"}
    refused = [r for r in projects["Platform"] if r["status"] == "NOT_EVALUATED"]
    assert {(r["control"]["id"], r["resourceName"]) for r in refused} == {
        ("ADO-RES-01", "Platform"),
        ("ADO-RES-06", "Platform"),
        ("ADO-RES-07", "Platform"),
        ("ADO-RES-03", "platform.pfx"),
    }
    assert all("Access Denied" in r["reason"] for r in refused)
    names = [r["name"] for r in report["repositories"]]
    assert names == ["infra", "oss-lib", "payments-api", "payments-web"]
    web = next(r for r in report["repositories"] if r["name"] == "payments-web")
    assert {(r["control"]["id"], r["status"]) for r in web["results"]} == {
        ("ADO-REPO-01", "PASS"),
        ("ADO-REPO-02", "FAIL"),
        ("ADO-REPO-03", "FAIL"),
        ("ADO-REPO-04", "FAIL"),
        ("ADO-REPO-07", "FAIL"),
        ("ADO-REPO-08", "FAIL"),
    }
    # Another account sees nothing of it.
    assert (await mallory.graphql(CHECKS, id=connection_id))["data"]["postureChecks"] is None
    denied = (await mallory.graphql(EVALUATE, id=connection_id))["data"]["evaluatePosture"]
    assert denied == {"__typename": "NotFoundError", "code": "NOT_FOUND", "message": "No such connection."}


async def test_posture_filters_and_paging(alice, sandbox, http, world, app):
    connection_id = await connected(alice, sandbox, http, world, app)
    failing = (
        await alice.graphql(CHECKS, id=connection_id, filter={"statuses": ["FAIL"], "minSeverity": "HIGH"})
    )["data"]["postureChecks"]
    statuses = {r["status"] for p in failing["projects"] for r in p["results"]}
    severities = {r["control"]["severity"] for p in failing["projects"] for r in p["results"]}
    assert statuses == {"FAIL"} and severities == {"HIGH"}
    assert failing["summary"]["passed"] == 0 and failing["summary"]["failedBySeverity"]["medium"] == 0

    first = (await alice.graphql(CHECKS, id=connection_id, first=3))["data"]["postureChecks"]
    assert [r["name"] for r in first["repositories"]] == ["infra", "oss-lib", "payments-api"]
    assert first["repositoriesPageInfo"]["hasNextPage"] is True
    after = first["repositoriesPageInfo"]["endCursor"]
    rest = (await alice.graphql(CHECKS, id=connection_id, first=3, after=after))["data"]["postureChecks"]
    assert [r["name"] for r in rest["repositories"]] == ["payments-web"]
    assert rest["repositoriesPageInfo"]["hasNextPage"] is False

    bad = await alice.graphql(CHECKS, id=connection_id, filter={"controlIds": ["ADO-NOPE-1"]})
    assert bad["errors"][0]["message"] == "unknown control id(s): ADO-NOPE-1"
    catalog = (await alice.graphql("{ postureControls { id severity remediation sources } }"))["data"]
    assert len(catalog["postureControls"]) == 24
    assert all(c["remediation"] and c["sources"] for c in catalog["postureControls"])


async def test_evaluate_requires_a_connected_organization(alice, world):
    started = await alice.graphql(
        """mutation { startAzureConnection(organization: "contoso") {
        ... on StartAzureConnectionSuccess { connection { id } } } }"""
    )
    connection_id = started["data"]["startAzureConnection"]["connection"]["id"]
    result = (await alice.graphql(EVALUATE, id=connection_id))["data"]["evaluatePosture"]
    assert result["__typename"] == "InvalidInputError"
    assert result["message"] == "Connect the organization before evaluating its posture."
