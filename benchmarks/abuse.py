"""Abuse resistance: what a well-behaved client gets while another account attacks, and what 100 aliased scan
mutations cost Azure DevOps.

    .venv/bin/python benchmarks/abuse.py [--seconds 10] [--clients 4] [--attackers 4] [--repositories 1000]
        [--database-url postgresql://postgres@127.0.0.1:5432/panoptica_bench] [--emulator process]

Part 1 starts one `panoptica serve` process (a temporary SQLite file unless --database-url names a PostgreSQL
database, which is emptied) and drives it over loopback HTTP: `--clients` well-behaved clients page through
repositories and findings for `--seconds`, once alone and once while `--attackers` clients of another account
send alias-amplified requests (230 aliased 100-repository pages, 100 aliased scanConnection mutations,
fragments spreading each other 200 levels deep) and malformed ones (non-UTF-8, JSON nested 1,000 deep, a
5,000-digit integer, a 2 MB body, not JSON). It prints the well-behaved requests per second of both runs and
their ratio, the attack's requests per second and its answers by status (never a 5xx). Beside the
well-behaved figure, its reference: the same clients alone (1.00 means the attack costs them nothing).

Part 2, the API in this process against the emulator (in its own process by default, benchmarks/harness.py):
one scanConnection mutation, then one request of 100 aliased ones (the root-mutation limit lifted so that it
executes), each followed by every job it caused and started from the same state (after a first scan, with
the scan marks reset); it prints the Azure DevOps requests of the 100 beside the floor, a single mutation's
(they must be equal), and what the default limits answer to the 100. No peer: no free
tool serves this API.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
from sqlalchemy import insert, update

from api.app import create_app
from benchmarks.harness import add_arguments, emulator
from core.accounts import service as accounts
from core.connections.models import AzureConnection, ConnectionStatus
from core.db import create_engine, session_factory, session_scope
from core.db.columns import new_id, utcnow
from core.db.migrate import upgrade_engine
from core.discovery.models import AzureRepository
from core.settings import Settings
from tests.conftest import reset_database
from tests.signin import connect_in_browser
from tests.workers.conftest import Processes
from tests.worlds import CLIENT_ID, CLIENT_SECRET, base_world

AZURE_DEVOPS_HOSTS = ("dev", "vssps", "vsaex")
WELL_BEHAVED = [
    """query($after: String) { repositories(first: 50, after: $after) { totalCount
      pageInfo { endCursor } edges { node { id name project scanStatus findingCounts { critical high } } } } }""",
    """{ findings(first: 50) { totalCount edges { node { id ruleId severity path line } } } }""",
    """{ connections { id organization status checks { code status } } }""",
]
SCAN_CONNECTION = "scanConnection(id: $id) { __typename ... on ScanQueued { jobId alreadyQueued } }"


def aliased_scans(count: int) -> str:
    return "mutation($id: ID!) { " + " ".join(f"a{i}: {SCAN_CONNECTION}" for i in range(count)) + " }"


def fragment_bomb(levels: int) -> str:
    fragments = ["fragment F0 on Query { repositories { totalCount } }"] + [
        f"fragment F{i} on Query {{ ...F{i - 1} ...F{i - 1} }}" for i in range(1, levels)
    ]
    return f"query {{ ...F{levels - 1} }} " + " ".join(fragments)


def attacks(connection_id: str) -> list[tuple[str, dict]]:
    """(name, httpx request arguments) of each attack request."""
    json_headers = {"content-type": "application/json"}
    pages = (
        "{ "
        + " ".join(f"r{i}: repositories(first: 100) {{ edges {{ node {{ id }} }} }}" for i in range(230))
        + " }"
    )
    return [
        ("230 aliased pages", {"json": {"query": pages}}),
        ("100 aliased scans", {"json": {"query": aliased_scans(100), "variables": {"id": connection_id}}}),
        ("fragment bomb", {"json": {"query": fragment_bomb(200)}}),
        ("non-UTF-8", {"content": b'{"query": "\xff\xfe"}', "headers": json_headers}),
        ("JSON 1,000 deep", {"content": b"[" * 1000 + b"]" * 1000, "headers": json_headers}),
        (
            "5,000-digit integer",
            {
                "content": b'{"query": "{ __typename }", "variables": {"a": ' + b"9" * 5000 + b"}}",
                "headers": json_headers,
            },
        ),
        (
            "2 MB body",
            {"content": b'{"query": "' + b" " * 2_000_000 + b'{ __typename }"}', "headers": json_headers},
        ),
        ("not JSON", {"content": b"{{{", "headers": json_headers}),
    ]


async def seed(url: str, repositories: int) -> tuple[str, str, str]:
    """A victim account with repositories, an attacker account with a connection of its own."""
    engine = create_engine(url)
    await reset_database(engine)
    await upgrade_engine(engine)
    async with session_scope(session_factory(engine)) as session:
        good = await accounts.create_account(session, "Well-behaved")
        good_token = (await accounts.issue_token(session, good.id, "good@example.test")).token
        bad = await accounts.create_account(session, "Attacker")
        bad_token = (await accounts.issue_token(session, bad.id, "bad@example.test")).token
        connections = {}
        for account, organization in ((good, "victim"), (bad, "attacker")):
            connection = AzureConnection(
                account_id=account.id,
                organization=organization,
                tenant_id="t",
                created_by="bench",
                status=ConnectionStatus.CONNECTED,
            )
            session.add(connection)
            await session.flush()
            connections[organization] = connection.id
        now = utcnow()
        rows = [
            {
                "id": new_id(),
                "account_id": good.id,
                "connection_id": connections["victim"],
                "ado_id": new_id(),
                "organization": "victim",
                "project_ado_id": f"p{i % 20}",
                "project_name": f"project-{i % 20:02d}",
                "name": f"repo-{i:05d}",
                "default_branch": "refs/heads/main",
                "discovered_at": now,
                "updated_at": now,
            }
            for i in range(repositories)
        ]
        for start in range(0, len(rows), 5000):
            await session.exec(insert(AzureRepository), params=rows[start : start + 5000])
    await engine.dispose()
    return good_token, bad_token, connections["attacker"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def wait_ready(base: str) -> None:
    async with httpx.AsyncClient() as http:
        for _ in range(300):
            try:
                if (await http.get(f"{base}/readyz")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
    raise SystemExit("the API process did not become ready")


async def drive(base: str, good_token: str, clients: int, seconds: float, attack=None) -> dict:
    """Well-behaved clients (and optionally attackers) for `seconds`; counts of what each got."""
    stats = {"good": 0, "good_errors": 0, "attack": Counter(), "attack_5xx": 0}
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=clients + (attack[0] if attack else 0) + 4)
    async with httpx.AsyncClient(base_url=base, timeout=120, limits=limits) as http:

        async def good(n: int) -> None:
            headers = {"Authorization": f"Bearer {good_token}"}
            i = n
            while time.perf_counter() < deadline:
                query = WELL_BEHAVED[i % len(WELL_BEHAVED)]
                i += 1
                try:
                    response = await http.post("/graphql", json={"query": query}, headers=headers)
                    ok = response.status_code == 200 and not response.json().get("errors")
                except httpx.HTTPError:
                    ok = False
                stats["good"] += ok
                stats["good_errors"] += not ok

        async def attacker(n: int, token: str, requests: list[tuple[str, dict]]) -> None:
            i = n
            while time.perf_counter() < deadline:
                name, kwargs = requests[i % len(requests)]
                i += 1
                headers = {"Authorization": f"Bearer {token}", **kwargs.get("headers", {})}
                try:
                    response = await http.post(
                        "/graphql", **{k: v for k, v in kwargs.items() if k != "headers"}, headers=headers
                    )
                    status = response.status_code
                except httpx.HTTPError:
                    status = 0  # closed before an answer was read (e.g. a 413 sent while still uploading)
                stats["attack"][(name, status)] += 1
                stats["attack_5xx"] += status >= 500

        tasks = [good(n) for n in range(clients)]
        if attack:
            count, token, requests = attack
            tasks += [attacker(n, token, requests) for n in range(count)]
        began = time.perf_counter()
        await asyncio.gather(*tasks)
        stats["elapsed"] = time.perf_counter() - began
    return stats


async def under_attack(args) -> None:
    url = args.database_url or f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/abuse.db"
    good_token, bad_token, attacker_connection = await seed(url, args.repositories)
    port = free_port()
    processes = Processes(Settings(database_url=url), Path(tempfile.mkdtemp()))
    processes.start("serve", "--host", "127.0.0.1", "--port", str(port))
    base = f"http://127.0.0.1:{port}"
    try:
        await wait_ready(base)
        await drive(base, good_token, args.clients, 2)  # warm-up: caches, connections, statistics
        alone = await drive(base, good_token, args.clients, args.seconds)
        attack = (args.attackers, bad_token, attacks(attacker_connection))
        attacked = await drive(base, good_token, args.clients, args.seconds, attack)
    finally:
        processes.stop_all()
    rate_alone = alone["good"] / alone["elapsed"]
    rate_attacked = attacked["good"] / attacked["elapsed"]
    attack_total = sum(attacked["attack"].values())
    print(f"Part 1: one API process, {args.clients} well-behaved clients, {args.seconds:.0f} s per run")
    print(f"  well-behaved alone:          {rate_alone:8.1f} requests/s ({alone['good_errors']} errors)")
    print(
        f"  well-behaved under attack:   {rate_attacked:8.1f} requests/s ({attacked['good_errors']} errors), "
        f"{args.attackers} attackers sending {attack_total / attacked['elapsed']:.1f} requests/s"
    )
    print(f"  ratio under attack / alone:  {rate_attacked / rate_alone:8.2f} (alone: 1.00)")
    print(f"  attack answers ({attacked['attack_5xx']} were 5xx):")
    for (name, status), n in sorted(attacked["attack"].items()):
        answer = f"HTTP {status}" if status else "closed before the answer was read"
        print(f"    {name:<22} {answer}: {n}")


async def scan_round(app, http, sandbox, connection_id: str, aliases: int) -> tuple[Counter, int]:
    sandbox.clear_requests()
    response = await http.post(
        "/graphql", json={"query": aliased_scans(aliases), "variables": {"id": connection_id}}
    )
    answers = list(response.json()["data"].values())
    job_ids = {a["jobId"] for a in answers}
    await app.state.jobs.run_until_idle()
    hosts = sandbox.request_counts()["by_host"]
    return Counter({h: n for h, n in hosts.items() if h in AZURE_DEVOPS_HOSTS}), len(job_ids)


async def aliased_scans_cost(args) -> None:
    url = f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/scans.db"
    engine = create_engine(url)
    await upgrade_engine(engine)
    async with session_scope(session_factory(engine)) as session:
        account = await accounts.create_account(session, "Bench")
        token = (await accounts.issue_token(session, account.id, "bench@example.test")).token
    await engine.dispose()
    with emulator(base_world(), args.emulator) as sandbox:
        settings = Settings(
            database_url=url,
            entra_client_id=CLIENT_ID,
            entra_client_secret=CLIENT_SECRET,
            entra_authority_host=sandbox.authority_host,
            azure_devops_url=sandbox.devops_url,
            osv_url=sandbox.osv_url,
            ca_bundle=sandbox.ca_path,
        )
        for label, limits in (("default limits", {}), ("root-mutation limit lifted", LIFTED)):
            app = create_app(settings.model_copy(update=limits), run_jobs=False)
            async with (
                app.router.lifespan_context(app),
                httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=app),
                    base_url="http://127.0.0.1",
                    timeout=600,
                    headers={"Authorization": f"Bearer {token}"},
                ) as http,
            ):
                if not limits:
                    sandbox.clear_requests()
                    body = (
                        await http.post(
                            "/graphql", json={"query": aliased_scans(100), "variables": {"id": "x"}}
                        )
                    ).json()
                    code = body["errors"][0]["extensions"]["code"]
                    hosts = sandbox.request_counts()["by_host"]
                    azure = sum(n for h, n in hosts.items() if h != "admin")
                    print(
                        f"Part 2: Azure DevOps requests caused by scanConnection (emulator in a {args.emulator})"
                    )
                    print(f"  100 aliases, {label}: refused {code}, {azure} Azure requests")
                    continue
                connection_id = await connect(http, sandbox)
                first, _ = await scan_round(app, http, sandbox, connection_id, 1)
                # The floor and the 100 start from the same state: each after a scan of everything and a
                # reset of the scan marks (what core remembers beyond them, e.g. history, is then the same).
                await rescan_everything(app)
                one, _ = await scan_round(app, http, sandbox, connection_id, 1)
                await rescan_everything(app)
                hundred, jobs = await scan_round(app, http, sandbox, connection_id, 100)
        print(
            f"  first scan, 1 mutation:           {sum(first.values()):5d} requests "
            f"{dict(sorted(first.items()))}"
        )
        print(
            f"  floor, 1 mutation again:          {sum(one.values()):5d} requests {dict(sorted(one.items()))}"
        )
        print(
            f"  100 aliases, {label}: {sum(hundred.values()):5d} requests {dict(sorted(hundred.items()))}, "
            f"{jobs} connection scan"
        )
        print(
            f"  equal: {'yes' if one == hundred else 'NO'} "
            f"({sum(hundred.values()) / max(sum(one.values()), 1):.2f}x the floor)"
        )
        if one != hundred:
            raise SystemExit(1)


async def rescan_everything(app) -> None:
    async with session_scope(app.state.services.sessions) as session:
        await session.exec(update(AzureRepository).values(scanned_commit="", scanned_versions={}))


LIFTED = {"graphql_max_root_mutations": 100, "graphql_max_cost": 100_000, "ondemand_burst": 100}


async def connect(http, sandbox) -> str:
    start = """mutation { startAzureConnection(organization: "contoso") {
      ... on StartAzureConnectionSuccess { signInUrl connection { id } } } }"""
    started = (await http.post("/graphql", json={"query": start})).json()["data"]["startAzureConnection"]
    page = await connect_in_browser(http, sandbox, started["signInUrl"])
    if page.status_code != 200:
        raise SystemExit(f"consent failed: {page.status_code}")
    connection_id = started["connection"]["id"]
    connect_mutation = "mutation($id: ID!) { connectAzureOrganization(connectionId: $id) { __typename ... on ConnectAzureOrganizationSuccess { ok } } }"
    body = (
        await http.post("/graphql", json={"query": connect_mutation, "variables": {"id": connection_id}})
    ).json()
    if not body["data"]["connectAzureOrganization"].get("ok"):
        raise SystemExit(f"connect failed: {body}")
    return connection_id


async def run(args) -> None:
    await under_attack(args)
    await aliased_scans_cost(args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10, help="length of each well-behaved run")
    parser.add_argument("--clients", type=int, default=4, help="well-behaved concurrent clients")
    parser.add_argument("--attackers", type=int, default=4, help="attacking concurrent clients")
    parser.add_argument(
        "--repositories", type=int, default=1000, help="repositories of the well-behaved account"
    )
    parser.add_argument("--database-url", default="", help="PostgreSQL for part 1 (emptied); default SQLite")
    add_arguments(parser)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
