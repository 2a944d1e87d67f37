"""CI/CD posture of a large organization: one evaluation of every control on every project and repository.

    .venv/bin/python benchmarks/posture_evaluation.py [--projects 200] [--repos-per-project 10]
        [--latency-ms 20] [--database-url postgresql://postgres@127.0.0.1:5432/test]

Each project carries posture data (policies, definitions, service connections, variable groups, a secure
file, a self-hosted queue, environments). Prints the wall time, the Azure DevOps requests (in all and per
project), the results by status and the findings stored. Reads are concurrent per project, bounded by the
client's per-organization limit (PANOPTICA_AZURE_MAX_CONCURRENCY, 8) and 4 projects at a time.
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

from sqlmodel import func, select

from api.wiring import build_registry
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
from sandbox.server import Sandbox
from tests.conftest import reset_database
from tests.core.posture.worlds import payments_extras
from tests.signin import grant


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
    with Sandbox(world) as sandbox:
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
            sandbox.context.requests.clear()
            began = time.perf_counter()
            async with session_scope(services.sessions) as session:
                connection = await session.get(AzureConnection, started.connection.id)
                await queue_posture(session, connection, "MANUAL")
            await JobRunner(services).run_until_idle()
            seconds = time.perf_counter() - began
            requests = sandbox.context.count("dev")
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
    print(
        f"Posture: {args.projects} projects, {args.projects * args.repos_per_project} repositories, "
        f"{args.latency_ms} ms per request"
    )
    print(
        f"  time {seconds:.2f} s, {requests} Azure DevOps requests ({requests / args.projects:.1f} per project)"
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
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
