"""What benchmarks share: the emulator in its own process (by default), its request counts, a round trip.

    with emulator(world, args.emulator) as azure:   # "process" (default) or "thread"
        settings = Settings(entra_authority_host=azure.authority_host, azure_devops_url=azure.devops_url,
                            ca_bundle=azure.ca_path, ...)
        azure.clear_requests(); ...; azure.request_counts()["by_host"]

Azure DevOps, Entra ID and Slack do not share our CPU or our GIL, so by default the emulator runs in a child
process (`python -m benchmarks.harness serve`), started from the world the benchmark built (handed over as
JSON in a private temporary file) and stopped when the benchmark ends or dies (the child exits when its
stdin closes). "thread" keeps the old in-process emulator, for comparison. Either way the benchmark talks to
it only over HTTPS, and reads request counts from its admin host (`/api/requests`). A benchmark that changes
the world mid-run reads and replaces it there too (`world()`, `replace_world()`: `/api/world`); per-request
records, Slack's call log and the git store's counters come from `/api/requests?detail=records,slack`.

Page benchmarks (no emulator) share a floor: `StatementLog` records the SQL one request ran, `replay_ms`
replays it alone on the driver (the database's share of the request), `percentiles` gives p50 and p99.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
from sqlalchemy import event

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sandbox.scenario import World  # noqa: E402

MODES = ("process", "thread")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--emulator",
        choices=MODES,
        default="process",
        help="run the emulator in its own process (default) or in a thread of the benchmark's process",
    )


class Emulator:
    """The running emulator as a benchmark sees it: base URLs, its CA, its request log."""

    def __init__(self, urls: dict[str, str], ca_path: str, mode: str) -> None:
        self.urls, self.ca_path, self.mode = urls, Path(ca_path), mode

    @property
    def authority_host(self) -> str:
        return self.urls["login"]

    @property
    def devops_url(self) -> str:
        return self.urls["dev"]

    @property
    def slack_api_url(self) -> str:
        return self.urls["slack"] + "/api/"

    @property
    def osv_url(self) -> str:
        return self.urls["osv"]

    def _admin(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.urls["admin"],
            verify=ssl.create_default_context(cafile=str(self.ca_path)),
            timeout=60,
        )

    def request_counts(self) -> dict:
        """{"total", "by_host", "by_status", ...} since the last clear (sandbox/admin.py)."""
        with self._admin() as admin:
            return admin.get("/api/requests").raise_for_status().json()

    def clear_requests(self) -> None:
        with self._admin() as admin:
            admin.delete("/api/requests").raise_for_status()

    def devops_requests(self) -> int:
        hosts = self.request_counts()["by_host"]
        return sum(hosts.get(h, 0) for h in ("dev", "vssps", "vsaex"))

    def records(self) -> list[dict]:
        """Every request since the last clear: {"host", "method", "path", "query", "status"}."""
        with self._admin() as admin:
            return (
                admin.get("/api/requests", params={"detail": "records"}).raise_for_status().json()["records"]
            )

    def slack_calls(self, method: str | None = None) -> list[dict]:
        """Slack calls since the last clear: {"method", "channel", "at", "ok", "error"} (no bodies)."""
        with self._admin() as admin:
            log = (
                admin.get("/api/requests", params={"detail": "slack"}).raise_for_status().json()["slack_log"]
            )
        return [c for c in log if method is None or c["method"] == method]

    def git_counters(self) -> dict:
        """The git store's {"bytes_served", "upload_packs", "fetches"} since the emulator started."""
        with self._admin() as admin:
            return admin.get("/api/requests").raise_for_status().json()["git"]

    def world(self) -> World:
        """The live world (secrets redacted; `replace_world` keeps their current values)."""
        with self._admin() as admin:
            return World.model_validate(admin.get("/api/world").raise_for_status().json())

    def replace_world(self, world: World) -> None:
        with self._admin() as admin:
            admin.put("/api/world", json=world.model_dump(mode="json")).raise_for_status()


