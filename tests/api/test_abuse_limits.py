"""Abuse limits over HTTP: on-demand work is idempotent and budgeted per account; GraphQL requests are
measured (cost, root mutations, depth) and refused before anything runs."""

import asyncio
import contextlib
from collections import Counter
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import delete, func, update
from sqlmodel import select

from api.app import create_app
from core.audit.models import AuditEvent
from core.connections.models import AzureConnection
from core.db import session_scope
from core.discovery.models import AzureRepository
from core.history.models import HistoryCommit, HistoryOccurrence, HistoryState
from core.jobs.models import Job
from core.ondemand.models import OndemandBudget
from core.posture.models import PostureRun
from core.scans.models import ScanRun
from tests.api.conftest import new_caller
from tests.api.seed import seed_repositories
from tests.support.connect_api import REFRESH, connect, consented

AZURE_DEVOPS_HOSTS = ("dev", "vssps", "vsaex")
SCAN_REPOSITORY = """mutation($id: ID!) { scanRepository(id: $id) { __typename
  ... on ScanQueued { alreadyQueued run { id status } } ... on UserError { code message }
  ... on RateLimitedError { retryAfterSeconds retryAt } } }"""
SCAN_CONNECTION = """mutation($id: ID!) { scanConnection(id: $id) { __typename
  ... on ScanQueued { jobId alreadyQueued } ... on UserError { code message }
  ... on RateLimitedError { retryAfterSeconds retryAt } } }"""
EVALUATE = """mutation($id: ID!) { evaluatePosture(connectionId: $id) { __typename
  ... on PostureQueued { alreadyQueued run { id } } ... on UserError { code message }
  ... on RateLimitedError { retryAfterSeconds retryAt } } }"""

REFRESH_RATE = """mutation($id: ID!) { refreshAzureConnection(connectionId: $id) { __typename
  ... on UserError { code message } ... on RateLimitedError { retryAfterSeconds retryAt } } }"""


@pytest.fixture
def limited(settings, db):
    """An app with its own limits: `async with limited(ondemand_burst=2) as (app, alice): ...`."""

    @contextlib.asynccontextmanager
    async def make(**limits):
        app = create_app(settings.model_copy(update=limits), run_jobs=False)
        transport = httpx.ASGITransport(app=app)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://testserver") as http,
        ):
            yield app, await new_caller(db, http, "Acme", "alice@acme.test")

    return make


def aliased(mutation: str, count: int) -> str:
    """`count` aliases of the mutation's one root field, sharing its variables."""
    head, body = mutation.split("{", 1)
    return head + "{" + " ".join(f"a{i}: {body.strip()[:-1]}" for i in range(count)) + "}"


async def repository_ids(db, account_id: str) -> dict[str, str]:
    async with db() as session:
        rows = (
            await session.exec(select(AzureRepository).where(AzureRepository.account_id == account_id))
        ).all()
    return {r.name: r.id for r in rows}


async def count_rows(db, model, *where) -> int:
    async with db() as session:
        return (await session.exec(select(func.count()).select_from(model).where(*where))).one()


# --- idempotent on-demand work -----------------------------------------------------------------------


async def scan_connection_round(app, alice, sandbox, db, connection_id: str, aliases: int) -> dict:
    """One request of `aliases` scanConnection mutations, then every job it caused; what Azure DevOps saw."""
    sandbox.context.requests.clear()
    runs_before = await count_rows(db, ScanRun)
    answers = list(
        (await alice.graphql(aliased(SCAN_CONNECTION, aliases), id=connection_id))["data"].values()
    )
    assert {a["__typename"] for a in answers} == {"ScanQueued"}
    assert len({a["jobId"] for a in answers}) == 1  # every alias answers the one connection scan
    assert [a["alreadyQueued"] for a in answers] == [False] + [True] * (aliases - 1)
    await app.state.jobs.run_until_idle()
    requests = Counter(r.host for r in sandbox.context.requests if r.host in AZURE_DEVOPS_HOSTS)
    return {"azure_devops": requests, "scan_runs": await count_rows(db, ScanRun) - runs_before}


