"""A daily run over many repositories of which most did not change: requests and time, against scanning all.

    .venv/bin/python benchmarks/daily_scan.py [--repositories 1000] [--changed 0.1] [--latency-ms 5]
        [--scanners secrets,pipelines]

Day 1 scans everything (the baseline). Day 2: `--changed` of the repositories got a new commit; the run skips
the unchanged ones (same head commit and scanner versions: no archive download). For comparison, day 3
rescans everything (as a scanner without incremental runs would). Requests are counted on the emulated
Azure DevOps hosts. checkov is left out by default (`--scanners`): it costs seconds per repository and the
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
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import update

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


async def run_day(services, sandbox, now) -> tuple[float, Counter]:
    sandbox.context.requests.clear()
    began = time.perf_counter()
    await schedule.tick(services, now)
    await JobRunner(services, poll_seconds=0.05).run_until_idle(max_rounds=100_000)
    seconds = time.perf_counter() - began
    requests = Counter(r.host for r in sandbox.context.requests)
    requests["archives"] = sum(
        1 for r in sandbox.context.requests if "$format=zip" in r.query or "%24format=zip" in r.query
    )
    return seconds, requests


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
            repos = [r for p in sandbox.world.organizations[0].projects for r in p.repositories]
            for repo in random.Random(7).sample(repos, int(len(repos) * args.changed)):
                repo.files = {**repo.files, "CHANGELOG.md": "changed\n"}
                repo.head_commit = repo.tree_digest()
            day2 = await run_day(services, sandbox, now + timedelta(days=1))
            async with session_scope(services.sessions) as session:  # forget what was scanned: rescan all
                await session.exec(update(AzureRepository).values(scanned_commit="", scanned_versions={}))
            day3 = await run_day(services, sandbox, now + timedelta(days=2))
    report(args, day1, day2, day3)


def report(args, day1, day2, day3) -> None:
    print(
        f"Daily scans: {args.repositories} repositories, {args.changed:.0%} changed, "
        f"{args.latency_ms} ms per request, scanners: {args.scanners or 'all'}"
    )
    print(f"{'run':<34}{'seconds':>9}{'ADO requests':>14}{'archives':>10}")
    for label, (seconds, requests) in (
        ("day 1: first scan of everything", day1),
        ("day 2: incremental (90% unchanged)", day2),
        ("day 3: rescan everything", day3),
    ):
        ado = requests["dev"] + requests["vssps"] + requests["vsaex"]
        print(f"{label:<34}{seconds:>9.1f}{ado:>14}{requests['archives']:>10}")
    ado2 = day2[1]["dev"] + day2[1]["vssps"] + day2[1]["vsaex"]
    ado3 = day3[1]["dev"] + day3[1]["vssps"] + day3[1]["vsaex"]
    print(
        f"incremental vs rescan: {ado3 / max(ado2, 1):.1f}x fewer requests, "
        f"{day3[1]['archives'] / max(day2[1]['archives'], 1):.1f}x fewer archives, "
        f"{day3[0] / max(day2[0], 0.001):.1f}x less time"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repositories", type=int, default=1000)
    parser.add_argument("--changed", type=float, default=0.1)
    parser.add_argument("--latency-ms", type=int, default=5)
    parser.add_argument("--scanners", default="secrets,pipelines")
    asyncio.run(main(parser.parse_args()))
