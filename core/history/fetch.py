"""Real git against Azure DevOps' smart HTTP, with the service principal's Entra token and nothing else trusted.

The token travels only in git's environment (`GIT_CONFIG_COUNT`/`KEY_n`/`VALUE_n`: `http.extraHeader`), never in
an argument (visible in `ps`), a file, a log line or an error: every message built from git's stderr has the
token scrubbed first, and git is never asked to trace. No system or global configuration is read (a private
HOME, `GIT_CONFIG_NOSYSTEM`, `GIT_CONFIG_GLOBAL=/dev/null`); hooks point at an empty directory; only https is
allowed (`protocol.allow=never`, `protocol.https.allow=always`), no redirects (the token would follow them), no
submodules, no LFS smudge, no terminal prompt; fetched objects are fsck-ed. The emulator's loopback CA (tests)
reaches git as `http.sslCAInfo`, the same bundle httpx trusts (`Settings.ca_bundle`).

Limits as for archives (core/scans/acquisition.py): refs advertised, bytes received (a watchdog measures the
repository while git writes it and ends git's whole process group past the bound), objects, time. A refusal is
`HistoryRejected` with a reason safe to show.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

from core.scans.acquisition import Limits

GIT = shutil.which("git") or "/usr/bin/git"


@dataclass(frozen=True)
class HistoryLimits:
    fetch_bytes: int = Limits().archive_bytes  # what the fetch may write (packs), as for a downloaded zip
    objects: int = 5_000_000
    refs: int = 10_000  # branches advertised
    seconds: float = 600.0  # each git command


class HistoryRejected(Exception):
    """The history could not be fetched or is beyond the limits; the message is safe to show."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def clone_url(devops_url: str, organization: str, project: str, repository: str) -> str:
    return f"{devops_url.rstrip('/')}/{quote(organization)}/{quote(project)}/_git/{quote(repository)}"