@contextlib.contextmanager
def emulator(world: World, mode: str = "process") -> Iterator[Emulator]:
    if mode == "thread":
        from sandbox.server import Sandbox

        with Sandbox(world) as sandbox:
            yield Emulator(dict(sandbox.urls), str(sandbox.ca_path), mode)
        return
    if mode != "process":
        raise ValueError(f"emulator mode must be one of {MODES}")
    with tempfile.TemporaryDirectory(prefix="panoptica-bench-") as scratch:
        world_path, info_path = Path(scratch) / "world.json", Path(scratch) / "emulator.json"
        descriptor = os.open(world_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as out:
            json.dump(world.model_dump(mode="json"), out)
        child = subprocess.Popen(  # noqa: S603 (our own interpreter and module, paths we made)
            [sys.executable, "-m", "benchmarks.harness", "serve", str(world_path), str(info_path)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
        )
        try:
            info = wait_for(info_path, child)
            yield Emulator(info["urls"], info["ca_path"], mode)
        finally:
            child.stdin.close()  # the child's signal to stop
            try:
                child.wait(timeout=20)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()


def wait_for(info_path: Path, child: subprocess.Popen, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while not info_path.exists():
        if child.poll() is not None:
            raise RuntimeError(f"the emulator process exited with {child.returncode}")
        if time.monotonic() > deadline:
            raise RuntimeError("the emulator process did not start")
        time.sleep(0.02)
    return json.loads(info_path.read_text(encoding="utf-8"))


def serve(world_path: str, info_path: str) -> None:
    """The child: load the world, start the emulator, say where it is, run until stdin closes."""
    from sandbox.server import Sandbox

    world = World.model_validate(json.loads(Path(world_path).read_text(encoding="utf-8")))
    with Sandbox(world) as sandbox:
        partial = Path(info_path + ".partial")
        partial.write_text(
            json.dumps({"urls": sandbox.urls, "ca_path": str(sandbox.ca_path)}), encoding="utf-8"
        )
        partial.rename(info_path)  # appears whole
        sys.stdin.read()  # returns when the parent closes the pipe or dies


def round_trip_seconds(azure: Emulator, organization: str, samples: int = 20) -> float:
    """The median time of one small anonymous request to an organization (its latency included): the unit
    of a benchmark's round-trip floor."""
    times = []
    with httpx.Client(verify=ssl.create_default_context(cafile=str(azure.ca_path)), timeout=30) as client:
        url = f"{azure.devops_url}/{organization}/_apis/connectionData"
        headers = {"X-TFS-FedAuthRedirect": "Suppress"}
        client.get(url, headers=headers)  # connect and handshake first, as a kept-alive client does
        for _ in range(samples):
            began = time.perf_counter()
            client.get(url, headers=headers)
            times.append(time.perf_counter() - began)
    return statistics.median(times)


class StatementLog:
    """The SQL statements an engine runs (text and driver parameters): what one request asked the database,
    so that a page benchmark can replay them alone as its floor (`replay_ms`)."""

    def __init__(self, engine) -> None:
        self.entries: list[tuple[str, object]] = []
        self.paused = False
        event.listen(engine.sync_engine, "before_cursor_execute", self._record)

    def _record(self, conn, cursor, statement, parameters, context, executemany) -> None:
        if not self.paused:
            self.entries.append((statement, parameters))

    def clear(self) -> None:
        self.entries.clear()

    def __len__(self) -> int:
        return len(self.entries)


async def replay_ms(
    engine, log: StatementLog, statements: list[tuple[str, object]], runs: int
) -> list[float]:
    """Milliseconds of the same statements replayed `runs` times on the engine's driver, one connection per
    run as a request has, rows fetched, nothing committed: the database's share of a request, its floor."""
    timings = []
    log.paused = True
    try:
        for _ in range(runs):
            began = time.perf_counter()
            async with engine.connect() as connection:
                for statement, parameters in statements:
                    result = await connection.exec_driver_sql(statement, parameters)
                    if result.returns_rows:
                        result.fetchall()
                await connection.rollback()
            timings.append((time.perf_counter() - began) * 1000)
    finally:
        log.paused = False
    return timings


def percentiles(timings: list[float]) -> tuple[float, float]:
    """p50 and p99 of a list of timings."""
    p99 = statistics.quantiles(timings, n=100)[98] if len(timings) > 1 else timings[0]
    return statistics.median(timings), p99


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "serve":
        serve(sys.argv[2], sys.argv[3])
    else:
        raise SystemExit("usage: python -m benchmarks.harness serve WORLD_JSON INFO_JSON")
