"""CI/CD posture of a large organization: one evaluation of every control on every project and repository.

    .venv/bin/python benchmarks/posture_evaluation.py [--projects 200] [--repos-per-project 10]
        [--latency-ms 20] [--database-url postgresql://postgres@127.0.0.1:5432/test] [--emulator process]

Each project carries posture data (policies, definitions, service connections, variable groups, a secure
file, a self-hosted queue, environments). The emulator runs in its own process (benchmarks/harness.py) and
adds the latency to every Azure DevOps request. Prints the wall time, the Azure DevOps requests (in all and
per project), the results by status and the findings stored. Reads are concurrent per project, bounded by the
client's per-organization limit (PANOPTICA_AZURE_MAX_CONCURRENCY, 8) and 4 projects at a time.

Beside them, the floor, measured from the emulator's request log: every distinct resource read once
(distinct paths with their query minus continuation tokens: no page, no repeat), and its time at the
client's concurrency: max(2, ceil(floor / 8)) round trips (the per-resource reads need the lists first; a
round trip is the median of small requests, latency included). No free tool evaluates Azure DevOps posture
here (Microsoft's ADO Security Scanner is PowerShell against the real service): no peer is run.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlmodel import func, select

from api.wiring import build_registry
from benchmarks.harness import add_arguments, emulator, round_trip_seconds
from benchmarks.list_repositories import ADMIN, CLIENT_ID, CLIENT_SECRET, ORGANIZATION, build_world
from core.accounts.service import Principal, create_account
from core.connections import flows
from core.connections.models import AzureConnection
from core.db import create_engine, session_scope
from core.db.migrate import upgrade_engine
from core.findings.models import Finding
from core.jobs.runner import JobRunner
from core.posture.evaluate import queue_posture
from core.posture.models import PostureResult
from core.services import open_services
from core.settings import Settings
from tests.conftest import reset_database
from tests.core.posture.worlds import payments_extras
from tests.signin import grant


def without_continuation(query: str) -> str:
    """The query of a request minus its continuation token: a page of a list is the same resource."""
    kept = [p for p in query.split("&") if p and not p.lower().startswith(("continuationtoken=", "$skip="))]
    return "&".join(sorted(kept))


def plant(world) -> None:
    for project in world.organization(ORGANIZATION).projects:
        first, second = project.repositories[0], project.repositories[1 % len(project.repositories)]
        project.extras = payments_extras(first.id, second.id)


async def run(args) -> None:
    url = args.database_url or f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/bench.db"
    engine = create_engine(url)
    await reset_database(engine)
    await upgrade_engine(engine)
    await engine.dispose()
    world = build_world(args.projects, args.repos_per_project, args.latency_ms)
    plant(world)
    with emulator(world, args.emulator) as sandbox:
        settings = Settings(
            database_url=url,
            entra_client_id=CLIENT_ID,
            entra_client_secret=CLIENT_SECRET,
            entra_authority_host=sandbox.authority_host,
            azure_devops_url=sandbox.devops_url,
            ca_bundle=sandbox.ca_path,
            key_directory=tempfile.mkdtemp(),
        )
        async with open_services(settings, jobs=build_registry()) as services:
            async with session_scope(services.sessions) as session:
                account = await create_account(session, "Bench")
            principal = Principal(account.id, "bench@example.test", "")
            started = await flows.start(services, principal, ORGANIZATION)
            await grant(services, started, ADMIN)
            if not (await flows.connect(services, principal, started.connection.id)).diagnosis.ok:
                raise SystemExit("connect failed")
            sandbox.clear_requests()
            began = time.perf_counter()
            async with session_scope(services.sessions) as session:
                connection = await session.get(AzureConnection, started.connection.id)
                await queue_posture(session, connection, "MANUAL")
            await JobRunner(services).run_until_idle()
            seconds = time.perf_counter() - began
            records = [r for r in sandbox.records() if r["host"] in ("dev", "vssps", "vsaex")]
            requests = len(records)
            floor = len({(r["path"], without_continuation(r["query"])) for r in records})
            round_trip = round_trip_seconds(sandbox, ORGANIZATION)
            async with services.sessions() as session:
                statuses = Counter(
                    dict(
                        (
                            await session.exec(
                                select(PostureResult.status, func.count()).group_by(PostureResult.status)
                            )
                        ).all()
                    )
                )
                findings = (await session.exec(select(func.count()).select_from(Finding))).one()
    concurrency = Settings().azure_max_concurrency
    floor_seconds = max(2, math.ceil(floor / concurrency)) * round_trip
    print(
        f"Posture: {args.projects} projects, {args.projects * args.repos_per_project} repositories, "
        f"{args.latency_ms} ms per request, emulator in a {args.emulator}"
    )
    print(f"  {'':8}{'seconds':>9}{'x floor':>9}{'ADO requests':>14}{'per project':>13}{'x floor':>9}")
    print(
        f"  {'floor':8}{floor_seconds:>9.2f}{1.0:>9.1f}{floor:>14}{floor / args.projects:>13.1f}{1.0:>9.1f}"
    )
    print(
        f"  {'ours':8}{seconds:>9.2f}{seconds / floor_seconds:>9.1f}{requests:>14}"
        f"{requests / args.projects:>13.1f}{requests / max(floor, 1):>9.2f}"
    )
    print(
        f"  floor: each distinct resource read once; {floor} requests at {concurrency} in flight, "
        f"{round_trip * 1000:.1f} ms a round trip; no peer (none runs here)"
    )
    print(f"  results {dict(statuses)}, findings stored {findings}")
    print("  requests per project: 8 lists + one permission read per protected resource + one check read per")
    print("  production environment + one commit read per repository (the inactivity control)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=200)
    parser.add_argument("--repos-per-project", type=int, default=10)
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--database-url", default=None)
    add_arguments(parser)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
