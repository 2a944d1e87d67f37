"""Connect plus discovery of a large organization, end to end through `connectAzureOrganization`.

    .venv/bin/python benchmarks/connect_and_discover.py [--projects 500] [--repos-per-project 20]
        [--latency-ms 20] [--database-url postgresql://postgres@127.0.0.1:5432/test]

The emulator adds the latency to every Azure DevOps request. Prints the wall time of the mutation, the
requests it made (by host), the SQL statements it ran, and the same for a second run (refresh) where nothing
changed. The database is a temporary SQLite file unless --database-url names another (it is emptied).
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
from benchmarks.list_repositories import ADMIN, CLIENT_ID, CLIENT_SECRET, ORGANIZATION, build_world
from core.accounts import service as accounts
from core.db import create_engine, session_factory, session_scope
from core.db.migrate import upgrade_engine
from core.settings import Settings
from sandbox.server import Sandbox
from tests.conftest import reset_database
from tests.signin import connect_in_browser

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


async def run(args) -> None:
    url = args.database_url or f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/bench.db"
    token = await prepare_database(url)
    world = build_world(args.projects, args.repos_per_project, args.latency_ms)
    with Sandbox(world) as sandbox:
        settings = Settings(
            database_url=url,
            entra_client_id=CLIENT_ID,
            entra_client_secret=CLIENT_SECRET,
            entra_authority_host=sandbox.authority_host,
            azure_devops_url=sandbox.devops_url,
            ca_bundle=sandbox.ca_path,
        )
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
            assert (await connect_in_browser(http, sandbox, sign_in_url, ADMIN)).status_code == 200
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
                sandbox.context.requests.clear()
                statements.clear()
                began = time.perf_counter()
                payload = next(iter((await graphql(http, query, id=connection_id)).values()))
                seconds = time.perf_counter() - began
                if not payload["ok"]:
                    raise SystemExit(f"connect failed: {payload['checks']}")
                hosts = Counter(r.host for r in sandbox.context.requests)
                rows.append(
                    (label, seconds, hosts, len(statements), payload["connection"]["repositoryCount"])
                )
    report(args, rows)


async def graphql(http: httpx.AsyncClient, query: str, **variables) -> dict:
    response = await http.post("/graphql", json={"query": query, "variables": variables})
    if "json" not in response.headers.get("content-type", ""):
        raise SystemExit(f"HTTP {response.status_code}: {response.text[:300]}")
    body = response.json()
    if response.status_code != 200 or body.get("errors"):
        raise SystemExit(f"GraphQL error: {response.status_code} {body}")
    return body["data"]


def report(args, rows) -> None:
    expected = args.projects * args.repos_per_project
    print(
        f"Connect + discovery: {args.projects} projects, {expected} repositories, {args.latency_ms} ms per request"
    )
    print(f"{'run':<28}{'seconds':>9}{'ADO requests':>14}{'token req.':>11}{'SQL stmts':>11}{'repos':>8}")
    for label, seconds, hosts, sql, repos in rows:
        ado = hosts["dev"] + hosts["vssps"] + hosts["vsaex"]
        print(f"{label:<28}{seconds:>9.2f}{ado:>14}{hosts['login']:>11}{sql:>11}{repos:>8}")
        if repos != expected:
            raise SystemExit(f"expected {expected} repositories, stored {repos}")
    print("ADO requests: 1 resource area + 1 tenant probe + identity + entitlement + project pages + ONE")
    print("organization-wide repository list + one refs probe per project (the CAN_READ_CODE check).")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=500)
    parser.add_argument("--repos-per-project", type=int, default=20)
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--database-url", default=None)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