async def test_100_aliased_scan_connection_mutations_cost_azure_devops_what_one_does(
    limited, sandbox, world, db
):
    # The root-mutation and cost limits lifted, so that idempotency alone is what is measured; a burst of 2
    # shows that the 99 repeats spend nothing.
    async with limited(graphql_max_root_mutations=100, graphql_max_cost=100_000, ondemand_burst=2) as (
        app,
        alice,
    ):
        connection_id = await consented(alice, sandbox, alice.client)
        assert (await connect(alice, connection_id))["ok"]
        one = await scan_connection_round(app, alice, sandbox, db, connection_id, aliases=1)
        async with session_scope(db) as session:  # scan everything again, not "unchanged commit"
            # (and posture reads each head's date again: it keeps them while the heads do not move)
            await session.exec(
                update(AzureRepository).values(scanned_commit="", scanned_versions={}, head_committed_at=None)
            )
            # And the git history from the start (on by default): both rounds then ask Azure DevOps the same.
            for table in (HistoryOccurrence, HistoryCommit, HistoryState):
                await session.exec(delete(table))
        hundred = await scan_connection_round(app, alice, sandbox, db, connection_id, aliases=100)
    assert one["scan_runs"] == hundred["scan_runs"] == 4  # the selected, scannable repositories
    assert sum(one["azure_devops"].values()) > 10
    assert hundred["azure_devops"] == one["azure_devops"]
    async with db() as session:
        connection_scans = (await session.exec(select(Job).where(Job.kind == "scans.connection"))).all()
    assert len(connection_scans) == 2 and {j.status for j in connection_scans} == {"done"}


async def test_repeats_answer_the_queued_work_and_a_new_request_after_it_finished_queues_again(
    app, alice, sandbox, world, db
):
    connection_id = await consented(alice, sandbox, alice.client)
    assert (await connect(alice, connection_id))["ok"]
    repo_id = (await repository_ids(db, alice.account_id))["payments-api"]

    first = (await alice.graphql(SCAN_REPOSITORY, id=repo_id))["data"]["scanRepository"]
    again = (await alice.graphql(SCAN_REPOSITORY, id=repo_id))["data"]["scanRepository"]
    assert (first["alreadyQueued"], again["alreadyQueued"]) == (False, True)
    assert first["run"]["id"] == again["run"]["id"] and again["run"]["status"] == "QUEUED"

    scan = (await alice.graphql(SCAN_CONNECTION, id=connection_id))["data"]["scanConnection"]
    scan_again = (await alice.graphql(SCAN_CONNECTION, id=connection_id))["data"]["scanConnection"]
    assert scan_again == {**scan, "alreadyQueued": True}

    posture = (await alice.graphql(EVALUATE, id=connection_id))["data"]["evaluatePosture"]
    posture_again = (await alice.graphql(EVALUATE, id=connection_id))["data"]["evaluatePosture"]
    assert posture_again == {**posture, "alreadyQueued": True}

    await app.state.jobs.run_until_idle()
    # The connection scan's fan-out skipped payments-api, whose manual scan was queued: one run, not two.
    async with db() as session:
        runs = (await session.exec(select(ScanRun).where(ScanRun.repository_id == repo_id))).all()
    assert [(r.id, r.trigger, r.status) for r in runs] == [(first["run"]["id"], "MANUAL", "SUCCEEDED")]
    assert await count_rows(db, ScanRun) == 4

    after = (await alice.graphql(SCAN_REPOSITORY, id=repo_id))["data"]["scanRepository"]
    assert after["alreadyQueued"] is False and after["run"]["id"] != first["run"]["id"]
    rescan = (await alice.graphql(SCAN_CONNECTION, id=connection_id))["data"]["scanConnection"]
    assert rescan["alreadyQueued"] is False and rescan["jobId"] != scan["jobId"]
    reevaluate = (await alice.graphql(EVALUATE, id=connection_id))["data"]["evaluatePosture"]
    assert reevaluate["alreadyQueued"] is False and reevaluate["run"]["id"] != posture["run"]["id"]


async def test_concurrent_refreshes_of_one_connection_run_one_diagnosis(app, alice, sandbox, world, db):
    connection_id = await consented(alice, sandbox, alice.client)
    assert (await connect(alice, connection_id))["ok"]
    sandbox.context.requests.clear()
    answers = await asyncio.gather(*(connect(alice, connection_id, REFRESH) for _ in range(10)))
    assert all(a["ok"] for a in answers) and len({str(a) for a in answers}) == 1
    concurrent = Counter(r.host for r in sandbox.context.requests if r.host in AZURE_DEVOPS_HOSTS)
    sandbox.context.requests.clear()
    assert (await connect(alice, connection_id, REFRESH))["ok"]  # after it finished: runs again
    alone = Counter(r.host for r in sandbox.context.requests if r.host in AZURE_DEVOPS_HOSTS)
    assert concurrent == alone and sum(alone.values()) > 3
    refreshed = await count_rows(db, AuditEvent, AuditEvent.action == "connection.refresh.succeeded")
    assert refreshed == 2


# --- the per-account budget --------------------------------------------------------------------------


