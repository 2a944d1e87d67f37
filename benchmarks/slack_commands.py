"""100 concurrent slash commands: time to acknowledgement (Slack's limit is 3 s), p50 and p99.

    .venv/bin/python benchmarks/slack_commands.py [--commands 100] [--database-url ...] [--emulator process]

Signed requests to our application served by uvicorn on loopback, half reads answered in the
acknowledgement (`/panoptica status`, `repos`) and half writes stored as durable jobs before it
(`/panoptica subscribe`, `connect azure`). The emulator (Slack, Azure) runs in its own process
(benchmarks/harness.py). Prints p50/p99 beside the goal (p99 under 300 ms) and Slack's limit, the SQL
statements per command (the floor: a read's own queries, a write's one INSERT), the API process's CPU
time per command and, on SQLite, the calls handed to aiosqlite's connection threads per command (each a
thread wake-up and a return to the event loop; a count, unlike the times, that does not move with the
machine's noise).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
import uvicorn
from pydantic import SecretStr
from slack_sdk.signature import SignatureVerifier
from sqlalchemy import event

from api.app import create_app
from benchmarks.harness import add_arguments, emulator
from core.accounts.service import create_account
from core.db import create_engine, session_factory, session_scope
from core.db.migrate import upgrade_engine
from core.settings import Settings
from core.slack.models import SlackWorkspace
from tests.worlds import CLIENT_ID, CLIENT_SECRET, base_world

SECRET = "bench-signing-secret"
TEXTS = ("status", "repos contoso", "subscribe", "connect azure contoso")


def signed(text: str, n: int) -> tuple[str, dict]:
    body = urlencode(
        {
            "command": "/panoptica",
            "text": text,
            "team_id": "T0DEMO",
            "user_id": "U0ADMIN",
            "channel_id": "C0SECURITY",
            "response_url": "",
            "trigger_id": f"bench-{n}",
        }
    )
    ts = str(int(time.time()))
    return body, {
        "content-type": "application/x-www-form-urlencoded",
        "x-slack-request-timestamp": ts,
        "x-slack-signature": SignatureVerifier(SECRET).generate_signature(timestamp=ts, body=body),
    }


async def prepare(url: str) -> None:
    engine = create_engine(url)
    await upgrade_engine(engine)
    async with session_scope(session_factory(engine)) as session:
        account = await create_account(session, "Bench")
        session.add(SlackWorkspace(team_id="T0DEMO", account_id=account.id, linked_by="U0ADMIN"))
    await engine.dispose()


class HandOffs:
    """Counts the calls SQLAlchemy hands to aiosqlite's connection threads (each a wake-up of that thread and
    a return to the event loop): the queue aiosqlite puts every call on is wrapped at checkout."""

    def __init__(self) -> None:
        self.count = 0

    def watch(self, dbapi_connection, _record, _proxy) -> None:
        driver = getattr(dbapi_connection, "driver_connection", None)
        queue = getattr(driver, "_tx", None)
        if queue is None or isinstance(queue, HandOffs.Queue):
            return
        driver._tx = HandOffs.Queue(queue, self)  # type: ignore[union-attr]

    class Queue:
        def __init__(self, queue, counter: HandOffs) -> None:
            self.queue, self.counter = queue, counter

        def put_nowait(self, item) -> None:
            self.counter.count += 1
            self.queue.put_nowait(item)

        def put(self, item, *args, **kwargs) -> None:
            self.counter.count += 1
            self.queue.put(item, *args, **kwargs)


def serve(app) -> tuple[uvicorn.Server, int]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True).start()
    while not server.started:
        time.sleep(0.01)
    return server, sock.getsockname()[1]


async def fire(port: int, count: int) -> list[float]:
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}", limits=httpx.Limits(max_connections=count)
    ) as http:

        async def one(n: int) -> float:
            body, headers = signed(TEXTS[n % len(TEXTS)], n)
            began = time.perf_counter()
            response = await http.post("/slack/events", content=body, headers=headers)
            elapsed = time.perf_counter() - began
            if response.status_code != 200:
                raise SystemExit(f"command {n}: HTTP {response.status_code} {response.text[:200]}")
            return elapsed

        return list(await asyncio.gather(*(one(n) for n in range(count))))


def fire_in_process(port: int, count: int) -> list[float]:
    return asyncio.run(fire(port, count))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commands", type=int, default=100)
    parser.add_argument("--database-url", default=None)
    add_arguments(parser)
    args = parser.parse_args()
    url = args.database_url or f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/bench.db"
    asyncio.run(prepare(url))
    with emulator(base_world(), args.emulator) as sandbox:
        settings = Settings(
            database_url=url,
            entra_client_id=CLIENT_ID,
            entra_client_secret=CLIENT_SECRET,
            entra_authority_host=sandbox.authority_host,
            azure_devops_url=sandbox.devops_url,
            ca_bundle=sandbox.ca_path,
            slack_api_url=sandbox.slack_api_url,
            slack_bot_token=SecretStr("xoxb-sandbox-bot-token"),
            slack_signing_secret=SecretStr(SECRET),
        )
        app = create_app(settings, run_jobs=False)
        server, port = serve(app)
        statements: list[str] = []
        hand_offs = HandOffs()
        try:
            # The load comes from another process: this one's CPU time is then the API's own.
            with multiprocessing.get_context("spawn").Pool(1) as load:
                load.apply(fire_in_process, (port, 5))  # warm up
                engine = app.state.services.engine.sync_engine
                event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
                event.listen(engine, "checkout", hand_offs.watch)
                cpu = time.process_time()
                times = sorted(load.apply(fire_in_process, (port, args.commands)))
                cpu = time.process_time() - cpu
        finally:
            server.should_exit = True
    p50, p99 = statistics.median(times), times[max(0, int(len(times) * 0.99) - 1)]
    print(f"{args.commands} concurrent slash commands ({', '.join(TEXTS)}), acknowledged over loopback")
    print(
        f"p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, max {times[-1] * 1000:.0f} ms  "
        f"(goal p99 < 300 ms: {'met' if p99 < 0.3 else 'MISSED'}; Slack's limit: 3000 ms)"
    )
    # On PostgreSQL the job's INSERT is a CTE of the one statement that also defers it to procrastinate.
    inserts = sum(1 for s in statements if "INSERT INTO" in s.upper())
    print(
        f"SQL statements per command {len(statements) / args.commands:.2f} (INSERTs {inserts}, one per write "
        f"command); API process CPU {cpu / args.commands * 1000:.2f} ms per command (the load is sent "
        "from another process)"
    )
    if url.startswith("sqlite"):
        print(f"aiosqlite thread hand-offs per command {hand_offs.count / args.commands:.2f}")


if __name__ == "__main__":
    main()
