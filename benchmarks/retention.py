"""The retention prune of millions of finished job rows on PostgreSQL: time, the longest lock held, and the
findings list's page latency while it runs.

    .venv/bin/python benchmarks/retention.py [--jobs 10000000] [--findings 50000] [--batch 5000]
        [--server postgresql://postgres@127.0.0.1:5432]

Creates a scratch database (retention_bench_<pid>) on the server, migrates it, inserts --jobs finished jobs
(nine in ten older than PANOPTICA_RETENTION_JOBS_DAYS, so they go; one in ten recent, so it stays) with
one INSERT ... SELECT generate_series, and --findings findings of one account; then runs the prune
(core/retention/service.py) while another connection reads the first findings page (50, newest first, the
console's list) over and over. The longest single statement of the prune bounds the time any row lock is
held (each batch is one statement in its own transaction). The page's floor is the same page read while
nothing else runs, printed first; the ratio of the two p50s follows. Drops the database at the end. No peer:
no free tool prunes these tables.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import asyncpg
from sqlalchemy import text

from core.db import create_engine, session_factory, session_scope
from core.db.columns import utcnow
from core.db.migrate import upgrade_engine
from core.findings.service import FindingFilter, list_findings
from core.retention.service import prune
from core.settings import Settings

JOBS = """
INSERT INTO jobs (id, kind, queue, payload, dedupe_key, lock, status, attempts, max_attempts, run_after,
                  lease_until, last_error, created_at, finished_at)
SELECT md5(i::text), 'scans.repository', 'long', json_build_object('run_id', md5((i + 1)::text)), NULL, NULL,
       CASE WHEN i % 50 = 0 THEN 'failed' ELSE 'done' END, 1, 5, t, NULL, '', t, t + interval '40 seconds'
FROM (SELECT i, CASE WHEN i % 10 = 0 THEN now() - interval '1 day' ELSE now() - interval '8 days' END
          - (i % 86400) * interval '1 second' AS t
      FROM generate_series(1, :n) AS i) AS s
"""
ACCOUNT = """
INSERT INTO accounts (id, name, created_at) VALUES ('acct', 'Bench', now());
INSERT INTO azure_connections (id, account_id, organization, tenant_id, status, status_reason, created_by,
    created_at, checks, discovery_status, discovery_error)
    VALUES ('conn', 'acct', 'bench', 't', 'CONNECTED', '', 'b', now(), '[]', 'SUCCEEDED', '');
INSERT INTO azure_repositories (id, account_id, connection_id, ado_id, organization, project_ado_id, project_name,
    name, default_branch, web_url, size_bytes, visibility, is_fork, is_disabled, is_empty, is_in_maintenance,
    selected, discovered_at, updated_at, scan_status, scan_error, scanned_commit, scanned_versions)
    VALUES ('repo', 'acct', 'conn', 'r', 'bench', 'p', 'P', 'r', 'main', 'https://x', 0, 'private', false, false,
    false, false, true, now(), now(), 'SUCCEEDED', '', '', '{}');
"""
FINDINGS = """
INSERT INTO findings (id, account_id, repository_id, project_id, scanner, rule_id, title, description, remediation,
    help_uri, severity, category, path, line, end_line, message, commit, fingerprint, secret_hash, preview, status,
    first_seen_at, last_seen_at, fixed_at, suppressed_reason, suppressed_by, suppressed_until, last_run_id)
SELECT md5('f' || i), 'acct', 'repo', NULL, 'secrets', 'SECRET-GENERIC', 'A secret', '', '', '',
       (ARRAY['CRITICAL','HIGH','MEDIUM','LOW'])[1 + i % 4], 'SECRET', 'src/f' || i || '.py', 1, 1, '', '',
       md5('fp' || i), NULL, NULL, 'OPEN', now() - i * interval '1 minute', now(), NULL, '', '', NULL, NULL
