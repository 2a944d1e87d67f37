"""Findings, suppression, on-demand scans and SARIF over HTTP, each account seeing only its own."""

from sqlmodel import select

from core.db import session_scope
from core.discovery.models import AzureRepository
from core.findings.models import Finding
from tests.api.seed import seed_repositories

FINDINGS = """query($filter: FindingFilter) { findings(first: 50, filter: $filter) { totalCount
  edges { node { id ruleId severity status path line preview suppressedReason } } } }"""
SUPPRESS = """mutation($id: ID!, $reason: String!, $until: DateTime) {
  suppressFinding(id: $id, reason: $reason, until: $until) { __typename
    ... on FindingSuccess { finding { status suppressedReason } } ... on UserError { code message } } }"""
UNSUPPRESS = """mutation($id: ID!) { unsuppressFinding(id: $id) { __typename
  ... on FindingSuccess { finding { status } } ... on UserError { code message } } }"""


async def seed_findings(db, account_id: str) -> str:
    await seed_repositories(db, account_id, count=2)
    async with session_scope(db) as session:
        repo = (await session.exec(select(AzureRepository).where(AzureRepository.name == "repo-001"))).one()
        for rule, severity, line in (("ADO-PIPE-10", "HIGH", 5), ("SECRET-AZURE-DEVOPS-PAT", "CRITICAL", 1)):
            session.add(
                Finding(
                    account_id=account_id,
                    repository_id=repo.id,
                    scanner="pipelines",
                    rule_id=rule,
                    title=rule,
                    severity=severity,
                    category="PIPELINE",
                    path="azure-pipelines.yml",
                    line=line,
                    fingerprint=rule,
                    preview="abcd… (52 chars)" if "SECRET" in rule else None,
                )
            )
    return repo.id


async def test_findings_filters_and_counts(alice, db):
    repo_id = await seed_findings(db, alice.account_id)
    everything = (await alice.graphql(FINDINGS))["data"]["findings"]
    assert everything["totalCount"] == 2
    critical = (await alice.graphql(FINDINGS, filter={"minSeverity": "CRITICAL"}))["data"]["findings"]
    assert [e["node"]["ruleId"] for e in critical["edges"]] == ["SECRET-AZURE-DEVOPS-PAT"]
    assert critical["edges"][0]["node"]["preview"] == "abcd… (52 chars)"
    counts = await alice.graphql(
        "query($f: RepositoryFilter) { repositories(filter: $f) { edges { node { id findingCounts { critical high } } } } }",
        f={"minSeverity": "HIGH"},
    )
    nodes = [e["node"] for e in counts["data"]["repositories"]["edges"]]
    assert nodes == [{"id": repo_id, "findingCounts": {"critical": 1, "high": 1}}]


async def test_suppress_and_unsuppress_are_audited_and_validated(alice, db):
    await seed_findings(db, alice.account_id)
    finding_id = (await alice.graphql(FINDINGS, filter={"minSeverity": "CRITICAL"}))["data"]["findings"][
        "edges"
    ][0]["node"]["id"]
    bad = await alice.graphql(SUPPRESS, id=finding_id, reason="  ")
    assert bad["data"]["suppressFinding"]["code"] == "INVALID_INPUT"
    past = await alice.graphql(SUPPRESS, id=finding_id, reason="test data", until="2020-01-01T00:00:00+00:00")
    assert "future" in past["data"]["suppressFinding"]["message"]
    done = await alice.graphql(SUPPRESS, id=finding_id, reason="test fixture, not a real token")
    assert done["data"]["suppressFinding"]["finding"] == {
        "status": "SUPPRESSED",
        "suppressedReason": "test fixture, not a real token",
    }
    assert (await alice.graphql(FINDINGS))["data"]["findings"]["totalCount"] == 1  # default: open ones
    assert (await alice.graphql(UNSUPPRESS, id=finding_id))["data"]["unsuppressFinding"]["finding"][
        "status"
    ] == "OPEN"
    actions = [
        e["node"]["action"]
        for e in (await alice.graphql("{ auditEvents { edges { node { action } } } }"))["data"][
            "auditEvents"
        ]["edges"]
    ]
    assert actions[:2] == ["finding.unsuppressed", "finding.suppressed"]


async def test_another_account_sees_and_changes_nothing(alice, mallory, db, http):
    repo_id = await seed_findings(db, alice.account_id)
    finding_id = (await alice.graphql(FINDINGS))["data"]["findings"]["edges"][0]["node"]["id"]
    assert (await mallory.graphql(FINDINGS))["data"]["findings"]["totalCount"] == 0
    assert (await mallory.graphql(SUPPRESS, id=finding_id, reason="mine"))["data"]["suppressFinding"][
        "code"
    ] == ("NOT_FOUND")
    scan = await mallory.graphql("mutation($id: ID!) { scanRepository(id: $id) { __typename } }", id=repo_id)
    assert scan["data"]["scanRepository"]["__typename"] == "NotFoundError"
    sarif = await http.get(
        f"/api/repositories/{repo_id}/sarif", headers={"Authorization": f"Bearer {mallory.token}"}
    )
    assert sarif.status_code == 404
    assert (await http.get(f"/api/repositories/{repo_id}/sarif")).status_code == 401


async def test_scan_repository_queues_once(alice, db):
    repo_id = await seed_findings(db, alice.account_id)
    mutation = "mutation($id: ID!) { scanRepository(id: $id) { __typename ... on ScanQueued { run { id status } } } }"
    first = (await alice.graphql(mutation, id=repo_id))["data"]["scanRepository"]["run"]
    second = (await alice.graphql(mutation, id=repo_id))["data"]["scanRepository"]["run"]
    assert first["status"] == "QUEUED" and first["id"] == second["id"]  # pressing twice scans once
    runs = await alice.graphql(
        "query($r: ID) { scanRuns(repositoryId: $r) { totalCount edges { node { trigger } } } }", r=repo_id
    )
    assert runs["data"]["scanRuns"]["totalCount"] == 1
    assert runs["data"]["scanRuns"]["edges"][0]["node"]["trigger"] == "MANUAL"
    empty = (
        await alice.graphql(
            mutation,
            id=(
                await alice.graphql(
                    '{ repositories(filter: {search: "repo-000"}) { edges { node { id } } } }'
                )
            )["data"]["repositories"]["edges"][0]["node"]["id"],
        )
    )["data"]["scanRepository"]
    assert empty["__typename"] == "InvalidInputError"  # the empty repository cannot be scanned


async def test_sarif_over_http(alice, db, http):
    repo_id = await seed_findings(db, alice.account_id)
    response = await http.get(
        f"/api/repositories/{repo_id}/sarif", headers={"Authorization": f"Bearer {alice.token}"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/sarif+json")
    sarif = response.json()
    assert sarif["version"] == "2.1.0"
    rules = {r["ruleId"]: r for run in sarif["runs"] for r in run["results"]}
    assert set(rules) == {"ADO-PIPE-10", "SECRET-AZURE-DEVOPS-PAT"}
    assert rules["SECRET-AZURE-DEVOPS-PAT"]["level"] == "error"
