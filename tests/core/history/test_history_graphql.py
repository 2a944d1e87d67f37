"""GraphQL shows a history finding's occurrences and whether the secret is only in history."""

import httpx
import pytest

from api.app import create_app
from core.accounts import service as accounts
from core.db import session_scope
from sandbox import gitrepos
from sandbox.scenario import Commit
from tests.core.history.test_history_scan import connect, github_token, payments_api, scan, set_history

QUERY = """{ findings(first: 10) { edges { node { scanner ruleId inHistoryOnly
  occurrences { commit path line authorName inHead reachable } } } } }"""


@pytest.fixture
async def services(settings, db, tmp_path):
    from core.services import open_services

    settings = settings.model_copy(
        update={
            "key_directory": str(tmp_path),
            "posture_enabled": False,
            "scanners": "secrets",
            "history_enabled": True,
        }
    )
    async with open_services(settings) as opened:
        yield opened


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