@dataclass
class Git:
    """One private working area (a bare repository) and the environment every git command runs with."""

    url: str
    token: str = field(repr=False)
    ca_bundle: Path | None = None
    limits: HistoryLimits = HistoryLimits()
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="panoptica-history-")))

    def __post_init__(self) -> None:
        (self.workdir / "home").mkdir(mode=0o700)
        (self.workdir / "hooks").mkdir(mode=0o700)
        self.repo = self.workdir / "repo.git"

    def close(self) -> None:
        shutil.rmtree(self.workdir, ignore_errors=True)

    def environment(self) -> dict[str, str]:
        config = [
            ("http.extraHeader", f"Authorization: Bearer {self.token}"),
            # A refused token is a 401, not a 203 sign-in page that git would take for an empty repository.
            ("http.extraHeader", "X-TFS-FedAuthRedirect: Suppress"),
            ("http.followRedirects", "false"),
            ("protocol.allow", "never"),
            ("protocol.https.allow", "always"),
            ("protocol.version", "2"),
            ("core.hooksPath", str(self.workdir / "hooks")),
            ("core.askPass", ""),
            ("credential.helper", ""),
            ("core.quotePath", "false"),
            ("core.fsmonitor", "false"),
            ("submodule.recurse", "false"),
            ("fetch.recurseSubmodules", "false"),
            ("fetch.fsckObjects", "true"),
            ("gc.auto", "0"),
            ("init.defaultBranch", "main"),
        ]
        if self.ca_bundle is not None:
            config.append(("http.sslCAInfo", str(self.ca_bundle)))
        env = {
            "PATH": "/usr/bin:/bin",
            "HOME": str(self.workdir / "home"),
            "LANG": "C.UTF-8",
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": "/dev/null",
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_ASKPASS": "/bin/false",
            "GIT_LFS_SKIP_SMUDGE": "1",
            "GIT_CONFIG_COUNT": str(len(config)),
        }
        for n, (key, value) in enumerate(config):
            env[f"GIT_CONFIG_KEY_{n}"], env[f"GIT_CONFIG_VALUE_{n}"] = key, value
        return env

    def scrub(self, text: str) -> str:
        """git's own words, never the token (nor anything shaped like a bearer credential)."""
        text = text.replace(self.token, "[token]") if self.token else text
        return re.sub(r"(?i)bearer\s+\S+", "Bearer [token]", text)

    # --- commands ----------------------------------------------------------------------------------------------
    def run(self, args: list[str], *, stdin: bytes | None = None, watch_bytes: bool = False) -> str:
        """A git command in the bare repository; HistoryRejected on failure, timeout or the size bound."""
        started = time.monotonic()
        process = subprocess.Popen(  # noqa: S603 - our fixed arguments, no shell; the token is in env only
            [GIT, *args],
            cwd=self.repo if self.repo.exists() else self.workdir,
            env=self.environment(),
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,  # its own process group: remote-https and index-pack end with it
        )
        stopped: list[str] = []
        watchdog = threading.Thread(
            target=self._watch, args=(process, started, watch_bytes, stopped), daemon=True
        )
        watchdog.start()
        try:
            out, err = process.communicate(stdin)
        finally:
            watchdog.join(timeout=5)
        # A fetch that ends between two of the watchdog's samples is measured once more: the bound holds for
        # every fetch, not only for slow ones.
        if not stopped and watch_bytes and self.too_large():
            stopped.append(self.too_large_reason())
        if stopped:
            raise HistoryRejected(stopped[0])
        if process.returncode != 0:
            raise HistoryRejected(self.explain(args[0], err.decode("utf-8", "replace")))
        return out.decode("utf-8", "replace")

    def _watch(
        self, process: subprocess.Popen, started: float, watch_bytes: bool, stopped: list[str]
    ) -> None:
        while process.poll() is None:
            if time.monotonic() - started > self.limits.seconds:
                stopped.append(f"git took longer than {self.limits.seconds:g} s: stopped.")
            elif watch_bytes and self.too_large():
                stopped.append(self.too_large_reason())
            if stopped:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                return
            time.sleep(0.05)

    def too_large(self) -> bool:
        return directory_bytes(self.repo / "objects") > self.limits.fetch_bytes

    def too_large_reason(self) -> str:
        return (
            f"The repository's history is larger than {self.limits.fetch_bytes} bytes: the fetch was stopped at "
            "the limit."
        )

    def explain(self, command: str, stderr: str) -> str:
        """A failure in words: Azure DevOps' own message (git prints it as `remote: …`) when there is one."""
        text = self.scrub(stderr)
        remote = [
            line.removeprefix("remote:").strip() for line in text.splitlines() if line.startswith("remote:")
        ]
        remote = [line for line in remote if line]
        if remote:
            return f"Azure DevOps refused git {command}: {' '.join(remote)[:400]}"
        if "terminal prompts disabled" in text or "Authentication failed" in text:
            return (
                f"Azure DevOps refused the service principal's token for git {command} (HTTP 401): it must be a "
                "member of the organization (TF401444) with a token of the organization's tenant (TF400813)."
            )
        fatal = [line for line in text.splitlines() if line.startswith(("fatal:", "error:"))]
        return f"git {command} failed: {(fatal[-1] if fatal else text.strip()[-300:])[:400]}"

    def remote_heads(self) -> dict[str, str]:
        """Branch -> commit as the server advertises them: one request, no pack."""
        out = self.run(["ls-remote", "--heads", self.url])
        listed = {name: commit for commit, _, name in (line.partition("\t") for line in out.splitlines())}
        return self.checked_heads(listed)

    def checked_heads(self, refs: dict[str, str]) -> dict[str, str]:
        """The branches (as git or the REST refs list gave them), within the bound on branches."""
        heads = {name: commit for name, commit in refs.items() if name.startswith("refs/heads/")}
        if len(heads) > self.limits.refs:
            raise HistoryRejected(f"The repository has more than {self.limits.refs} branches.")
        return heads

    def init(self) -> None:
        if not self.repo.exists():
            self.run(["init", "--bare", "--quiet", str(self.repo)])

    def fetch(self, since: datetime) -> None:
        """Every branch, history back to `since` (a shallow fetch: older commits are not downloaded).

        Tags are not fetched: a commit reachable only from a tag (not from any branch) is not scanned. Tags mostly
        point at commits already on a branch, and an old tag would pull the date-bounded shallow fetch (and every
        later incremental one, which starts at the oldest tip) back past the bound."""
        self.init()
        self.run(
            [
                "fetch",
                "--quiet",
                "--no-tags",
                "--no-write-fetch-head",
                "--no-recurse-submodules",
                f"--shallow-since={int(since.timestamp())}",
                self.url,
                "+refs/heads/*:refs/heads/*",
            ],
            watch_bytes=True,
        )
        objects = self.object_count()
        if objects > self.limits.objects:
            raise HistoryRejected(f"The repository's history has more than {self.limits.objects} objects.")

    def object_count(self) -> int:
        counts = dict(
            line.split(": ", 1) for line in self.run(["count-objects", "-v"]).splitlines() if ": " in line
        )
        return int(counts.get("count", 0)) + int(counts.get("in-pack", 0))

    def fetched_bytes(self) -> int:
        return directory_bytes(self.repo / "objects")

    def shallow_commits(self) -> set[str]:
        path = self.repo / "shallow"
        return set(path.read_text().split()) if path.exists() else set()

    def commits(self, limit: int) -> list[tuple[str, datetime]]:
        """Commits reachable from any local branch, newest first, at most `limit`."""
        out = self.run(["rev-list", "--branches", "--date-order", f"--max-count={limit}", "--format=%H %ct"])
        found = []
        for line in out.splitlines():
            if line.startswith("commit "):
                continue
            commit, _, stamp = line.partition(" ")
            found.append((commit, datetime.fromtimestamp(int(stamp), UTC)))
        return found

    def patches(self, commits: list[str]) -> Iterator[bytes]:
        """`git log -p` of exactly these commits (added lines only, -U0; a merge's own changes, see below),
        streamed line by line."""
        args = [
            "log",
            "--no-walk=unsorted",
            "--stdin",
            "-p",
            "-U0",
            "-M",
            "--no-color",
            "--no-ext-diff",
            "--no-textconv",
            # A merge's own changes: its tree against git's automatic remerge of its parents, so only what the
            # merge itself brought (a conflict's resolution, an edit made while merging) is added; what the merged
            # commits added is scanned in them. About 0.3 ms of CPU per merge commit.
            "--diff-merges=remerge",
            "--format=%x00%x00%H %ct %an",
        ]
        yield from self.stream(args, ("\n".join(commits) + "\n").encode())

    def stream(self, args: list[str], stdin: bytes) -> Iterator[bytes]:
        process = subprocess.Popen(  # noqa: S603 - our fixed arguments, no shell
            [GIT, *args],
            cwd=self.repo,
            env=self.environment(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        feeder = threading.Thread(target=_feed, args=(process, stdin), daemon=True)
        feeder.start()
        stopped: list[str] = []
        watchdog = threading.Thread(
            target=self._watch, args=(process, time.monotonic(), False, stopped), daemon=True
        )
        watchdog.start()
        assert process.stdout is not None  # started with stdout=PIPE
        try:
            yield from process.stdout
        finally:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
            err = process.stderr.read() if process.stderr else b""
            process.wait()
            feeder.join(timeout=5)
        if stopped:
            raise HistoryRejected(stopped[0])
        if process.returncode != 0:
            raise HistoryRejected(self.explain(args[0], err.decode("utf-8", "replace")))

    def read_blobs(self, specs: list[str]) -> dict[str, bytes]:
        """`commit:path` -> content (missing ones left out), through one `git cat-file --batch`."""
        if not specs:
            return {}
        out = subprocess.run(  # noqa: S603 - our fixed arguments, no shell
            [GIT, "cat-file", "--batch"],
            cwd=self.repo,
            env=self.environment(),
            input=("\n".join(specs) + "\n").encode(),
            capture_output=True,
            check=False,
            timeout=self.limits.seconds,
        ).stdout
        found, at = {}, 0
        for spec in specs:
            end = out.index(b"\n", at)
            header = out[at:end].split()
            at = end + 1
            if len(header) < 3 or header[1] != b"blob":
                continue
            size = int(header[2])
            found[spec] = out[at : at + size]
            at += size + 1
        return found


def _feed(process: subprocess.Popen[bytes], data: bytes) -> None:
    assert process.stdin is not None  # started with stdin=PIPE
    with contextlib.suppress(BrokenPipeError, OSError):
        process.stdin.write(data)
        process.stdin.close()


def directory_bytes(path: Path) -> int:
    total = 0
    for directory, _, names in os.walk(path):
        for name in names:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(directory, name)).st_size
    return total