FROM generate_series(1, :n) AS i
"""


async def create_database(server: str, name: str) -> None:
    connection = await asyncpg.connect(f"{server}/postgres")
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()


async def drop_database(server: str, name: str) -> None:
    connection = await asyncpg.connect(f"{server}/postgres")
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


async def seed(engine, jobs: int, findings: int) -> float:
    started = time.perf_counter()
    async with engine.begin() as connection:
        await connection.execute(text(JOBS), {"n": jobs})
        for statement in ACCOUNT.strip().split(";\n"):
            await connection.execute(text(statement))
        await connection.execute(text(FINDINGS), {"n": findings})
    async with engine.connect() as connection:
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        await connection.execute(text("VACUUM ANALYZE jobs"))
        await connection.execute(text("VACUUM ANALYZE findings"))
    return time.perf_counter() - started


async def page_latencies(sessions, stop: asyncio.Event, minimum: int = 0) -> list[float]:
    """The first findings page (the console's list), read again and again until `stop` (at least `minimum`)."""
    timings = []
    while not stop.is_set() or len(timings) < minimum:
        started = time.perf_counter()
        async with sessions() as session:
            page = await list_findings(session, "acct", FindingFilter(), 50, None)
        timings.append(time.perf_counter() - started)
        assert len(page.items) == 50
        await asyncio.sleep(0.05)
    return timings


def describe(timings: list[float]) -> str:
    ordered = sorted(timings)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return (
        f"p50 {statistics.median(ordered) * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms, "
        f"max {ordered[-1] * 1000:.1f} ms over {len(ordered)} pages"
    )


async def run(args) -> None:
    name = f"retention_bench_{os.getpid()}"
    await create_database(args.server, name)
    url = f"{args.server}/{name}"
    engine = create_engine(url)
    try:
        await upgrade_engine(engine)
        seconds = await seed(engine, args.jobs, args.findings)
        print(f"seeded {args.jobs:,} jobs and {args.findings:,} findings in {seconds:.1f} s")
        sessions = session_factory(engine)
        settings = Settings(database_url=url, retention_batch_size=args.batch)

        idle = asyncio.Event()
        idle.set()
        baseline = await page_latencies(sessions, idle, minimum=40)
        print(f"findings page, idle:          {describe(baseline)}")

        stop = asyncio.Event()
        reader = asyncio.create_task(page_latencies(sessions, stop))
        started = time.perf_counter()
        report = await prune(sessions, settings, utcnow())
        elapsed = time.perf_counter() - started
        stop.set()
        during = await reader
        jobs = next(r for r in report.results if r.table == "jobs")
        print(f"findings page, while pruning: {describe(during)}")
        print(
            f"while pruning / idle (the floor), p50: "
            f"{statistics.median(during) / max(statistics.median(baseline), 1e-9):.2f}x"
        )
        print(
            f"prune: {jobs.rows:,} job rows deleted in {elapsed:.1f} s ({jobs.rows / elapsed:,.0f} rows/s), "
            f"{jobs.statements:,} statements of at most {args.batch:,} rows"
        )
        print(
            f"longest statement (the longest any row lock is held): {report.longest_statement_seconds * 1000:.0f} ms "
            f"(jobs: {jobs.longest_statement_seconds * 1000:.0f} ms)"
        )
        times = sorted(jobs.statement_seconds)
        slowest = max(range(len(jobs.statement_seconds)), key=jobs.statement_seconds.__getitem__)
        print(
            f"jobs statements: p50 {statistics.median(times) * 1000:.0f} ms, "
            f"p99 {times[int(len(times) * 0.99)] * 1000:.0f} ms, the longest was statement {slowest + 1}"
        )
        async with session_scope(sessions) as session:
            left = (await session.exec(text("SELECT count(*) FROM jobs"))).scalar_one()
        print(f"jobs left: {left:,} (the recent tenth: {args.jobs // 10:,})")
        again = time.perf_counter()
        second = await prune(sessions, settings, utcnow())
        print(f"second prune: {second.rows} rows in {time.perf_counter() - again:.2f} s")
    finally:
        await engine.dispose()
        await drop_database(args.server, name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=10_000_000)
    parser.add_argument("--findings", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
