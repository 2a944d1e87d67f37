"""Listing every repository of a large organization: our client against Microsoft's own Python client.

    .venv/bin/python benchmarks/list_repositories.py [--projects 500] [--repos-per-project 20] [--latency-ms 20]
        [--emulator process]

All run against the emulator (sandbox/, in its own process by default: benchmarks/harness.py) over HTTPS on
loopback, with the organization's latency added to each request. OURS pages the projects with a large `$top`
and lists every repository in one organization-wide call. The PEER is Microsoft's Python client (PyPI
`azure-devops`) twice: its best call, `get_repositories()` without a project (organization-wide, as ours),
and the crawl a typical integration does: projects page by page, then `get_repositories(project=...)` for
each project, one after the other. The floor is 2 round trips (projects, repositories). Requests are counted from the
emulator's log on the Azure DevOps hosts only (Entra token requests excluded; the peer's OPTIONS and
resource-area lookups included). The token is acquired before either side is timed.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# Microsoft's client caches OPTIONS answers on disk, in a directory read once at import: keep it out of $HOME.
os.environ.setdefault("AZURE_DEVOPS_CACHE_DIR", tempfile.mkdtemp(prefix="azure-devops-cache-"))

from benchmarks.harness import Emulator, add_arguments, emulator, round_trip_seconds
from core.azure.client import AzureDevOps
from core.azure.tokens import TokenProvider
from core.settings import Settings
from sandbox.scenario import Membership, Organization, Project, Repository, Tenant, World

CLIENT_ID = "6f1c1a2e-0b7e-4f7e-9a51-3c8a52d7e001"
CLIENT_SECRET = "sandbox-app-secret-value-0001"
TENANT_ID = "72f988bf-86f1-41af-91ab-2d7cd011db47"
ORGANIZATION = "bigcorp"
DEVOPS_HOSTS = ("dev", "vssps", "vsaex")  # Azure DevOps; "login" (Entra ID) is left out
OURS_PAGE_SIZE = 1000  # $top for _apis/projects; Azure DevOps accepts large pages
PEER_PAGE_SIZE = 100  # the service's default page, as a typical integration leaves it
GOALS = {"requests": 20.0, "time": 10.0}  # peer/ours, from the issue


@dataclass
class Result:
    name: str
    requests: int
    seconds: float
    repository_ids: list[str]


ADMIN = "admin@bigcorp.onmicrosoft.com"  # signs in to prove they administer the organization


def build_world(projects: int, repos_per_project: int, latency_ms: int) -> World:
    """One organization in a tenant where our app is consented; our service principal is Basic and a
    Contributor on every project."""
    names = [f"project-{p:04d}" for p in range(projects)]
    return World(
        apps=[{"client_id": CLIENT_ID, "secret": CLIENT_SECRET, "display_name": "Panoptica"}],
        tenants=[
            Tenant(
                id=TENANT_ID,
                name="Bigcorp",
                domain="bigcorp.onmicrosoft.com",
                service_principals=[{"client_id": CLIENT_ID}],
                users=[{"upn": ADMIN}],
            )
        ],
        organizations=[
            Organization(
                name=ORGANIZATION,
                tenant_id=TENANT_ID,
                administrators=[ADMIN],
                latency_ms=latency_ms,
                projects=[
                    Project(
                        name=name,
                        repositories=[
                            Repository(name=f"{name}-repo-{r:03d}") for r in range(repos_per_project)
                        ],
                    )
                    for name in names
                ],
                members=[
                    Membership(
                        client_id=CLIENT_ID,
                        access_level="express",
                        projects=dict.fromkeys(names, "projectContributor"),
                    )
                ],
            )
        ],
    )


async def measure_ours(sandbox: Emulator, settings: Settings, tokens: TokenProvider) -> Result:
    sandbox.clear_requests()
    start = time.perf_counter()
    async with AzureDevOps(settings, tokens) as ado:
        org = ado.organization(ORGANIZATION, TENANT_ID)
        projects = [p async for p in org.list_projects(page_size=OURS_PAGE_SIZE)]
        repositories = await org.list_repositories()
    seconds = time.perf_counter() - start
    assert projects, "no projects listed"
    return Result("ours", sandbox.devops_requests(), seconds, [r.id for r in repositories])


def measure_peer(sandbox: Emulator, token: str, crawl: bool) -> Result:
    os.environ["REQUESTS_CA_BUNDLE"] = str(sandbox.ca_path)
    from azure.devops.connection import Connection
    from msrest.authentication import BasicTokenAuthentication

    sandbox.clear_requests()
    start = time.perf_counter()
    connection = Connection(
        base_url=f"{sandbox.devops_url}/{ORGANIZATION}",
        creds=BasicTokenAuthentication({"access_token": token}),
    )
    git = connection.clients_v7_1.get_git_client()
    if crawl:
        core = connection.clients_v7_1.get_core_client()
        # The 7.1 client returns a bare list and drops `x-ms-continuationtoken`; the emulator's token (like
        # _apis/projects' documented one) is the number of projects already fetched.
        projects: list = []
        while True:
            page = core.get_projects(top=PEER_PAGE_SIZE, continuation_token=len(projects) or None)
            projects += page
            if len(page) < PEER_PAGE_SIZE:
                break
        ids = [r.id for p in projects for r in git.get_repositories(project=p.id)]
    else:
        ids = [r.id for r in git.get_repositories()]  # its best call: the organization-wide list
    seconds = time.perf_counter() - start
    # Open keep-alive connections would hold up the emulator's shutdown: close every session.
    for client in connection._client_cache.values():
        client._client.close()
    del connection, git
    gc.collect()
    return Result("peer crawl" if crawl else "peer best", sandbox.devops_requests(), seconds, ids)


def report(ours: Result, peers: list[Result], expected: int, floor: float) -> bool:
    """Print the table; False when the sides did not find the same repositories."""
    print(f"{'':12}{'requests':>10}{'wall time':>12}{'x floor':>9}{'repositories':>14}")
    print(f"{'floor':12}{2:>10}{floor:>11.2f}s{1.0:>9.1f}{expected:>14}")
    for r in (ours, *peers):
        print(
            f"{r.name:12}{r.requests:>10}{r.seconds:>11.2f}s{r.seconds / floor:>9.1f}{len(r.repository_ids):>14}"
        )
    print()
    for peer in peers:
        requests = peer.requests / max(ours.requests, 1)
        seconds = peer.seconds / max(ours.seconds, 1e-9)
        print(f"{peer.name:12} / ours: requests {requests:6.1f}x, wall time {seconds:6.1f}x")
    print(f"(goals against the crawl: requests >= {GOALS['requests']:.0f}x, time >= {GOALS['time']:.0f}x)")
    ours_ids = set(ours.repository_ids)
    correct = len(ours_ids) == len(ours.repository_ids) == expected
    for peer in peers:
        peer_ids = set(peer.repository_ids)
        if not (len(peer_ids) == len(peer.repository_ids) == expected and peer_ids == ours_ids):
            print(
                f"\nERROR: results differ: ours {len(ours.repository_ids)}, {peer.name} "
                f"{len(peer.repository_ids)} ({len(peer_ids)} distinct), expected {expected}",
                file=sys.stderr,
            )
            correct = False
    return correct


async def warm_token(tokens: TokenProvider) -> str:
    return await tokens.get_token(TENANT_ID)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=500)
    parser.add_argument("--repos-per-project", type=int, default=20)
    parser.add_argument("--latency-ms", type=int, default=20)
    add_arguments(parser)
    args = parser.parse_args()
    expected = args.projects * args.repos_per_project
    world = build_world(args.projects, args.repos_per_project, args.latency_ms)
    with emulator(world, args.emulator) as sandbox:
        settings = Settings(
            entra_client_id=CLIENT_ID,
            entra_client_secret=CLIENT_SECRET,
            entra_authority_host=sandbox.authority_host,
            azure_devops_url=sandbox.devops_url,
            ca_bundle=sandbox.ca_path,
        )
        tokens = TokenProvider(settings)
        try:
            token = asyncio.run(warm_token(tokens))  # not timed, not counted: every side uses this token
            ours = asyncio.run(measure_ours(sandbox, settings, tokens))
            peers = [measure_peer(sandbox, token, crawl=False), measure_peer(sandbox, token, crawl=True)]
            floor = 2 * round_trip_seconds(sandbox, ORGANIZATION)
        finally:
            tokens.close()
    print(
        f"{args.projects} projects x {args.repos_per_project} repositories, {args.latency_ms} ms latency "
        f"per request, emulator in a {args.emulator}; token acquired beforehand (excluded from all); floor: "
        "2 small round trips\n"
    )
    return 0 if report(ours, peers, expected, floor) else 1


if __name__ == "__main__":
    sys.exit(main())
