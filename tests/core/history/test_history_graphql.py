"""GraphQL shows a history finding's occurrences and whether the secret is only in history."""

import dataclasses

import httpx
import pytest

from api.app import create_app
from core.accounts import service as accounts
from core.db import session_scope
from sandbox import gitrepos
from sandbox.scenario import Commit
from tests.core.history.repository import connect, github_token, payments_api, scan, set_history

QUERY = """{ findings(first: 10) { edges { node { scanner ruleId inHistoryOnly
  occurrences { commit path line authorName inHead reachable } } } } }"""


@pytest.fixture
def services_settings() -> dict:
    return {"posture_enabled": False, "scanners": "secrets", "history_enabled": True}


async def test_graphql_lists_a_history_findings_occurrences(services, world):
    token = github_token()
    repo = payments_api(world)
    set_history(
        repo,
        [
            Commit(files={"ci/deploy.sh": f"export GH_TOKEN={token}\n"}, author="Dana Developer", days_ago=9),
            Commit(files={"ci/deploy.sh": None}, days_ago=8),
        ],
    )
    account_id, row, _ = await connect(services)
    assert (await scan(services, row)).status == "SUCCEEDED"
    async with session_scope(services.sessions) as session:
        issued = await accounts.issue_token(session, account_id, "alice@acme.test")
    app = create_app(services.settings, run_jobs=False)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            response = await client.post(
                "/graphql", json={"query": QUERY}, headers={"Authorization": f"Bearer {issued.token}"}
            )
    body = response.json()
    assert "errors" not in body, body
    [node] = [e["node"] for e in body["data"]["findings"]["edges"]]
    assert (node["scanner"], node["inHistoryOnly"]) == ("history", True)
    assert node["occurrences"] == [
        {
            "commit": gitrepos.build_history(repo).commits[0],
            "path": "ci/deploy.sh",
            "line": 1,
            "authorName": "Dana Developer",
            "inHead": False,
            "reachable": True,
        }
    ]
    assert token not in response.text


async def ask(services, account_id: str, query: str, variables: dict | None = None) -> dict:
    async with session_scope(services.sessions) as session:
        issued = await accounts.issue_token(session, account_id, "alice@acme.test")
    app = create_app(services.settings, run_jobs=False)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            response = await client.post(
                "/graphql",
                json={"query": query, "variables": variables or {}},
                headers={"Authorization": f"Bearer {issued.token}"},
            )
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


FILTERED = """query($only: Boolean) { findings(first: 10, filter: {inHistoryOnly: $only}) {
  totalCount nodes { scanner path inHistoryOnly } } }"""


async def test_the_findings_filter_separates_secrets_only_in_history_from_those_in_the_head(services, world):
    repo = payments_api(world)
    repo.files = {"README.md": "# api\n", "ci/deploy.sh": f"export GH_TOKEN={github_token()}\n"}  # the head
    set_history(
        repo,
        [
            Commit(files={"old.env": f"GITHUB_TOKEN={github_token()}\n"}, days_ago=9),
            Commit(files={"old.env": None}, days_ago=8),
        ],
    )
    account_id, row, _ = await connect(services)
    assert (await scan(services, row)).status == "SUCCEEDED"

    only = (await ask(services, account_id, FILTERED, {"only": True}))["findings"]
    assert (only["totalCount"], only["nodes"]) == (
        1,
        [{"scanner": "history", "path": "old.env", "inHistoryOnly": True}],
    )
    # Still in the head: the history finding only (the head scan's own finding of it is not a history finding).
    head = (await ask(services, account_id, FILTERED, {"only": False}))["findings"]
    assert head["nodes"] == [{"scanner": "history", "path": "ci/deploy.sh", "inHistoryOnly": False}]
    every = (await ask(services, account_id, FILTERED, {"only": None}))["findings"]
    assert sorted((n["scanner"], n["path"]) for n in every["nodes"]) == [
        ("history", "ci/deploy.sh"),
        ("history", "old.env"),
        ("secrets", "ci/deploy.sh"),
    ]


HISTORY_SCAN = """query($id: ID!) { repository(id: $id) { historyScan {
  commitsScanned lastRunCommits stoppedAtBound reason lastCommit lastCommitAt unreachableCommits note } } }"""


async def test_the_repository_says_where_its_history_scan_stopped_at_the_bound(services, world):
    # The same services with a bound of five commits (scan_history reads it from services.settings).
    bounded = dataclasses.replace(
        services, settings=services.settings.model_copy(update={"history_max_commits": 5})
    )
    repo = payments_api(world)
    set_history(repo, [], generated=12)
    account_id, row, _ = await connect(bounded)
    before = await ask(bounded, account_id, HISTORY_SCAN, {"id": row.id})
    assert before["repository"]["historyScan"] is None
    assert (await scan(bounded, row)).status == "SUCCEEDED"
    answer = (await ask(bounded, account_id, HISTORY_SCAN, {"id": row.id}))["repository"]["historyScan"]
    commits = gitrepos.build_history(repo).commits  # oldest first; the scan reads newest first
    assert answer["lastCommit"] == commits[-5]
    assert answer["lastCommitAt"]
    assert {k: v for k, v in answer.items() if k not in ("lastCommit", "lastCommitAt")} == {
        "commitsScanned": 5,
        "lastRunCommits": 5,
        "stoppedAtBound": True,
        "reason": "The first history scan stopped at the bound (730 days or 5 commits, whichever came first: "
        "PANOPTICA_HISTORY_MAX_DAYS, PANOPTICA_HISTORY_MAX_COMMITS); older commits were not scanned.",
        "unreachableCommits": 0,
        "note": "5 new commit(s) scanned, 0 secret occurrence(s) found; stopped at the history bound (older "
        "commits not scanned).",
    }


async def test_the_repository_says_which_limit_stopped_its_last_history_scan(services, world):
    from core.db.columns import utcnow
    from core.scans.models import ScanRun

    set_history(payments_api(world), [Commit(files={"a.txt": "hello\n"}, days_ago=3)])
    account_id, row, _ = await connect(services)
    assert (await scan(services, row)).status == "SUCCEEDED"
    complete = (await ask(services, account_id, HISTORY_SCAN, {"id": row.id}))["repository"]["historyScan"]
    # Two commits: the scenario's one, then the head's files (sandbox/gitrepos.py).
    assert (complete["stoppedAtBound"], complete["reason"], complete["commitsScanned"]) == (False, None, 2)

    # A later run whose history step was refused at a limit (as core/scans/service.py records it): its reason.
    reason = "The repository's history is larger than 1048576 bytes: the fetch was stopped at the limit."
    async with session_scope(services.sessions) as session:
        session.add(
            ScanRun(
                account_id=account_id,
                repository_id=row.id,
                status="PARTIAL",
                scanner_errors={"history": reason},
                finished_at=utcnow(),
            )
        )
    stopped = (await ask(services, account_id, HISTORY_SCAN, {"id": row.id}))["repository"]["historyScan"]
    assert (stopped["reason"], stopped["commitsScanned"]) == (reason, 2)

    # Another account never sees it.
    async with session_scope(services.sessions) as session:
        other = await accounts.create_account(session, "Other")
    assert (await ask(services, other.id, HISTORY_SCAN, {"id": row.id}))["repository"] is None
