"""GraphQL on PostgreSQL at scale: page latency over 100,000 repositories and 1,000,000 findings, then 200
concurrent clients for 30 seconds against two `panoptica serve` processes.

    .venv/bin/python benchmarks/graphql_load.py [--repositories 100000] [--findings 1000000] [--runs 50]
        [--clients 200] [--seconds 30] [--database-url postgresql://postgres@127.0.0.1:5432/panoptica_bench]

Part 1 measures `repositories(first: 100)` and `findings(first: 100)` with filters, one request at a time, in
this process (p50 and p99), each beside its floor: the same SQL statements replayed alone on the driver (the
database's share), and once the stack's, `{ __typename }` with the same token. Part 2 starts two API
processes and drives them with concurrent clients (half each), alternating page queries; it prints requests
per second and p50/p99 of the whole run, beside the same clients sending `{ __typename }` for as long (the
processes' own ceiling: authentication, HTTP and GraphQL, no page). No peer: no free tool serves this API.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
import psycopg
from sqlalchemy import insert

from api.app import create_app
from benchmarks.harness import StatementLog, replay_ms
from benchmarks.worker_scaling import fresh_database
from core.accounts import service as accounts
from core.connections.models import AzureConnection
from core.db import create_engine, session_factory, session_scope
from core.db.columns import new_id, utcnow
from core.db.migrate import upgrade_engine
from core.discovery.models import AzureRepository
from core.findings.models import Finding
from core.settings import Settings
from tests.workers.conftest import Processes

REPOSITORIES = """query($filter: RepositoryFilter) { repositories(first: 100, filter: $filter) {
  totalCount edges { node { id name project scanStatus findingCounts { critical high } } } } }"""
FINDINGS = """query($filter: FindingFilter) { findings(first: 100, filter: $filter) {
  totalCount edges { node { id ruleId severity path line status } } } }"""
SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFO")
SHAPES = [
    ("repositories, first page", REPOSITORIES, {}),
    ("repositories, one project", REPOSITORIES, {"filter": {"project": "project-0042"}}),
    ("repositories, search", REPOSITORIES, {"filter": {"search": "repo-0012"}}),
    ("findings, open (default)", FINDINGS, {}),
    ("findings, severity >= HIGH", FINDINGS, {"filter": {"minSeverity": "HIGH"}}),
    ("findings, category SECRET", FINDINGS, {"filter": {"category": "SECRET"}}),
]


async def seed(url: str, repositories: int, findings: int) -> str:
    fresh_database(url)
    engine = create_engine(url)
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
        repo_ids = [new_id() for _ in range(repositories)]
        for start in range(0, repositories, 10_000):
            rows = [
                {
                    "id": repo_ids[i],
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
                for i in range(start, min(start + 10_000, repositories))
            ]
            await session.exec(insert(AzureRepository), params=rows)
        random.seed(7)
        for start in range(0, findings, 20_000):
            rows = [
                {
                    "id": new_id(),
                    "account_id": account.id,
                    "repository_id": repo_ids[i % repositories],
                    "scanner": "secrets" if i % 3 == 0 else "pipelines",
                    "rule_id": f"RULE-{i % 40}",
                    "title": "A finding",
                    "severity": SEVERITIES[i % 5],
                    "category": "SECRET" if i % 3 == 0 else "PIPELINE",
                    "path": f"src/file-{i % 1000}.py",
                    "line": i % 500 + 1,
                    "fingerprint": f"{i:064d}",
                    "status": "FIXED" if i % 4 == 0 else "OPEN",
                    "first_seen_at": now,
                    "last_seen_at": now,
                }
                for i in range(start, min(start + 20_000, findings))
            ]
            await session.exec(insert(Finding), params=rows)
    await engine.dispose()
    # The steady state of a live database: statistics gathered and the visibility map set by (auto)vacuum, so
    # counts can be answered from the indexes alone.
    with psycopg.connect(url.replace("+asyncpg", ""), autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE")
    return token


def percentiles(timings: list[float]) -> tuple[float, float]:
    return statistics.median(timings), statistics.quantiles(timings, n=100)[98]


async def one_at_a_time(url: str, token: str, runs: int) -> None:
    app = create_app(Settings(database_url=url, job_runner="inprocess"), run_jobs=False)
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

        async def timed(query: str, variables: dict, count: int) -> list[float]:
            timings = []
            for _ in range(count):
                began = time.perf_counter()
                response = await http.post("/graphql", json={"query": query, "variables": variables})
                timings.append((time.perf_counter() - began) * 1000)
                if response.status_code != 200 or response.json().get("errors"):
                    raise SystemExit(f"GraphQL error: {response.text[:300]}")
            return timings

        print(
            f"{'query (one at a time)':<32}{'p50 ms':>9}{'p99 ms':>9}{'SQL alone p50':>15}{'p99':>7}{'x floor':>9}"
        )
        p50, p99 = percentiles(await timed("{ __typename }", {}, runs))
        print(f"{'floor: { __typename }':<32}{p50:>9.1f}{p99:>9.1f}")
        for label, query, variables in SHAPES:
            p50, p99 = percentiles(await timed(query, variables, runs))
            statements.clear()
            await timed(query, variables, 1)
            floor50, floor99 = percentiles(
                await replay_ms(engine, statements, list(statements.entries), runs)
            )
            print(
                f"{label:<32}{p50:>9.1f}{p99:>9.1f}{floor50:>15.1f}{floor99:>7.1f}{p50 / max(floor50, 1e-9):>9.1f}"
            )
        print("SQL alone: the request's statements replayed on the driver, one connection, nothing committed")


async def concurrent(url: str, token: str, clients: int, seconds: float) -> None:
    """The page queries, then `{ __typename }` for as long: ours beside the processes' own ceiling."""
    rows = [
        ("page queries", *await drive(url, token, clients, seconds, SHAPES)),
        (
            "floor: { __typename }",
            *await drive(url, token, clients, seconds, [("typename", "{ __typename }", {})]),
        ),
    ]
    print(f"{clients} clients for {seconds:.0f} s against 2 API processes")
    print(f"{'':24}{'requests/s':>12}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}")
    for label, rate, p50, p99, errors in rows:
        print(f"{label:24}{rate:>12.1f}{p50:>9.0f}{p99:>9.0f}{errors:>8}")
    print(f"page queries / floor: {rows[0][1] / max(rows[1][1], 1e-9):.2f} of the throughput")


