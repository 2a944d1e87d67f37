"""The dependency inventory of a checked-out repository: every package its manifests and lockfiles declare.

Pure parsing of files already on disk (no network, no package manager, nothing executed), so that matching can
look each (ecosystem, name, version) up in OSV. The tree is walked without following symlinks and without
entering `node_modules`, `.git` or `vendor` (installed or vendored copies, not declarations); files are opened
without following symlinks and only when they are regular files (a FIFO would block the scan).

A defective file never stops the inventory: it becomes a problem, one short sentence naming the file and what is
wrong (never its content, which may be secret), and the other files are still read.

Formats: see `core/dependencies/parsers/`. Rules that cross files live here: a `package.json` is inventoried
(exact pins only) only when no npm or yarn lockfile sits in its folder or an ancestor folder.
"""

from __future__ import annotations

import fnmatch
import os
import posixpath
import stat
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from core.dependencies.package import Dependency
from core.dependencies.parsers import cargo, go, maven, npm, nuget, python
from core.dependencies.parsers.common import Problem, Source

SKIPPED_DIRECTORIES = frozenset({"node_modules", ".git", "vendor"})

Parser = Callable[[Source], None]

# Exact file names; the patterns and folder rules are in `parser_for`.
PARSERS: dict[str, Parser] = {
    "package-lock.json": npm.parse_package_lock,
    "npm-shrinkwrap.json": npm.parse_package_lock,
    "yarn.lock": npm.parse_yarn_lock,
    "package.json": npm.parse_package_json,
    "poetry.lock": python.parse_poetry_lock,
    "Pipfile.lock": python.parse_pipfile_lock,
    "uv.lock": python.parse_uv_lock,
    "go.mod": go.parse_go_mod,
    "go.sum": go.parse_go_sum,
    "pom.xml": maven.parse_pom,
    "packages.lock.json": nuget.parse_packages_lock,
    "packages.config": nuget.parse_packages_config,
    "Directory.Build.props": nuget.parse_project,
    "Cargo.lock": cargo.parse_cargo_lock,
}
PROJECT_SUFFIXES = (".csproj", ".fsproj", ".vbproj")


def parser_for(path: str) -> Parser | None:
    name = posixpath.basename(path)
    if name in PARSERS:
        return PARSERS[name]
    lower = name.lower()
    if lower.endswith(PROJECT_SUFFIXES):
        return nuget.parse_project
    if fnmatch.fnmatch(lower, "requirements*.txt"):
        return python.parse_requirements
    if lower.endswith(".txt") and posixpath.basename(posixpath.dirname(path)).lower() == "requirements":
        return python.parse_requirements
    return None


@dataclass
class Reader:
    """Reads repository files once each, within the size limit, and records why one could not be read."""

    root: Path
    max_file_bytes: int
    problems: list[Problem]
    cache: dict[str, str | None] = field(default_factory=dict)

    def read(self, path: str) -> str | None:
        if path not in self.cache:
            self.cache[path] = self._load(path)
        return self.cache[path]

    def _load(self, path: str) -> str | None:
        if path.startswith("/") or ".." in path.split("/"):
            return None
        try:
            # O_NOFOLLOW: a symlink is never read; O_NONBLOCK: opening a FIFO does not wait for a writer.
            fd = os.open(self.root / path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:
            return None  # absent, a symlink, or unreadable: the same as not there
        with os.fdopen(fd, "rb") as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode):
                return None
            if info.st_size > self.max_file_bytes:
                self.problems.append(Problem(path, f"skipped, larger than {self.max_file_bytes} bytes"))
                return None
            data = handle.read(self.max_file_bytes + 1)
        if len(data) > self.max_file_bytes:
            self.problems.append(Problem(path, f"skipped, larger than {self.max_file_bytes} bytes"))
            return None
        try:
            return data.decode("utf-8-sig")  # project files from Visual Studio often start with a BOM
        except UnicodeDecodeError:
            self.problems.append(Problem(path, "not UTF-8 text"))
            return None


def candidate_files(root: Path) -> list[str]:
    """Repository-relative paths of every file some parser reads, in walk order (sorted per folder)."""
    found = []
    for folder, directories, files in os.walk(root, followlinks=False):
        # Pruning in place stops the walk from entering them; symlinked folders are never entered either.
        directories[:] = sorted(
            d
            for d in directories
            if d not in SKIPPED_DIRECTORIES and not os.path.islink(os.path.join(folder, d))
        )
        relative = Path(folder).relative_to(root).as_posix()
        for name in sorted(files):
            path = name if relative == "." else f"{relative}/{name}"
            if parser_for(path) is not None and not os.path.islink(os.path.join(folder, name)):
                found.append(path)
    return found


def _covered_by_lockfile(path: str, lockfile_folders: set[str]) -> bool:
    folder = posixpath.dirname(path)
    while True:
        if folder in lockfile_folders:
            return True
        if not folder:
            return False
        folder = posixpath.dirname(folder)


def _deduplicated(dependencies: list[Dependency]) -> list[Dependency]:
    """One entry per (ecosystem, name, version, path): the first line, direct if any occurrence is direct."""
    kept: dict[tuple[str, str, str, str], Dependency] = {}
    for dep in dependencies:
        key = (dep.ecosystem, dep.name, dep.version, dep.path)
        first = kept.get(key)
        if first is None:
            kept[key] = dep
            continue
        lines = [line for line in (first.line, dep.line) if line is not None]
        kept[key] = replace(first, line=min(lines) if lines else None, direct=first.direct or dep.direct)
    return list(kept.values())


def inventory(
    root: Path, *, max_file_bytes: int = 20 * 1024 * 1024
) -> tuple[list[Dependency], list[Problem]]:
    """Every dependency declared in the repository extracted at `root` (read only), and a list of problems
    (one short sentence each, naming the repository-relative file and what is wrong, never file content)."""
    root = Path(root)
    problems: list[Problem] = []
    reader = Reader(root, max_file_bytes, problems)
    paths = candidate_files(root)
    lockfile_folders = {posixpath.dirname(p) for p in paths if posixpath.basename(p) in npm.LOCKFILES}
    found: list[Dependency] = []
    for path in paths:
        if posixpath.basename(path) == "package.json" and _covered_by_lockfile(path, lockfile_folders):
            continue
        parser = parser_for(path)
        text = reader.read(path)
        if parser is None or text is None:
            continue
        src = Source(path, text, reader.read, problems)
        try:
            parser(src)
        except Exception as error:
            # A shape no parser anticipated: report it and keep what was found before it.
            src.problem(f"could not be parsed ({type(error).__name__})")
        found.extend(src.found)
    dependencies = _deduplicated(found)
    dependencies.sort(key=lambda d: (d.path, d.line if d.line is not None else 0, d.name))
    return dependencies, list(dict.fromkeys(problems))
