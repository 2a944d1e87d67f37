"""Scans of 1,000 emulated repositories by 1, 2 and 4 `panoptica worker` processes on PostgreSQL.

    .venv/bin/python benchmarks/worker_scaling.py [--repositories 1000] [--workers 1,2,4] [--concurrency 2]
        [--scanners secrets,pipelines] [--database-url postgresql://postgres@127.0.0.1:5432/panoptica_bench]
        [--emulator process]

For each worker count: a fresh database and a fresh world (replaced over the emulator's admin host), the
connection's daily run (queued by the workers' periodic tick), then the time until every repository's scan
succeeded. Prints scans per second and the ratio to one worker, beside the ideal (linear scaling from one
worker's measured rate, bounded by the machine's cores: the emulator and PostgreSQL share them) and the Azure
DevOps requests per scan. The emulator runs in its own process by default (benchmarks/harness.py) and every
worker is a separate process, so the figures include real HTTPS, archive downloads and the scanners. No
peer: no free tool runs these scans.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psycopg
from pydantic import SecretStr
from sqlmodel import func, select

from benchmarks.harness import add_arguments, emulator
from core.db import create_engine, session_factory
from core.db.migrate import upgrade_engine
from core.scans.models import ScanRun
from core.settings import Settings
from tests.support.workers import connect, plant_organization
from tests.workers.conftest import Processes
from tests.worlds import CLIENT_ID, CLIENT_SECRET, base_world


def fresh_database(url: str) -> None:
    server, name = url.rsplit("/", 1)
    with psycopg.connect(f"{server}/postgres".replace("+asyncpg", ""), autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        connection.execute(f"CREATE DATABASE {name}")


async def one_round(args, sandbox, workers: int) -> float:
    fresh_database(args.database_url)
    engine = create_engine(args.database_url)
    await upgrade_engine(engine)
    sessions = session_factory(engine)
    settings = Settings(
        database_url=args.database_url,
        entra_client_id=CLIENT_ID,
        entra_client_secret=CLIENT_SECRET,
        entra_authority_host=sandbox.authority_host,
        azure_devops_url=sandbox.devops_url,
        ca_bundle=sandbox.ca_path,
        scanners=args.scanners,
        posture_enabled=False,
        secret_hash_key=SecretStr("benchmark-key-0123456789abcdef"),
        key_directory=tempfile.mkdtemp(),
        scan_concurrency=args.concurrency,
        periodic_seconds=1,
    )
    await connect(settings)
    sandbox.clear_requests()  # what the workers' daily run asks for, not the customer's Connect
    logs = Path(tempfile.mkdtemp())
    processes = Processes(settings, logs)
    began = time.perf_counter()
    for _ in range(workers):
        processes.start("worker", "--concurrency", str(args.concurrency))
    try:
        while True:
            async with sessions() as session:
                done = (
                    await session.exec(
                        select(func.count()).select_from(ScanRun).where(ScanRun.status == "SUCCEEDED")
                    )
                ).one()
            if done >= args.repositories:
                return time.perf_counter() - began
            await asyncio.sleep(0.2)
    finally:
        processes.stop_all()
        await engine.dispose()


async def run(args) -> None:
    world = base_world()
    plant_organization(world, args.repositories)
    initial = world.model_copy(deep=True)  # the thread emulator changes the world it is given
    cores = os.cpu_count() or 1
    with emulator(world, args.emulator) as sandbox:
        rows = []
        for workers in [int(w) for w in args.workers.split(",")]:
            sandbox.replace_world(initial)
            seconds = await one_round(args, sandbox, workers)
            rows.append((workers, seconds, sandbox.devops_requests()))
    base = args.repositories / rows[0][1]
    print(
        f"Scans of {args.repositories} repositories (scanners: {args.scanners}; {args.concurrency} scans at once "
        f"per worker; {cores} CPU cores; emulator in a {args.emulator})"
    )
    print(f"{'workers':>8}{'seconds':>10}{'scans/s':>10}{'ratio':>8}{'ideal':>8}{'ADO req./scan':>15}")
    for workers, seconds, requests in rows:
        rate = args.repositories / seconds
        ideal = min(workers, cores) / min(rows[0][0], cores)
        print(
            f"{workers:>8}{seconds:>10.1f}{rate:>10.1f}{rate / base:>8.2f}{ideal:>8.2f}"
            f"{requests / args.repositories:>15.2f}"
        )
    print("ideal: one worker's rate times the workers, up to the cores; no peer (none runs here)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repositories", type=int, default=1000)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--scanners", default="secrets,pipelines")
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/panoptica_bench")
    add_arguments(parser)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
