"""Secrets in commits' added lines, found by the head scan's own detectors and redaction.

`git log -p -U0` is parsed as it streams: per commit and file, the added lines of each hunk are written, hunk
after hunk (a blank line between, so a multi-line value never spans two hunks), into a private batch directory
as `<n>/<path>`; `core.scanners.secrets.scan_tree` (the head scan's text scanning: every detector, the keyed hash,
the redacted preview) reads the batch, and each finding's line is mapped back to the file's line in its commit.
A hunk is parsed by its header's counts, so an added line that itself starts with `+++` is a line, not a header.

A merge commit contributes its own changes only (`--diff-merges=remerge`: its tree against git's automatic
remerge of its parents): a secret typed into a conflict resolution, or added while merging, is found at the merge;
what the merged branches brought is scanned in their own commits (gitleaks' `git log -p` skips merges entirely).
Tags are not fetched (branches only): a commit reachable only from a tag is not scanned (core/history/fetch.py).
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from core.scanners import secrets as head_scan

HUNK = re.compile(rb"^@@ -\d+(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
BATCH_FILES = 2000


@dataclass
class Occurrence:
    secret_hash: str
    rule_id: str
    preview: str
    commit: str
    path: str
    line: int | None
    committed_at: datetime
    author: str


@dataclass
class AddedFile:
    commit: str
    committed_at: datetime
    author: str
    path: str
    lines: list[bytes] = field(default_factory=list)
    numbers: list[int | None] = field(default_factory=list)  # the file's line for each written line
    size: int = 0


@dataclass
class PatchStats:
    commits: int = 0
    files: int = 0
    skipped_files: int = 0  # added text above the head scan's file bound (it skips such files too)


def added_files(lines: Iterable[bytes], stats: PatchStats) -> Iterator[AddedFile]:
    """The added lines of each (commit, file) of a `git log -p -U0 --format=%x00%x00%H %ct %an` stream."""
    commit, when, author = "", datetime.now(UTC), ""
    current: AddedFile | None = None
    old_left = new_left = 0
    new_line = 0
    in_hunk = False
    for raw in lines:
        if in_hunk and current is not None and (old_left or new_left):  # a hunk is read inside a file
            if raw.startswith(b"+") and new_left:
                current.numbers.append(new_line)
                current.lines.append(raw[1:].rstrip(b"\n"))
                current.size += len(raw)
                new_line += 1
                new_left -= 1
                continue
            if raw.startswith(b"-") and old_left:
                old_left -= 1
                continue
            if raw.startswith(b"\\ "):  # "\ No newline at end of file"
                continue
        in_hunk = False
        if raw.startswith(b"\0\0"):
            if current is not None and current.lines:
                yield current
            current = None
            head, _, name = raw[2:].rstrip(b"\n").decode("utf-8", "replace").partition(" ")
            stamp, _, author = name.partition(" ")
            commit, when = head, datetime.fromtimestamp(int(stamp or 0), UTC)
            stats.commits += 1
        elif raw.startswith(b"diff --git "):
            if current is not None and current.lines:
                yield current
            current = None
        elif raw.startswith(b"+++ "):
            target = raw[4:].rstrip(b"\n").decode("utf-8", "replace")
            path = unquote(target)
            current = AddedFile(commit, when, author, path[2:]) if path.startswith("b/") else None
        elif (match := HUNK.match(raw)) and current is not None:
            old_left = int(match.group(1)) if match.group(1) is not None else 1
            new_left = int(match.group(3)) if match.group(3) is not None else 1
            new_line = int(match.group(2))
            if current.lines and new_left:
                current.lines.append(b"")  # hunks apart: nothing matches across them
                current.numbers.append(None)
            in_hunk = True
    if current is not None and current.lines:
        yield current


def unquote(path: str) -> str:
    """git's C-style quoting of unusual paths ("a\\tb" with quotes), as `+++` lines write them."""
    if not (path.startswith('"') and path.endswith('"')):
        return path
    try:
        return (
            path[1:-1]
            .encode("latin-1", "backslashreplace")
            .decode("unicode_escape")
            .encode("latin-1")
            .decode("utf-8", "replace")
        )
    except (UnicodeDecodeError, UnicodeEncodeError):
        return path[1:-1]


def safe_path(path: str) -> PurePosixPath | None:
    parts = PurePosixPath(path).parts
    if not parts or path.startswith("/") or any(p in ("..", ".") for p in parts) or "\\" in path:
        return None
    return PurePosixPath(*parts)


def scan_added(
    files: Iterable[AddedFile], key: bytes, stats: PatchStats, deadline: float | None = None
) -> Iterator[Occurrence]:
    """Every secret in the added lines, in batches of `BATCH_FILES` files scanned by the head scan."""
    batch: list[AddedFile] = []
    for added in files:
        if added.size > head_scan.MAX_FILE_BYTES:
            stats.skipped_files += 1
            continue
        stats.files += 1
        batch.append(added)
        if len(batch) >= BATCH_FILES:
            yield from scan_batch(batch, key, deadline)
            batch = []
    if batch:
        yield from scan_batch(batch, key, deadline)


def private_directory(prefix: str) -> Path:
    """A private (0700) directory, in memory (/dev/shm) when there is one: the added text holds the secrets, and
    thousands of small files and folders cost far less there than on an overlay file system."""
    memory = Path("/dev/shm")  # noqa: S108 - mkdtemp makes a private directory of its own
    return Path(tempfile.mkdtemp(prefix=prefix, dir=memory if memory.is_dir() else None))


def scan_batch(batch: list[AddedFile], key: bytes, deadline: float | None) -> list[Occurrence]:
    """The batch laid out as `<slot>/<path>`, slot n holding the n-th version of each path in the batch: few
    folders (a path's versions share them), each file under its real path (the head scan's rules read names)."""
    root = private_directory("panoptica-patches-")
    placed: dict[tuple[str, str], AddedFile] = {}
    uses: dict[str, int] = {}
    try:
        for added in batch:
            relative = safe_path(added.path)
            if relative is None:
                continue
            slot = uses.get(added.path, 0)
            uses[added.path] = slot + 1
            placed[(str(slot), relative.as_posix())] = added
            target = root / str(slot) / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(b"\n".join(added.lines) + b"\n")
        found = head_scan.scan_tree(root, key, deadline=deadline)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    occurrences = []
    for raw in found:
        slot, _, path = raw.path.partition("/")
        added = placed[(slot, path)]
        line = added.numbers[raw.line - 1] if raw.line and 0 < raw.line <= len(added.numbers) else None
        occurrences.append(
            Occurrence(
                raw.secret_hash or raw.identity,
                raw.rule.id,
                raw.preview or "",
                added.commit,
                added.path,
                line,
                added.committed_at,
                added.author,
            )
        )
    return occurrences


def secrets_in_files(contents: dict[str, bytes], key: bytes) -> set[tuple[str, str]]:
    """(path, secret hash) of every secret in these files (the head's versions of occurrences' paths)."""
    root = private_directory("panoptica-head-")
    try:
        for path, content in contents.items():
            relative = safe_path(path)
            if relative is None:
                continue
            (root / relative).parent.mkdir(parents=True, exist_ok=True)
            (root / relative).write_bytes(content)
        return {(raw.path, raw.secret_hash or raw.identity) for raw in head_scan.scan_tree(root, key)}
    finally:
        shutil.rmtree(root, ignore_errors=True)
