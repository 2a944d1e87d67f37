"""A daily run over many repositories of which most did not change: requests and time, against scanning all.

    .venv/bin/python benchmarks/daily_scan.py [--repositories 1000] [--changed 0.1] [--latency-ms 5]
        [--scanners secrets,pipelines] [--emulator process|thread]

Day 1 scans everything (the baseline). Day 2: `--changed` of the repositories got a new commit; the run skips
the unchanged ones (same head commit and scanner versions: no archive download). For comparison, day 3
rescans everything (as a scanner without incremental runs would). Requests are counted on the emulated
Azure DevOps hosts, by kind, with the SQL statements each day ran.

Day 2 is printed beside its request floor (issue 17, item 4): what no run without webhooks can skip. The
connection's verification (measured on its own), one branch listing per repository (`refs?filter=heads/`),
posture's per-project lists, and for each changed repository its archive, its head commit's date (posture)
and the history scan's fetch of its new commits at git's own minimum (protocol v2: advertisement, ls-refs,
fetch: 3 requests). A change is a commit pushed on top of the head (the emulator's generated commits), so
history is not rewritten. What the run makes beyond the floor is printed by kind. SQL statements are
attributed to the job that ran them (the correlation id).

The emulator runs in its own process by default (benchmarks/harness.py); the changes are made over its admin
host. checkov is left out by default (`--scanners`): it costs seconds per repository and the comparison is
about what incremental runs save, not about one scanner's speed.
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

from sqlalchemy import event, select, update

from api.wiring import build_registry
from benchmarks.harness import Emulator, add_arguments, emulator
from benchmarks.list_repositories import CLIENT_ID, CLIENT_SECRET, TENANT_ID
from core.accounts.service import Principal, create_account
from core.connections import flows
from core.db import create_engine, session_scope
from core.db.columns import utcnow
from core.db.migrate import upgrade_engine
from core.discovery.models import AzureRepository
from core.jobs.models import Job
from core.jobs.runner import JobRunner
from core.observability.logs import CORRELATION_ID
from core.scans import schedule
from core.services import open_services
from core.settings import Settings
from sandbox.scenario import Membership, Organization, Project, Repository, World
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
                                generated_commits=1,  # day 2 pushes one more on some (`change_some`)
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
GIT_FETCH_REQUESTS = 3  # git's protocol v2 fetch: the advertisement, ls-refs, then fetch


def kind_of(record: dict) -> str:
    """What an Azure DevOps request was for, by its path (the emulator's request records)."""
    path, query = record["path"], record["query"]
    if "$format=zip" in query or "%24format=zip" in query:
        return "archive"
    if "/_git/" in path:
        return "history (git)"
    if path.endswith("/refs"):
        return "branch listing"
    if path.endswith("/commits"):
        return "posture commit read"
    if "/git/repositories/" in path:
        return "other repository read"
    return "verification, discovery, posture lists"


@dataclass
class Day:
    seconds: float
    requests: Counter  # by host, plus "archives"
    kinds: Counter = field(default_factory=Counter)
    statements: Counter = field(default_factory=Counter)  # by the job kind that ran them

    @property
    def ado(self) -> int:
        return sum(self.requests[h] for h in ADO_HOSTS)


async def run_day(services, azure: Emulator, now) -> Day:
    azure.clear_requests()
    by_correlation: Counter = Counter()

    def count(*_):
        by_correlation[CORRELATION_ID.get()] += 1  # a job's statements carry its id (core/jobs/runner.py)

    event.listen(services.engine.sync_engine, "before_cursor_execute", count)
    began = time.perf_counter()
    try:
        await schedule.tick(services, now)
        await JobRunner(services, poll_seconds=0.05).run_until_idle(max_rounds=100_000)
    finally:
        event.remove(services.engine.sync_engine, "before_cursor_execute", count)
    seconds = time.perf_counter() - began
    records = azure.records()
    requests = Counter(r["host"] for r in records)
    ado = [r for r in records if r["host"] in ADO_HOSTS]
    requests["archives"] = sum(1 for r in ado if kind_of(r) == "archive")
    return Day(
        seconds, requests, Counter(kind_of(r) for r in ado), await by_job_kind(services, by_correlation)
    )


async def by_job_kind(services, by_correlation: Counter) -> Counter:
    async with services.sessions() as session:
        ids = [c for c in by_correlation if c]
        kinds = (
            dict((await session.exec(select(Job.id, Job.kind).where(Job.id.in_(ids)))).all()) if ids else {}
        )
    grouped: Counter = Counter()
    for correlation, n in by_correlation.items():
        grouped[kinds.get(correlation, "the runner (claims, completions, polls)")] += n
    return grouped


async def verification_cost(services, azure: Emulator, principal, connection_id: str) -> tuple[int, int]:
    """What the daily job's verification and rediscovery cost on their own (requests; SQL statements)."""
    azure.clear_requests()
    statements = []

    def count(*_):
        statements.append(1)

    event.listen(services.engine.sync_engine, "before_cursor_execute", count)
    try:
        assert (await flows.connect(services, principal, connection_id, action="verify")).diagnosis.ok
    finally:
        event.remove(services.engine.sync_engine, "before_cursor_execute", count)
    hosts = azure.request_counts()["by_host"]
    return sum(hosts.get(h, 0) for h in ADO_HOSTS), len(statements)


def change_some(azure: Emulator, fraction: float) -> int:
    """A new commit on `fraction` of the repositories (over the admin host). Returns how many."""
    world = azure.world()
    repos = [r for p in world.organizations[0].projects for r in p.repositories]
    changed = int(len(repos) * fraction)
    for repo in random.Random(7).sample(repos, changed):
        # A pushed commit on top of the head (sandbox/gitrepos.py keeps every earlier commit id), not a rewrite.
        repo.generated_commits += 1
        repo.head_commit = ""  # recomputed from the new history when the world is validated
    azure.replace_world(world)
    return changed


async def main(args) -> None:
    url = f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/bench.db"
    engine = create_engine(url)
    await upgrade_engine(engine)
    await engine.dispose()
    world = build_world(args.repositories, args.latency_ms)
    with emulator(world, args.emulator) as azure:
        settings = Settings(
            database_url=url,
            entra_client_id=CLIENT_ID,
            entra_client_secret=CLIENT_SECRET,
            entra_authority_host=azure.authority_host,
            azure_devops_url=azure.devops_url,
            ca_bundle=azure.ca_path,
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
            day1 = await run_day(services, azure, now)
            verification = await verification_cost(services, azure, principal, started.connection.id)
            changed = change_some(azure, args.changed)
            day2 = await run_day(services, azure, now + timedelta(days=1))
            async with session_scope(services.sessions) as session:  # forget what was scanned: rescan all
                await session.exec(update(AzureRepository).values(scanned_commit="", scanned_versions={}))
            day3 = await run_day(services, azure, now + timedelta(days=2))
    report(args, day1, day2, day3)
    report_floor(day2, verification, args.repositories, changed, history=settings.history_enabled)


def report_floor(
    day2: Day, verification: tuple[int, int], repositories: int, changed: int, history: bool
) -> None:
    """Day 2 beside its request floor, where its requests went, and its SQL statements by job."""
    requests, statements = verification
    posture_lists = max(day2.kinds["verification, discovery, posture lists"] - requests, 0)
    fetches = changed * GIT_FETCH_REQUESTS if history else 0
    floor = requests + repositories + posture_lists + changed * 2 + fetches
    print(
        f"day 2 against its floor: {day2.ado} requests, floor {floor} (verification {requests}, {repositories} "
        f"branch listings, posture lists {posture_lists}, {changed} changed repositories: an archive and a head "
        f"date each, history fetches {fetches}): {day2.ado / max(floor, 1):.2f}x the floor (goal: within 1.10x)"
    )
    print("day 2 requests by kind: " + ", ".join(f"{k} {v}" for k, v in day2.kinds.most_common()))
    connection_job = day2.statements["scans.connection"]
    unchanged = max(repositories - changed, 1)
    beyond = max(connection_job - statements, 0)
    print(
        f"day 2 SQL statements: {sum(day2.statements.values())}; the connection job {connection_job}, of which "
        f"its verification {statements} and the rest {beyond} (listing, the {unchanged} unchanged repositories' "
        f"runs in bulk, the changed ones queued): {beyond / unchanged:.2f} per unchanged repository "
        "(goal: at most 3)"
    )
    print("day 2 SQL statements by job: " + ", ".join(f"{k} {v}" for k, v in day2.statements.most_common()))


def report(args, day1, day2, day3) -> None:
    print(
        f"Daily scans: {args.repositories} repositories, {args.changed:.0%} changed, "
        f"{args.latency_ms} ms per request, scanners: {args.scanners or 'all'}, emulator: {args.emulator}"
    )
    print(f"{'run':<34}{'seconds':>9}{'ADO requests':>14}{'archives':>10}{'SQL':>9}")
    for label, day in (
        ("day 1: first scan of everything", day1),
        ("day 2: incremental (90% unchanged)", day2),
        ("day 3: rescan everything", day3),
    ):
        total = sum(day.statements.values())
        print(f"{label:<34}{day.seconds:>9.1f}{day.ado:>14}{day.requests['archives']:>10}{total:>9}")
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
    add_arguments(parser)
    asyncio.run(main(parser.parse_args()))
