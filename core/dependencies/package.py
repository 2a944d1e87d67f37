"""One dependency found in a manifest or lockfile: the unit that inventory produces and matching consumes."""

from __future__ import annotations

from dataclasses import dataclass

# OSV's ecosystem names (they must match exactly in queries), keyed by our short name.
ECOSYSTEMS = {
    "npm": "npm",
    "pypi": "PyPI",
    "golang": "Go",
    "maven": "Maven",
    "nuget": "NuGet",
    "cargo": "crates.io",
}


@dataclass(frozen=True)
class Dependency:
    ecosystem: str  # OSV ecosystem name: one of ECOSYSTEMS' values
    name: str  # as the ecosystem spells it (Maven "group:artifact", Go module path, npm "@scope/name")
    version: str  # the exact resolved (lockfiles) or declared (manifests) version; "" when unpinned
    purl: str  # package URL, e.g. "pkg:npm/%40babel/core@7.0.0"
    path: str  # repository-relative file, POSIX separators
    line: int | None  # 1-based line of the entry in that file, when known
    direct: bool  # declared by the project itself, not pulled in by another package
