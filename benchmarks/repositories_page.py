"""`repositories(first: 100)` over 100,000 stored repositories: latency of one page through GraphQL.

    .venv/bin/python benchmarks/repositories_page.py [--repositories 100000] [--runs 50]
        [--database-url postgresql://postgres@127.0.0.1:5432/test]

Pages are keyset-paginated, so a deep page costs what the first one does; prints p50/p99 per query shape and
the SQL statements per request (constant: authentication, count, page). Beside each, its floor: the same SQL
statements replayed alone on the driver (the database's share), and once the stack's: `{ __typename }` with
the same token (authentication, HTTP and GraphQL, no page). The database is a temporary SQLite file unless
--database-url names another (it is emptied). No Azure traffic: rows are inserted directly. No peer: no free
tool serves these pages.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
from sqlalchemy import insert

from api.app import create_app
from benchmarks.harness import StatementLog, percentiles, replay_ms
from core.accounts import service as accounts
from core.connections.models import AzureConnection
from core.db import create_engine, session_factory, session_scope
from core.db.columns import new_id, utcnow
from core.db.migrate import upgrade_engine
from core.discovery.models import AzureRepository
from core.settings import Settings
from tests.conftest import reset_database

PAGE = """query($after: String, $filter: RepositoryFilter) {
  repositories(first: 100, after: $after, filter: $filter) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { id name project organization defaultBranch selected excludedReason } } } }"""


async def seed(url: str, count: int) -> str:
    engine = create_engine(url)
    await reset_database(engine)
    await upgrade_engine(engine)
    async with session_scope(session_factory(engine)) as session:
        account = await accounts.create_account(session, "Bench")
        token = (await accounts.issue_token(session, account.id, "bench@example.test")).token
        connection = AzureConnection(
            account_id=account.id, organization="bigcorp", tenant_id="t", created_by="b"
        )
        session.add(connection)
        await session.flush()
        now = utcnow()
        rows = [
            {
                "id": new_id(),
                "account_id": account.id,
                "connection_id": connection.id,
                "ado_id": new_id(),
                "organization": "bigcorp",
                "project_ado_id": f"p{i % 500}",
                "project_name": f"project-{i % 500:04d}",
                "name": f"repo-{i:06d}",
                "default_branch": "refs/heads/main",
                "discovered_at": now,
                "updated_at": now,
            }
            for i in range(count)
        ]
        for start in range(0, count, 10_000):
            await session.exec(insert(AzureRepository), params=rows[start : start + 10_000])
    await engine.dispose()
    return token


async def measure(http, runs: int, query: str = PAGE, **variables) -> tuple[list[float], int]:
    timings = []
    for _ in range(runs):
        began = time.perf_counter()
        response = await http.post("/graphql", json={"query": query, "variables": variables})
        timings.append((time.perf_counter() - began) * 1000)
        body = response.json()
        if response.status_code != 200 or body.get("errors"):
            raise SystemExit(f"GraphQL error: {body}")
    return timings, len(body["data"].get("repositories", {}).get("edges", []))


async def run(args) -> None:
    url = args.database_url or f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/bench.db"
    began = time.perf_counter()
    token = await seed(url, args.repositories)
    print(
        f"seeded {args.repositories} repositories in {time.perf_counter() - began:.1f} s ({url.split(':')[0]})"
    )
    app = create_app(Settings(database_url=url))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://localhost",
            headers={"Authorization": f"Bearer {token}"},
        ) as http,
    ):
        engine = app.state.services.engine
        statements = StatementLog(engine)
        first = await http.post("/graphql", json={"query": PAGE, "variables": {}})
        middle_cursor = await cursor_at(http, args.repositories // 2)
        shapes = {
            "first page": {},
            f"page after row {args.repositories // 2}": {"after": middle_cursor},
            "search 'repo-0012'": {"filter": {"search": "repo-0012"}},
            "search 'REPO-01234' (10)": {"filter": {"search": "REPO-01234"}},
            "search 'repo-0' (every row)": {"filter": {"search": "repo-0"}},
            "one project": {"filter": {"project": "project-0042"}},
        }
        stack, _ = await measure(http, args.runs, "{ __typename }")
        print(
            f"{'query':<30}{'rows':>6}{'p50 ms':>9}{'p99 ms':>9}{'SQL/request':>13}"
            f"{'SQL alone p50':>15}{'p99':>7}{'x floor':>9}"
        )
        print(
            f"{'floor: { __typename }':<30}{0:>6}{statistics.median(stack):>9.1f}{percentiles(stack)[1]:>9.1f}"
        )
        for label, variables in shapes.items():
            statements.clear()
            timings, rows = await measure(http, args.runs, **variables)
            per_request = len(statements) / args.runs
            statements.clear()
            await measure(http, 1, **variables)
            alone = await replay_ms(engine, statements, list(statements.entries), args.runs)
            (p50, p99), (floor50, floor99) = percentiles(timings), percentiles(alone)
            print(
                f"{label:<30}{rows:>6}{p50:>9.1f}{p99:>9.1f}{per_request:>13.1f}"
                f"{floor50:>15.1f}{floor99:>7.1f}{p50 / max(floor50, 1e-9):>9.1f}"
            )
        print("SQL alone: the request's statements replayed on the driver, one connection, nothing committed")
    assert first.status_code == 200


async def cursor_at(http, position: int) -> str:
    """The cursor of the row at `position`, fetched by paging (also exercises deep keyset pages)."""
    after, seen = None, 0
    while seen + 100 <= position:
        page = (await http.post("/graphql", json={"query": PAGE, "variables": {"after": after}})).json()
        after = page["data"]["repositories"]["pageInfo"]["endCursor"]
        seen += 100
    return after


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repositories", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--database-url", default=None)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