async def test_a_spent_budget_answers_rate_limited_with_a_retry_time_and_changes_nothing(
    limited, sandbox, world, db
):
    async with limited(ondemand_burst=2, ondemand_per_hour=60) as (_, alice):
        connection_id = await seed_repositories(db, alice.account_id, count=4)
        ids = await repository_ids(db, alice.account_id)
        for name in ("repo-001", "repo-002"):
            queued = (await alice.graphql(SCAN_REPOSITORY, id=ids[name]))["data"]["scanRepository"]
            assert queued["__typename"] == "ScanQueued"

        async with db() as session:
            jobs_before = (await session.exec(select(func.count()).select_from(Job))).one()
            audit_before = (await session.exec(select(func.count()).select_from(AuditEvent))).one()
            budget_before = (await session.get(OndemandBudget, alice.account_id)).full_at
        sandbox.context.requests.clear()
        asked_at = datetime.now(UTC)
        refused = {
            "scanRepository": (SCAN_REPOSITORY, ids["repo-003"]),
            "scanConnection": (SCAN_CONNECTION, connection_id),
            "evaluatePosture": (EVALUATE, connection_id),
            "refreshAzureConnection": (REFRESH_RATE, connection_id),
        }
        for field, (mutation, target) in refused.items():
            answer = (await alice.graphql(mutation, id=target))["data"][field]
            assert answer["__typename"] == "RateLimitedError", (field, answer)
            assert answer["code"] == "RATE_LIMITED"
            assert 1 <= answer["retryAfterSeconds"] <= 60  # one request per minute comes back
            retry_at = datetime.fromisoformat(answer["retryAt"])
            assert 0 < (retry_at - asked_at).total_seconds() <= 61
            assert "try again in" in answer["message"]

        # A repeat of queued work is still answered: it spends nothing, so the spent budget does not matter.
        repeat = (await alice.graphql(SCAN_REPOSITORY, id=ids["repo-001"]))["data"]["scanRepository"]
        assert repeat["__typename"] == "ScanQueued" and repeat["alreadyQueued"] is True

        async with db() as session:
            assert (await session.exec(select(func.count()).select_from(Job))).one() == jobs_before
            assert (await session.exec(select(func.count()).select_from(AuditEvent))).one() == audit_before
            assert (await session.get(OndemandBudget, alice.account_id)).full_at == budget_before
            assert (await session.exec(select(PostureRun))).all() == []
            assert (await session.get(AzureConnection, connection_id)).last_verified_at is None
        assert await count_rows(db, ScanRun, ScanRun.repository_id == ids["repo-003"]) == 0
        assert sandbox.context.requests == []  # the refused refresh called nothing


async def test_the_budget_is_per_account_and_bad_input_spends_nothing(limited, db):
    async with limited(ondemand_burst=1) as (_, alice):
        mallory = await new_caller(db, alice.client, "Other Corp", "mallory@other.test")
        await seed_repositories(db, alice.account_id, count=3)
        ids = await repository_ids(db, alice.account_id)
        for _ in range(3):  # unknown and unscannable repositories: refused for what they are, free
            unknown = (await alice.graphql(SCAN_REPOSITORY, id="no-such-id"))["data"]["scanRepository"]
            assert unknown["code"] == "NOT_FOUND"
            empty = (await alice.graphql(SCAN_REPOSITORY, id=ids["repo-000"]))["data"]["scanRepository"]
            assert empty["code"] == "INVALID_INPUT"
            theirs = (await mallory.graphql(SCAN_REPOSITORY, id=ids["repo-001"]))["data"]["scanRepository"]
            assert theirs["code"] == "NOT_FOUND"  # another account's repository: also spends nothing
        first = (await alice.graphql(SCAN_REPOSITORY, id=ids["repo-001"]))["data"]["scanRepository"]
        second = (await alice.graphql(SCAN_REPOSITORY, id=ids["repo-002"]))["data"]["scanRepository"]
        assert (first["__typename"], second["__typename"]) == ("ScanQueued", "RateLimitedError")
        async with db() as session:
            assert await session.get(OndemandBudget, mallory.account_id) is None  # mallory spent nothing


# --- GraphQL limits before execution ------------------------------------------------------------------


async def post(caller, query: str, **variables) -> httpx.Response:
    return await caller.client.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {caller.token}"},
    )


async def test_a_costly_request_is_refused_with_its_computed_cost(alice, db):
    await seed_repositories(db, alice.account_id, count=3)
    # 230 aliases of a 100-repository page: 230 * (1 + 100 * (edge + node)) = 46,230 points.
    query = (
        "{"
        + " ".join(f"r{i}: repositories(first: 100) {{ edges {{ node {{ id }} }} }}" for i in range(230))
        + "}"
    )
    response = await post(alice, query)
    assert response.status_code in (200, 400)
    body = response.json()
    assert body.get("data") is None
    (error,) = body["errors"]
    assert error["extensions"] == {"code": "QUERY_TOO_COSTLY", "cost": 46_230, "limit": 1000}
    assert "46230 points" in error["message"]


