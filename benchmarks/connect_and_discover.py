"""Connect plus discovery of a large organization, end to end through `connectAzureOrganization`.

    .venv/bin/python benchmarks/connect_and_discover.py [--projects 500] [--repos-per-project 20]
        [--latency-ms 20] [--database-url postgresql://postgres@127.0.0.1:5432/test] [--emulator process]

The emulator runs in its own process (benchmarks/harness.py) and adds the latency to every Azure DevOps
request. Prints the wall time of the mutation, the requests it made, the SQL statements it ran, and the same
for a second run (refresh) where nothing changed. Then the diagnosis alone (network only, token acquired
beforehand) beside its floor (3 round trips: identity and projects, then entitlement, repositories and the
permission evaluation; a round trip is the median of small requests, latency included) and beside its peer:
the same diagnosis of a twin organization whose Security API refuses us, so every project is judged by a
refs probe (what Connect did before). The database is a temporary SQLite file unless --database-url names
another (it is emptied).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
from sqlalchemy import event

from api.app import create_app
from benchmarks.harness import add_arguments, emulator, round_trip_seconds
from benchmarks.list_repositories import (
    ADMIN,
    CLIENT_ID,
    CLIENT_SECRET,
    ORGANIZATION,
    TENANT_ID,
    build_world,
)
from core.accounts import service as accounts
from core.azure.client import AzureDevOps
from core.azure.tokens import TokenProvider
from core.connections.diagnosis import Findings, diagnose
from core.db import create_engine, session_factory, session_scope
from core.db.migrate import upgrade_engine
from core.settings import Settings
from sandbox.scenario import World
from tests.conftest import reset_database
from tests.signin import connect_in_browser

PEER_ORGANIZATION = ORGANIZATION + "-probed"  # the same projects; its Security API refuses us
FLOOR_ROUND_TRIPS = 3
CONNECT = """mutation($id: ID!) { connectAzureOrganization(connectionId: $id) { __typename
  ... on ConnectAzureOrganizationSuccess { ok connection { status projectCount repositoryCount }
        checks { code status message } } } }"""
REFRESH = CONNECT.replace("connectAzureOrganization", "refreshAzureConnection")
START = """mutation($org: String!) { startAzureConnection(organization: $org) { __typename
  ... on StartAzureConnectionSuccess { signInUrl connection { id } } ... on UserError { code message } } }"""


async def prepare_database(url: str) -> str:
    engine = create_engine(url)
    await reset_database(engine)
    await upgrade_engine(engine)
    async with session_scope(session_factory(engine)) as session:
        account = await accounts.create_account(session, "Bench")
        issued = await accounts.issue_token(session, account.id, "bench@example.test")
    await engine.dispose()
    return issued.token


def with_probed_twin(world: World) -> World:
    twin = world.organizations[0].model_copy(deep=True)
    twin.name, twin.id, twin.refused_apis = PEER_ORGANIZATION, "", ["security"]
    return World.model_validate({**world.model_dump(), "organizations": [world.organizations[0], twin]})


async def run(args) -> None:
    url = args.database_url or f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/bench.db"
    token = await prepare_database(url)
    world = with_probed_twin(build_world(args.projects, args.repos_per_project, args.latency_ms))
    with emulator(world, args.emulator) as azure:
        settings = Settings(
            database_url=url,
            entra_client_id=CLIENT_ID,
            entra_client_secret=CLIENT_SECRET,
            entra_authority_host=azure.authority_host,
            azure_devops_url=azure.devops_url,
            ca_bundle=azure.ca_path,
        )
        rows = await connect_rows(settings, azure, token)
        network = [await diagnosis_alone(settings, azure, org) for org in (ORGANIZATION, PEER_ORGANIZATION)]
        round_trip = round_trip_seconds(azure, ORGANIZATION)
        listing = await repository_list_alone(settings)
    report(args, rows, network, round_trip, listing)


async def connect_rows(settings: Settings, azure, token: str) -> list:
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://127.0.0.1",
            timeout=600,
            headers={"Authorization": f"Bearer {token}"},
        ) as http,
    ):
        started = await graphql(http, START, org=ORGANIZATION)
        connection_id = started["startAzureConnection"]["connection"]["id"]
        # The organization's administrator signs in and consents (their browser, against the emulator).
        sign_in_url = started["startAzureConnection"]["signInUrl"]
        assert (await connect_in_browser(http, azure, sign_in_url, ADMIN)).status_code == 200
        statements: list[str] = []
        event.listen(
            app.state.services.engine.sync_engine,
            "before_cursor_execute",
            lambda *a: statements.append(a[2]),
        )
        rows = []
        for label, query in (
            ("connect (first discovery)", CONNECT),
            ("refresh (nothing changed)", REFRESH),
        ):
            azure.clear_requests()
            statements.clear()
            began = time.perf_counter()
            payload = next(iter((await graphql(http, query, id=connection_id)).values()))
            seconds = time.perf_counter() - began
            if not payload["ok"]:
                raise SystemExit(f"connect failed: {payload['checks']}")
            hosts = Counter(azure.request_counts()["by_host"])
            inserts = sum(
                1 for s in statements if s.lstrip().upper().startswith("INSERT INTO AZURE_REPOSITORIES")
            )
            rows.append(
                (label, seconds, hosts, len(statements), inserts, payload["connection"]["repositoryCount"])
            )
    return rows


async def repository_list_alone(settings: Settings) -> float:
    """The organization-wide repository list by itself: no diagnosis can end before it has arrived."""
    tokens = TokenProvider(settings)
    try:
        await tokens.get_token(TENANT_ID)
        async with AzureDevOps(settings, tokens) as ado:
            org = ado.organization(ORGANIZATION, TENANT_ID)
            await org.connection_data()  # the connection is open, as it is when the diagnosis lists them
            began = time.perf_counter()
            await org.list_repositories()
            return time.perf_counter() - began
    finally:
        tokens.close()


async def diagnosis_alone(settings: Settings, azure, organization: str) -> tuple[str, float, int, str]:
    """The nine checks without the API or the database around them: their network time and requests."""
    tokens = TokenProvider(settings)
    try:
        await tokens.get_token(TENANT_ID)  # not timed: the consent flow's token is cached in the service too
        async with AzureDevOps(settings, tokens) as ado:
            azure.clear_requests()
            began = time.perf_counter()
            result = await diagnose(ado, settings, Findings(organization, TENANT_ID))
            seconds = time.perf_counter() - began
    finally:
        tokens.close()
    if not result.ok:
        raise SystemExit(f"diagnosis of {organization} failed: {[c.as_dict() for c in result.checks]}")
    can_read = next(c for c in result.checks if c.code == "CAN_READ_CODE")
    return organization, seconds, azure.devops_requests(), can_read.message


async def graphql(http: httpx.AsyncClient, query: str, **variables) -> dict:
    response = await http.post("/graphql", json={"query": query, "variables": variables})
    if "json" not in response.headers.get("content-type", ""):
        raise SystemExit(f"HTTP {response.status_code}: {response.text[:300]}")
    body = response.json()
    if response.status_code != 200 or body.get("errors"):
        raise SystemExit(f"GraphQL error: {response.status_code} {body}")
    return body["data"]


def report(args, rows, network, round_trip: float, listing: float) -> None:
    expected = args.projects * args.repos_per_project
    print(
        f"Connect + discovery: {args.projects} projects, {expected} repositories, {args.latency_ms} ms per "
        f"request, emulator in a {args.emulator}"
    )
    print(
        f"{'run':<28}{'seconds':>9}{'ADO requests':>14}{'token req.':>11}{'SQL stmts':>11}"
        f"{'repo INSERTs':>14}{'repos':>8}"
    )
    for label, seconds, hosts, sql, inserts, repos in rows:
        ado = hosts["dev"] + hosts["vssps"] + hosts["vsaex"]
        print(f"{label:<28}{seconds:>9.2f}{ado:>14}{hosts['login']:>11}{sql:>11}{inserts:>14}{repos:>8}")
        if repos != expected:
            raise SystemExit(f"expected {expected} repositories, stored {repos}")
    floor = max(FLOOR_ROUND_TRIPS * round_trip, listing)
    print(
        f"\nThe diagnosis alone (network only). Floor {floor:.3f} s = the larger of {FLOOR_ROUND_TRIPS} round "
        f"trips ({round_trip * 1000:.1f} ms each) and the {args.projects * args.repos_per_project}-repository "
        f"list by itself ({listing:.3f} s)"
    )
    print(f"{'side':<44}{'seconds':>9}{'x floor':>9}{'ADO requests':>14}")
    for (_, seconds, requests, _), side in zip(
        network, ("ours: one Security API evaluation batch", "peer: a refs probe per project"), strict=True
    ):
        print(f"{side:<44}{seconds:>9.3f}{seconds / floor:>9.1f}{requests:>14}")
    print(f"\nCAN_READ_CODE says: {network[0][3]}")
    print(f"the peer's says:    {network[1][3]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=500)
    parser.add_argument("--repos-per-project", type=int, default=20)
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--database-url", default=None)
    add_arguments(parser)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