async def drive(
    url: str, token: str, clients: int, seconds: float, shapes: list
) -> tuple[float, float, float, int]:
    settings = Settings(database_url=url)
    processes = Processes(settings, Path(tempfile.mkdtemp()))
    ports = [18701, 18702]
    for port in ports:
        processes.start("serve", "--host", "127.0.0.1", "--port", str(port))
    try:
        async with httpx.AsyncClient(timeout=120, limits=httpx.Limits(max_connections=clients)) as http:
            for port in ports:
                for _ in range(200):
                    try:
                        if (await http.get(f"http://127.0.0.1:{port}/readyz")).status_code == 200:
                            break
                    except httpx.HTTPError:
                        pass
                    await asyncio.sleep(0.1)
            timings: list[float] = []
            errors = 0
            deadline = time.perf_counter() + seconds

            async def client(n: int) -> None:
                nonlocal errors
                port = ports[n % 2]
                while time.perf_counter() < deadline:
                    _, query, variables = shapes[random.randrange(len(shapes))]
                    began = time.perf_counter()
                    try:
                        response = await http.post(
                            f"http://127.0.0.1:{port}/graphql",
                            json={"query": query, "variables": variables},
                            headers={"Authorization": f"Bearer {token}"},
                        )
                        errors += response.status_code != 200
                    except httpx.HTTPError:
                        errors += 1
                    timings.append((time.perf_counter() - began) * 1000)

            began = time.perf_counter()
            await asyncio.gather(*(client(n) for n in range(clients)))
            elapsed = time.perf_counter() - began
        p50, p99 = percentiles(timings)
        return len(timings) / elapsed, p50, p99, errors
    finally:
        processes.stop_all()


async def run(args) -> None:
    began = time.perf_counter()
    token = await seed(args.database_url, args.repositories, args.findings)
    print(
        f"seeded {args.repositories} repositories and {args.findings} findings in {time.perf_counter() - began:.0f} s"
    )
    await one_at_a_time(args.database_url, token, args.runs)
    await concurrent(args.database_url, token, args.clients, args.seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repositories", type=int, default=100_000)
    parser.add_argument("--findings", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/panoptica_bench")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