async def test_page_sizes_multiply_and_variables_fragments_and_defaults_count(alice, db):
    await seed_repositories(db, alice.account_id, count=3)
    fragment = (
        "fragment Page on RepositoryConnection { totalCount edges { node { id findingCounts { high } } } }"
    )

    def pages(count: int) -> str:
        fields = " ".join(f"p{i}: repositories(first: $n) {{ ...Page }}" for i in range(count))
        return f"query($n: Int) {{ {fields} }} {fragment}"

    # Each page: the connection, then per repository its edge, node and findingCounts.
    small = (await post(alice, pages(2), n=10)).json()
    assert small["data"]["p0"]["totalCount"] == 3
    assert small["extensions"]["cost"] == {"requested": 2 * (1 + 10 * 3), "limit": 1000}
    assert (await post(alice, pages(3), n=100)).json()["extensions"]["cost"]["requested"] == 3 * 301
    refused = (await post(alice, pages(4), n=100)).json()
    assert refused["errors"][0]["extensions"] == {"code": "QUERY_TOO_COSTLY", "cost": 4 * 301, "limit": 1000}
    default = (await post(alice, "{ repositories { edges { node { id } } } }")).json()
    assert default["extensions"]["cost"]["requested"] == 1 + 50 * 2  # no first: the default page size
    declared = "query($n: Int = 7) { repositories(first: $n) { edges { node { id } } } }"
    assert (await post(alice, declared)).json()["extensions"]["cost"]["requested"] == 1 + 7 * 2
    too_big = "{ repositories(first: 5000) { edges { node { id } } } }"  # counted as the most a page holds
    assert (await post(alice, too_big)).json()["extensions"]["cost"]["requested"] == 1 + 100 * 2


async def test_too_many_root_mutations_are_refused_and_nothing_runs(alice, db):
    await seed_repositories(db, alice.account_id, count=3)
    repo_id = (await repository_ids(db, alice.account_id))["repo-001"]
    six = aliased(SCAN_REPOSITORY, 6)
    body = (await post(alice, six, id=repo_id)).json()
    assert body.get("data") is None
    assert [e["extensions"] for e in body["errors"]] == [
        {"code": "TOO_MANY_MUTATIONS", "count": 6, "limit": 5}
    ]
    # Fragments are expanded: three fields spread twice over are six root fields too.
    spread = """mutation($id: ID!) { ...Three ...More }
      fragment Three on Mutation { a: scanRepository(id: $id) { __typename } b: scanRepository(id: $id) { __typename }
        c: scanRepository(id: $id) { __typename } }
      fragment More on Mutation { d: scanRepository(id: $id) { __typename } e: scanRepository(id: $id) { __typename }
        f: scanRepository(id: $id) { __typename } }"""
    assert (await post(alice, spread, id=repo_id)).json()["errors"][0]["extensions"]["count"] == 6
    assert await count_rows(db, ScanRun) == 0
    five = (await post(alice, aliased(SCAN_REPOSITORY, 5), id=repo_id)).json()
    assert [a["__typename"] for a in five["data"].values()] == ["ScanQueued"] * 5
    assert five["extensions"]["cost"]["requested"] == 5 * (10 + 1 + 1)  # mutation + payload + run
    assert await count_rows(db, ScanRun) == 1


async def test_fragments_spreading_each_other_are_measured_at_once_and_refused(alice):
    fragments = ["fragment F0 on Query { repositories { totalCount } }"] + [
        f"fragment F{i} on Query {{ ...F{i - 1} ...F{i - 1} }}" for i in range(1, 200)
    ]
    query = "query { ...F199 } " + " ".join(fragments)
    response = await asyncio.wait_for(post(alice, query), timeout=10)
    codes = {e.get("extensions", {}).get("code"): e for e in response.json()["errors"]}
    # Saturated: 2^199 repositories fields are described (graphql-core's own overlap check gives up too).
    assert codes["QUERY_TOO_COSTLY"]["extensions"]["cost"] == 2**53 - 1


async def test_deep_requests_are_refused(alice):
    deep = "{ " + "a { " * 12 + "id" + " }" * 13
    errors = (await post(alice, deep)).json()["errors"]
    assert {"code": "QUERY_TOO_DEEP", "depth": 12, "limit": 10} in [e.get("extensions") for e in errors]
