"""Rust: `Cargo.lock`.

A `[[package]]` without `source` is one of the workspace's own crates: it is skipped, and the crates it depends
on are the direct dependencies. A `dependencies` item is "name" or "name version (source)" when several versions
are locked: "name" makes every locked version of it direct, "name version" only that one.
"""

from __future__ import annotations

from core.dependencies.parsers.common import (
    Source,
    as_dict,
    as_list,
    line_at,
    load_toml,
    table_array_lines,
    text_of,
)


def parse_cargo_lock(src: Source) -> None:
    data = load_toml(src)
    if data is None:
        return
    packages = [as_dict(package) for package in as_list(data.get("package"))]
    lines = table_array_lines(src.text, "package")
    direct: set[tuple[str, str]] = set()  # (name, version), version "" for any
    for package in packages:
        if "source" not in package:
            for item in as_list(package.get("dependencies")):
                words = text_of(item).split()
                if words:
                    direct.add((words[0], words[1] if len(words) > 1 else ""))
    for i, package in enumerate(packages):
        name, version = text_of(package.get("name")), text_of(package.get("version"))
        if "source" in package and name:
            is_direct = (name, "") in direct or (name, version) in direct
            src.add("cargo", name, version, line_at(lines, i, len(packages)), is_direct)
