"""A daily run over many repositories of which most did not change: requests and time, against scanning all.

    .venv/bin/python benchmarks/daily_scan.py [--repositories 1000] [--changed 0.1] [--latency-ms 5]
        [--scanners secrets,pipelines]

Day 1 scans everything (the baseline). Day 2: `--changed` of the repositories got a new commit; the run skips
the unchanged ones (same head commit and scanner versions: no archive download). For comparison, day 3
rescans everything (as a scanner without incremental runs would). Requests are counted on the emulated
Azure DevOps hosts, by kind, with the SQL statements each day ran.

Day 2 is printed beside its request floor (issue 17, item 4): the connection's verification (measured on its
own), one head read per repository, one archive per changed repository and posture's per-project reads; what
an unchanged repository costs beyond its head read (posture's own commit read, the history's ref listing) is
the distance to it. checkov is left out by default (`--scanners`): it costs seconds per repository and the
comparison is about what incremental runs save, not about one scanner's speed.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import event, update

from api.wiring import build_registry
from benchmarks.list_repositories import CLIENT_ID, CLIENT_SECRET, TENANT_ID
from core.accounts.service import Principal, create_account
from core.connections import flows
from core.db import create_engine, session_scope
from core.db.columns import utcnow
from core.db.migrate import upgrade_engine
from core.discovery.models import AzureRepository
from core.jobs.runner import JobRunner
from core.scans import schedule
from core.services import open_services
from core.settings import Settings
from sandbox.scenario import Membership, Organization, Project, Repository, World
from sandbox.server import Sandbox
from tests.signin import grant
from tests.worlds import ADMIN

PIPELINE = "steps:\n  - script: echo building $(Build.SourceBranch)\n"


def build_world(repositories: int, latency_ms: int) -> World:
    projects = max(1, repositories // 20)
    names = [f"project-{p:03d}" for p in range(projects)]
    return World(
        apps=[{"client_id": CLIENT_ID, "secret": CLIENT_SECRET}],
        tenants=[
            {
                "id": TENANT_ID,
                "name": "Contoso",
                "service_principals": [{"client_id": CLIENT_ID}],
                "users": [{"upn": ADMIN}],
            }
        ],
        organizations=[
            Organization(
                name="dailycorp",
                tenant_id=TENANT_ID,
                administrators=[ADMIN],
                latency_ms=latency_ms,
                members=[Membership(client_id=CLIENT_ID, projects={n: "projectContributor" for n in names})],
                projects=[
                    Project(
                        name=names[p],
                        repositories=[
                            Repository(
                                name=f"repo-{p:03d}-{r:02d}",
                                files={
                                    "README.md": f"# repo {p}-{r}\n",
                                    "src/app.py": "print('hello')\n" * 50,
                                    "azure-pipelines.yml": PIPELINE,
                                },
                            )
                            for r in range(min(20, repositories - p * 20))
                        ],
                    )
                    for p in range(projects)
                ],
            )
        ],
    )


ADO_HOSTS = ("dev", "vssps", "vsaex")


def kind_of(record) -> str:
    """What an Azure DevOps request was for, by its path (the emulator's request log)."""
    if "$format=zip" in record.query or "%24format=zip" in record.query:
        return "archive"
    if "/_git/" in record.path:
        return "history (git)"
    if record.path.endswith("/refs"):
        return "head read"
    if record.path.endswith("/commits"):
        return "posture commit read"
    if "/git/repositories/" in record.path:
        return "other repository read"
    return "verification, discovery, posture lists"


@dataclass
class Day:
    seconds: float
    requests: Counter  # by host, plus "archives"
    kinds: Counter = field(default_factory=Counter)
    statements: int = 0

    @property
    def ado(self) -> int:
        return sum(self.requests[h] for h in ADO_HOSTS)


def ado_records(sandbox) -> list:
    return [r for r in sandbox.context.requests if r.host in ADO_HOSTS]


async def run_day(services, sandbox, now) -> Day:
    sandbox.context.requests.clear()
    statements = []

    def count(*_):
        statements.append(1)

    event.listen(services.engine.sync_engine, "before_cursor_execute", count)
    began = time.perf_counter()
    try:
        await schedule.tick(services, now)
        await JobRunner(services, poll_seconds=0.05).run_until_idle(max_rounds=100_000)
    finally:
        event.remove(services.engine.sync_engine, "before_cursor_execute", count)
    seconds = time.perf_counter() - began
    requests = Counter(r.host for r in sandbox.context.requests)
    requests["archives"] = sum(1 for r in sandbox.context.requests if kind_of(r) == "archive")
    kinds = Counter(kind_of(r) for r in ado_records(sandbox))
    return Day(seconds, requests, kinds, len(statements))


async def verification_requests(services, sandbox, principal, connection_id: str) -> int:
    """What the daily job's verification and rediscovery cost on their own (part of the floor)."""
    sandbox.context.requests.clear()
    assert (await flows.connect(services, principal, connection_id, action="verify")).diagnosis.ok
    return len(ado_records(sandbox))


async def main(args) -> None:
    url = f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/bench.db"
    engine = create_engine(url)
    await upgrade_engine(engine)
    await engine.dispose()
    world = build_world(args.repositories, args.latency_ms)
    with Sandbox(world) as sandbox:
        settings = Settings(
            database_url=url,
            entra_client_id=CLIENT_ID,
            entra_client_secret=CLIENT_SECRET,
            entra_authority_host=sandbox.authority_host,
            azure_devops_url=sandbox.devops_url,
            ca_bundle=sandbox.ca_path,
            scanners=args.scanners,
            key_directory=tempfile.mkdtemp(),
        )
        async with open_services(settings, jobs=build_registry()) as services:
            async with session_scope(services.sessions) as session:
                account = await create_account(session, "Bench")
            principal = Principal(account.id, "bench@example.test", "")
            started = await flows.start(services, principal, "dailycorp")
            await grant(services, started)
            assert (await flows.connect(services, principal, started.connection.id)).diagnosis.ok
            now = utcnow()
            day1 = await run_day(services, sandbox, now)
            verification = await verification_requests(services, sandbox, principal, started.connection.id)
            repos = [r for p in sandbox.world.organizations[0].projects for r in p.repositories]
            changed = int(len(repos) * args.changed)
            for repo in random.Random(7).sample(repos, changed):
                repo.files = {**repo.files, "CHANGELOG.md": "changed\n"}
                repo.head_commit = repo.tree_digest()
            day2 = await run_day(services, sandbox, now + timedelta(days=1))
            async with session_scope(services.sessions) as session:  # forget what was scanned: rescan all
                await session.exec(update(AzureRepository).values(scanned_commit="", scanned_versions={}))
            day3 = await run_day(services, sandbox, now + timedelta(days=2))
    report(args, day1, day2, day3)
    report_floor(args, day2, verification, len(repos), changed)


def report_floor(args, day2: Day, verification: int, repositories: int, changed: int) -> None:
    """Day 2 beside its request floor, and where its requests went."""
    posture_lists = max(day2.kinds["verification, discovery, posture lists"] - verification, 0)
    floor = verification + repositories + changed + posture_lists
    print(
        f"day 2 against its floor: {day2.ado} requests, floor {floor} (verification {verification}, "
        f"{repositories} head reads, {changed} archives, posture lists {posture_lists}): "
        f"{day2.ado / max(floor, 1):.2f}x the floor (goal: within 1.10x)"
    )
    print(
        f"day 2 SQL statements: {day2.statements} ({day2.statements / max(repositories, 1):.1f} per repository; "
        "goal: at most 3 per unchanged repository)"
    )
    print("day 2 requests by kind: " + ", ".join(f"{k} {v}" for k, v in day2.kinds.most_common()))


def report(args, day1, day2, day3) -> None:
    print(
        f"Daily scans: {args.repositories} repositories, {args.changed:.0%} changed, "
        f"{args.latency_ms} ms per request, scanners: {args.scanners or 'all'}"
    )
    print(f"{'run':<34}{'seconds':>9}{'ADO requests':>14}{'archives':>10}{'SQL':>9}")
    for label, day in (
        ("day 1: first scan of everything", day1),
        ("day 2: incremental (90% unchanged)", day2),
        ("day 3: rescan everything", day3),
    ):
        print(f"{label:<34}{day.seconds:>9.1f}{day.ado:>14}{day.requests['archives']:>10}{day.statements:>9}")
    print(
        f"incremental vs rescan: {day3.ado / max(day2.ado, 1):.1f}x fewer requests, "
        f"{day3.requests['archives'] / max(day2.requests['archives'], 1):.1f}x fewer archives, "
        f"{day3.seconds / max(day2.seconds, 0.001):.1f}x less time"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repositories", type=int, default=1000)
    parser.add_argument("--changed", type=float, default=0.1)
    parser.add_argument("--latency-ms", type=int, default=5)
    parser.add_argument("--scanners", default="secrets,pipelines")
    asyncio.run(main(parser.parse_args()))
