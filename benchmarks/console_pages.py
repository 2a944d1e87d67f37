"""The console's pages as GraphQL queries over 100,000 repositories and 1,000,000 findings.

    .venv/bin/python benchmarks/console_pages.py [--repositories 100000] [--findings 1000000] [--runs 30]
        [--database-url postgresql://postgres@127.0.0.1:5432/console_bench] [--keep]

For each page (the Repositories table with its filters and search, a repository's findings, the findings
list with search and filters) at page sizes 25 and 100: p50/p99 latency through the whole HTTP stack, and
the SQL statements per request, which must not grow with the page size (the script fails if they do); beside
each, its floor: the same statements replayed alone on the driver (the database's share), and once the
stack's, `{ __typename }` with the same token. No peer: no free tool serves these pages. The
database is a scratch PostgreSQL database created and dropped here (or a temporary SQLite file with
--database-url sqlite); no Azure traffic: rows are inserted directly. --keep keeps a seeded database for the
next run (seeding 1,000,000 findings takes a minute or two).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import create_async_engine

from api.app import create_app
from benchmarks.harness import StatementLog, percentiles, replay_ms
from core.accounts import service as accounts
from core.connections.models import AzureConnection, ConnectionStatus
from core.db import create_engine, session_factory, session_scope
from core.db.columns import new_id, utcnow
from core.db.migrate import upgrade_engine
from core.discovery.models import AzureRepository
from core.findings.models import Finding
from core.settings import Settings
from tests.conftest import reset_database

REPOSITORIES = """query RepositoriesPage($first: Int!, $after: String, $filter: RepositoryFilter) {
  repositories(first: $first, after: $after, filter: $filter) {
    totalCount totalCountIsCapped
    pageInfo { hasPreviousPage hasNextPage startCursor endCursor }
    edges { cursor node { id name project organization visibility scanStatus scanError lastScannedAt webUrl
      findingCounts { critical high medium low info } connection { id organization status } } } } }"""
REPOSITORY = """query RepositoryPage($id: ID!, $first: Int!, $filter: FindingFilter) {
  repository(id: $id) { id name project organization webUrl scanStatus lastScannedAt
    findingCounts { critical high medium low info }
    findings(first: $first, filter: $filter) { totalCount totalCountIsCapped pageInfo { hasNextPage endCursor }
      edges { node { id path line endLine severity ruleId title message status webUrl suppressedReason } } }
    scanRuns(first: 5) { edges { node { id status createdAt finishedAt } } } } }"""
FINDINGS = """query FindingsPage($first: Int!, $after: String, $filter: FindingFilter) {
  findings(first: $first, after: $after, filter: $filter) {
    totalCount totalCountIsCapped pageInfo { hasNextPage endCursor }
    edges { node { id severity category scanner status ruleId title path line webUrl firstSeenAt
      repository { id name project organization } } } } }"""
SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFO")
KINDS = (  # (scanner, category, rule, title, message)
    ("pipelines", "PIPELINE", "ADO-PIPE-10", "Script injection from a pipeline variable", ""),
    ("checkov", "IAC", "CKV_AZURE_35", "Storage account allows public network access", ""),
    ("secrets", "SECRET", "SECRET-AZURE-DEVOPS-PAT", "Azure DevOps personal access token", ""),
    (
        "dependencies",
        "DEPENDENCY",
        "GHSA-jfh8-c2jp-5v3q",
        "Remote code injection in Log4j",
        "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1 (direct dependency) is affected by "
        "GHSA-jfh8-c2jp-5v3q (aliases: CVE-2021-44228); fixed in 2.15.0.",
    ),
)


async def seed(url: str, repositories: int, findings: int) -> tuple[str, str]:
    engine = create_engine(url)
    await reset_database(engine)
    await upgrade_engine(engine)
    async with session_scope(session_factory(engine)) as session:
        account = await accounts.create_account(session, "Bench")
        token = (await accounts.issue_token(session, account.id, "bench@example.test")).token
        connection = AzureConnection(
            account_id=account.id,
            organization="bigcorp",
            tenant_id="t",
            created_by="b",
            status=ConnectionStatus.CONNECTED,
        )
        session.add(connection)
        await session.flush()
        account_id, connection_id = account.id, connection.id
    now = utcnow()
    repo_ids = [new_id() for _ in range(repositories)]
    for start in range(0, repositories, 10_000):
        rows = [
            {
                "id": repo_ids[i],
                "account_id": account_id,
                "connection_id": connection_id,
                "ado_id": new_id(),
                "organization": "bigcorp",
                "project_ado_id": f"p{i % 500}",
                "project_name": f"project-{i % 500:04d}",
                "name": f"repo-{i:06d}",
                "default_branch": "refs/heads/main",
                "web_url": f"https://dev.azure.com/bigcorp/project-{i % 500:04d}/_git/repo-{i:06d}",
                "scan_status": "FAILED" if i % 97 == 0 else "SUCCEEDED",
                "discovered_at": now,
                "updated_at": now,
            }
            for i in range(start, min(start + 10_000, repositories))
        ]
        async with session_scope(session_factory(engine)) as session:
            await session.exec(insert(AzureRepository), params=rows)
    for start in range(0, findings, 10_000):
        rows = []
        for i in range(start, min(start + 10_000, findings)):
            # Log4Shell is rare (1 in 5,000 findings), so a search for it reads the whole account.
            scanner, category, rule, title, message = KINDS[3] if i % 5000 == 0 else KINDS[i % 3]
            rows.append(
                {
                    "id": new_id(),
                    "account_id": account_id,
                    "repository_id": repo_ids[i % repositories],
                    "scanner": scanner,
                    "rule_id": rule,
                    "title": title,
                    "description": "",
                    "remediation": "",
                    "help_uri": "",
                    "severity": SEVERITIES[i % 5],
                    "category": category,
                    "path": f"src/module-{i % 1000}/file-{i}.yml",
                    "line": 1 + i % 200,
                    "message": message or f"{title} at line {1 + i % 200}.",
                    "commit": "0123456789abcdef0123456789abcdef01234567",
                    "fingerprint": new_id(),
                    "status": "FIXED" if i % 10 == 3 else "OPEN",
                    "first_seen_at": now,
                    "last_seen_at": now,
                    "suppressed_reason": "",
                    "suppressed_by": "",
                }
            )
        async with session_scope(session_factory(engine)) as session:
            await session.exec(insert(Finding), params=rows)
    if url.startswith("postgresql"):
        async with engine.begin() as conn:
            await conn.execute(text("ANALYZE"))
    await engine.dispose()
    return token, repo_ids[42]


async def measure(http, runs: int, query: str, variables: dict) -> tuple[list[float], dict]:
    timings = []
    for _ in range(runs):
        began = time.perf_counter()
        response = await http.post("/graphql", json={"query": query, "variables": variables})
        timings.append((time.perf_counter() - began) * 1000)
        body = response.json()
        if response.status_code != 200 or body.get("errors"):
            raise SystemExit(f"GraphQL error: {body}")
    return timings, body["data"]


def rows_of(data: dict) -> int:
    field = next(iter(data.values()))
    if "findings" in field:
        field = field["findings"]
    return len(field["edges"])


async def scratch_database(url: str, create: bool) -> None:
    """Create (or drop) the benchmark's own PostgreSQL database, connected to the server's `postgres` one."""
    base, _, name = url.rpartition("/")
    admin = create_async_engine(
        base.replace("postgresql://", "postgresql+asyncpg://") + "/postgres", isolation_level="AUTOCOMMIT"
    )
    async with admin.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        if create:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
    await admin.dispose()


async def run(args) -> None:
    url = args.database_url
    sqlite = url == "sqlite"
    if sqlite:
        url = f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/bench.db"
    seeded_marker = Path(tempfile.gettempdir()) / "console_bench.seeded"
    reuse = args.keep and not sqlite and seeded_marker.exists()
    if not sqlite and not reuse:
        await scratch_database(url, create=True)
    began = time.perf_counter()
    if reuse:
        token, repository_id = seeded_marker.read_text().split()
    else:
        token, repository_id = await seed(url, args.repositories, args.findings)
        if args.keep and not sqlite:
            seeded_marker.write_text(f"{token} {repository_id}")
    print(
        f"{'reused' if reuse else 'seeded'} {args.repositories:,} repositories and {args.findings:,} findings "
        f"in {time.perf_counter() - began:.0f} s ({url.split(':')[0]})"
    )
    app = create_app(Settings(database_url=url), run_jobs=False)
    try:
        await measure_pages(app, token, repository_id, args)
    finally:
        if not sqlite and not args.keep:
            await scratch_database(url, create=False)


async def measure_pages(app, token: str, repository_id: str, args) -> None:
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://localhost",
            headers={"Authorization": f"Bearer {token}"},
            timeout=120,
        ) as http,
    ):
        engine = app.state.services.engine
        statements = StatementLog(engine)
        deep = await cursor_after(http, pages=20)
        pages = {
            "repositories: first page": (REPOSITORIES, {}),
            "repositories: page 21": (REPOSITORIES, {"after": deep}),
            "repositories: search 'repo-0012'": (REPOSITORIES, {"filter": {"search": "repo-0012"}}),
            "repositories: organization": (REPOSITORIES, {"filter": {"organization": "bigcorp"}}),
            "repositories: scan FAILED": (REPOSITORIES, {"filter": {"scanStatus": "FAILED"}}),
            "repositories: min HIGH": (REPOSITORIES, {"filter": {"minSeverity": "HIGH"}}),
            "repository: its findings": (REPOSITORY, {"id": repository_id}),
            "findings: newest": (FINDINGS, {}),
            "findings: category SECRET": (FINDINGS, {"filter": {"category": "SECRET"}}),
            "findings: min CRITICAL": (FINDINGS, {"filter": {"minSeverity": "CRITICAL"}}),
            "findings: search CVE-2021-44228": (FINDINGS, {"filter": {"search": "CVE-2021-44228"}}),
            "findings: search 'module-7/'": (FINDINGS, {"filter": {"search": "module-7/"}}),
        }
        stack, _ = await measure(http, args.runs, "{ __typename }", {})
        print(
            f"{'page':<36}{'first':>6}{'rows':>6}{'p50 ms':>9}{'p99 ms':>9}{'SQL/request':>13}"
            f"{'SQL alone p50':>15}{'p99':>7}{'x floor':>9}"
        )
        print(
            f"{'floor: { __typename }':<36}{'':>6}{0:>6}{percentiles(stack)[0]:>9.1f}{percentiles(stack)[1]:>9.1f}"
        )
        grew = []
        for label, (query, variables) in pages.items():
            per_size = {}
            for first in (25, 100):
                statements.clear()
                timings, data = await measure(http, args.runs, query, {**variables, "first": first})
                per_size[first] = len(statements) / args.runs
                statements.clear()
                await measure(http, 1, query, {**variables, "first": first})
                alone = await replay_ms(engine, statements, list(statements.entries), args.runs)
                (p50, p99), (floor50, floor99) = percentiles(timings), percentiles(alone)
                print(
                    f"{label:<36}{first:>6}{rows_of(data):>6}{p50:>9.1f}{p99:>9.1f}{per_size[first]:>13.1f}"
                    f"{floor50:>15.1f}{floor99:>7.1f}{p50 / max(floor50, 1e-9):>9.1f}"
                )
            if per_size[100] > per_size[25]:
                grew.append(label)
        if grew:
            raise SystemExit(f"SQL statements grew with the page size: {grew}")
        print("SQL statements per request are the same at 25 and 100 rows for every page.")
        print("SQL alone: the request's statements replayed on the driver, one connection, nothing committed")


async def cursor_after(http, pages: int) -> str:
    after = None
    for _ in range(pages):
        body = (
            await http.post(
                "/graphql", json={"query": REPOSITORIES, "variables": {"first": 100, "after": after}}
            )
        ).json()
        after = body["data"]["repositories"]["pageInfo"]["endCursor"]
    return after


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repositories", type=int, default=100_000)
    parser.add_argument("--findings", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument(
        "--database-url",
        default="postgresql://postgres@127.0.0.1:5432/console_bench",
        help="a scratch PostgreSQL database (created and dropped), or 'sqlite'",
    )
    parser.add_argument("--keep", action="store_true", help="keep (and reuse) the seeded database")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
