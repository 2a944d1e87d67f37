"""Distributed workers for real: `panoptica worker` and `panoptica serve` processes on PostgreSQL, the emulator in
this process. The tests get a database of their own on the CI machine's PostgreSQL server (`panoptica_workers_<pid>`:
one per test process, so two test runs on one server never drop each other's), so they run the same in the SQLite
pass and the PostgreSQL pass of `make test`.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from pydantic import SecretStr

from core.db import create_engine, session_factory
from core.db.migrate import upgrade_engine
from core.settings import Settings
from tests.worlds import CLIENT_ID, CLIENT_SECRET

DATABASE = f"panoptica_workers_{os.getpid()}"


def server_url() -> str:
    for name in ("PANOPTICA_TEST_POSTGRES_URL", "PANOPTICA_TEST_DATABASE_URL"):
        value = os.environ.get(name, "")
        if value.startswith("postgresql"):
            return value
    return "postgresql://postgres@127.0.0.1:5432/test"


@pytest.fixture
async def pg_url():
    """A fresh database for one test: dropped (with any connection to it) and created again."""
    base = server_url()
    admin = base.replace("postgresql+asyncpg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        connection.execute(f"CREATE DATABASE {DATABASE}")
    url = base.rsplit("/", 1)[0] + f"/{DATABASE}"
    engine = create_engine(url)
    await upgrade_engine(engine)
    await engine.dispose()
    yield url
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")


@pytest.fixture
def worker_settings(sandbox, world, pg_url, tmp_path) -> Settings:
    world.slack.channels = {"C1": {"name": "security", "is_member": True}}
    return Settings(
        database_url=pg_url,
        entra_client_id=CLIENT_ID,
        entra_client_secret=CLIENT_SECRET,
        entra_authority_host=sandbox.authority_host,
        azure_devops_url=sandbox.devops_url,
        ca_bundle=sandbox.ca_path,
        scanners="pipelines",
        posture_enabled=False,
        secret_hash_key=SecretStr("workers-test-key-0123456789abcdef"),
        key_directory=str(tmp_path),
        slack_api_url=sandbox.slack_api_url,
        slack_bot_token=SecretStr(world.slack.bot_token),
        slack_signing_secret=SecretStr("workers-signing-secret"),
        scan_schedule="0 0 * * *",
        digest_time="00:00",
        worker_stalled_seconds=3,
        periodic_seconds=1,
        azure_retry_budget_seconds=5,
    )


def environment(settings: Settings) -> dict[str, str]:
    """The settings as a process's environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PANOPTICA_", "SLACK_"))}
    for name, value in settings.model_dump().items():
        if value is None:
            continue
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        env[f"PANOPTICA_{name.upper()}"] = str(value)
    return env


class Processes:
    def __init__(self, settings: Settings, logs: Path) -> None:
        self.settings, self.logs, self.running = settings, logs, []

    def start(self, *args: str, **overrides) -> subprocess.Popen:
        settings = self.settings.model_copy(update=overrides)
        log = open(self.logs / f"{args[0]}-{len(self.running)}.log", "wb")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen(
            [sys.executable, "-c", "import sys; from api.cli import main; sys.exit(main())", *args],
            env=environment(settings),
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=Path(__file__).resolve().parents[2],
        )
        self.running.append(process)
        return process

    def kill(self, process: subprocess.Popen) -> None:
        process.send_signal(signal.SIGKILL)
        process.wait()

    def stop_all(self) -> None:
        for process in self.running:
            if process.poll() is None:
                process.terminate()
        for process in self.running:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()

    def output(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-3000:] for p in sorted(self.logs.glob("*.log")))


@pytest.fixture
def processes(worker_settings, tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    running = Processes(worker_settings, logs)
    yield running
    running.stop_all()


@pytest.fixture
def unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
async def pg_sessions(pg_url):
    engine = create_engine(pg_url)
    yield session_factory(engine)
    await engine.dispose()


async def wait_for(condition, *, timeout: float = 240, every: float = 0.25, what: str = "", processes=None):
    """Poll `condition()` (async) until true. The timeout only guards against a hang; nothing is timed."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if await condition():
            return
        await asyncio.sleep(every)
    output = processes.output() if processes else ""
    raise AssertionError(f"timed out waiting for {what}\n{output}")
