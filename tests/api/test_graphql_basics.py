from pathlib import Path

import pytest
from sqlalchemy import event

from api.graphql.schema import schema
from core.accounts import service as accounts
from core.db import session_scope
from core.discovery.models import AzureRepository
from tests.api.seed import seed_repositories

REPOS = """
query($first: Int, $after: String, $filter: RepositoryFilter) {
  repositories(first: $first, after: $after, filter: $filter) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node { id name project organization selected excludedReason scanStatus
                          findingCounts { critical high medium low info } } }
  }
}"""


def test_schema_graphql_is_current():
    committed = (Path(__file__).resolve().parents[2] / "schema.graphql").read_text()
    assert committed == schema.as_str() + "\n", "run `make schema` and commit schema.graphql"


@pytest.mark.parametrize("header", [None, "Bearer nope", "Bearer pan_forged", "Basic abc"])
async def test_missing_or_bad_token_is_401(http, header):
    headers = {"Authorization": header} if header else {}
    response = await http.post("/graphql", json={"query": "{ scmProviders { name } }"}, headers=headers)
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_revoked_token_is_401(http, alice, db):
    async with session_scope(db) as session:
        principal = await accounts.authenticate(session, alice.token)
        assert await accounts.revoke_token(session, principal.token_id)
    response = await http.post(
        "/graphql",
        json={"query": "{ scmProviders { name } }"},
        headers={"Authorization": f"Bearer {alice.token}"},
    )
    assert response.status_code == 401


async def test_scm_providers(alice):
    result = await alice.graphql("{ scmProviders { kind name available } }")
    providers = {p["kind"]: p["available"] for p in result["data"]["scmProviders"]}
    assert providers == {"AZURE_DEVOPS": True, "GITHUB": False, "GITLAB": False, "BITBUCKET": False}


async def test_repositories_page_through_everything(alice, db):
    await seed_repositories(db, alice.account_id, count=7)
    seen, after = [], None
    while True:
        result = await alice.graphql(REPOS, first=3, after=after)
        page = result["data"]["repositories"]
        assert page["totalCount"] == 7
        seen += [edge["node"]["name"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == sorted(seen) and len(seen) == 7 and len(set(seen)) == 7


async def test_repository_filters(alice, db):
    await seed_repositories(db, alice.account_id, count=6)
    result = await alice.graphql(REPOS, filter={"search": "REPO-00", "project": "proj-1"})
    names = [e["node"]["name"] for e in result["data"]["repositories"]["edges"]]
    assert names and all(n.startswith("repo-00") for n in names)
    assert {e["node"]["project"] for e in result["data"]["repositories"]["edges"]} == {"proj-1"}
    excluded = await alice.graphql(REPOS, filter={"includeExcluded": False})
    assert all(e["node"]["excludedReason"] is None for e in excluded["data"]["repositories"]["edges"])


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"first": 0}, "first must be between 1 and 100"),
        ({"first": 101}, "first must be between 1 and 100"),
        ({"after": "garbage!"}, "after is not a cursor"),
        ({"filter": {"search": "x" * 201}}, "at most 200"),
    ],
)
async def test_bad_arguments_get_clear_errors(alice, variables, message):
    result = await alice.graphql(REPOS, **variables)
    assert result["data"] is None
    assert message in result["errors"][0]["message"]


async def test_invalid_query_keeps_its_validation_message(alice):
    result = await alice.graphql("{ nope }")
    assert "Cannot query field 'nope'" in result["errors"][0]["message"]


async def test_oversized_query_is_refused(alice):
    fields = " ".join(f"a{i}: scmProviders {{ name }}" for i in range(1500))
    result = await alice.graphql("{ " + fields + " }")
    assert result["data"] is None
    assert "more than 5000 tokens" in result["errors"][0]["message"]


async def test_accounts_see_only_their_own_repositories(alice, mallory, db):
    await seed_repositories(db, alice.account_id, count=3)
    result = await mallory.graphql(REPOS)
    assert result["data"]["repositories"]["totalCount"] == 0
    alice_ids = [e["node"]["id"] for e in (await alice.graphql(REPOS))["data"]["repositories"]["edges"]]
    change = await mallory.graphql(
        "mutation($ids: [ID!]!) { setRepositorySelection(ids: $ids, selected: false) { __typename "
        "... on UserError { code message } } }",
        ids=alice_ids,
    )
    assert change["data"]["setRepositorySelection"]["code"] == "NOT_FOUND"
    still = await alice.graphql(REPOS)
    assert all(e["node"]["selected"] for e in still["data"]["repositories"]["edges"])


async def test_selection_changes_and_is_audited(alice, db):
    await seed_repositories(db, alice.account_id, count=3)
    ids = [e["node"]["id"] for e in (await alice.graphql(REPOS))["data"]["repositories"]["edges"]][:2]
    change = await alice.graphql(
        "mutation($ids: [ID!]!) { setRepositorySelection(ids: $ids, selected: false) { __typename "
        "... on SetRepositorySelectionSuccess { repositories { id selected } } } }",
        ids=ids,
    )
    assert {r["id"]: r["selected"] for r in change["data"]["setRepositorySelection"]["repositories"]} == {
        ids[0]: False,
        ids[1]: False,
    }
    unselected = await alice.graphql(REPOS, filter={"selected": False})
    assert sorted(e["node"]["id"] for e in unselected["data"]["repositories"]["edges"]) == sorted(ids)
    events = await alice.graphql("{ auditEvents { edges { node { actor action } } } }")
    assert events["data"]["auditEvents"]["edges"][0]["node"] == {
        "actor": "alice@acme.test",
        "action": "repositories.deselected",
    }


async def test_sql_statements_per_page_do_not_grow_with_page_size(alice, db, app):
    await seed_repositories(db, alice.account_id, count=60)
    engine = app.state.services.engine
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        await alice.graphql(REPOS, first=5)
        small = len(statements)
        statements.clear()
        await alice.graphql(REPOS, first=50)
        large = len(statements)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)
    assert small == large
    assert large <= 5  # authentication, count, page, finding counts for the whole page (nothing per row)


def test_repository_table_has_the_listing_index():
    indexes = {index.name for index in AzureRepository.__table__.indexes}
    assert "ix_azure_repositories_account_name" in indexes
