"""NuGet: `packages.lock.json`, SDK-style project files (`*.csproj`, `*.fsproj`, `*.vbproj`,
`Directory.Build.props`) and the legacy `packages.config`.

The lock file is the truth where it exists: a project file beside one contributes only the references the lock
file does not name. In a project file, `Version` (attribute or child element), `VersionOverride`, or else the
version from Central Package Management (the nearest `Directory.Packages.props` in the folder or above) is the
declared version; `$(Property)` is resolved from the project's own property groups. NuGet reads "1.2.3" as
"1.2.3 or higher" but restores exactly 1.2.3 when it exists, so it is taken as the version; ranges, floating
versions (`1.*`) and unresolved properties become "".
"""

from __future__ import annotations

import posixpath
import re
import xml.etree.ElementTree as ET

from core.dependencies.parsers.common import (
    Source,
    as_dict,
    elements_with_lines,
    json_lines,
    load_json,
    load_xml,
    local_name,
    text_of,
)

_PROPERTY = re.compile(r"\$\(([^)]+)\)")
_EXACT_RANGE = re.compile(r"^\[\s*([^,\]\s]+)\s*\]$")  # "[1.2.3]" is exactly 1.2.3


def _locked(src: Source) -> dict | None:
    data = load_json(src)
    if data is None:
        return None
    if not isinstance(data, dict):
        src.problem("not a lockfile (the top level is not an object)")
        return None
    return as_dict(data.get("dependencies"))


def parse_packages_lock(src: Source) -> None:
    frameworks = _locked(src)
    if frameworks is None:
        return
    index = json_lines(src.text)
    _, top = index.find("dependencies", 1)
    for framework, packages in frameworks.items():
        _, cursor = index.find(framework, 2, top)
        for name, entry in as_dict(packages).items():
            entry = as_dict(entry)
            kind = text_of(entry.get("type"))
            if kind == "Project":
                continue  # another project of the same solution
            line, _ = index.find(name, 3, cursor)
            src.add("nuget", name, text_of(entry.get("resolved")), line, kind == "Direct")


def _version(raw: str, properties: dict[str, str]) -> str:
    for _ in range(10):
        expanded = _PROPERTY.sub(lambda m: properties.get(m.group(1), m.group(0)), raw)
        if expanded == raw:
            break
        raw = expanded
    raw = raw.strip()
    exact = _EXACT_RANGE.match(raw)
    if exact:
        return exact.group(1)
    if "$(" in raw or "*" in raw or raw[:1] in "[(" or "," in raw:
        return ""
    return raw


def _central_versions(src: Source) -> dict[str, str]:
    """Central Package Management: the nearest Directory.Packages.props at or above the project's folder."""
    folder = posixpath.dirname(src.path)
    while True:
        props = src.at(posixpath.join(folder, "Directory.Packages.props"))
        if props is not None:
            root = load_xml(props)
            if root is None:
                return {}
            versions = {}
            for element, _ in elements_with_lines(root, props.text, "PackageVersion"):
                name = element.get("Include") or element.get("Update") or ""
                versions[name.lower()] = element.get("Version") or ""
            return versions
        if not folder:
            return {}
        folder = posixpath.dirname(folder)


def _project_properties(project: ET.Element) -> dict[str, str]:
    properties = {}
    for group in project:
        if local_name(group.tag) == "PropertyGroup":
            properties.update({local_name(p.tag): (p.text or "").strip() for p in group})
    return properties


def _locked_names(src: Source) -> set[str]:
    lock = src.sibling("packages.lock.json")
    if lock is None:
        return set()
    quiet = Source(lock.path, lock.text, lock.read, [])  # its own parse reports its problems
    frameworks = _locked(quiet) or {}
    return {name.lower() for packages in frameworks.values() for name in as_dict(packages)}


def parse_project(src: Source) -> None:
    project = load_xml(src)
    if project is None:
        return
    locked = _locked_names(src)
    properties = _project_properties(project)
    central: dict[str, str] | None = None
    for reference, line in elements_with_lines(project, src.text, "PackageReference"):
        name = (reference.get("Include") or reference.get("Update") or "").strip()
        if not name or name.lower() in locked:
            continue
        version = reference.get("VersionOverride") or reference.get("Version") or ""
        if not version:
            for child in reference:
                if local_name(child.tag) in ("Version", "VersionOverride"):
                    version = (child.text or "").strip()
        if not version:
            if central is None:
                central = _central_versions(src)
            version = central.get(name.lower(), "")
        src.add("nuget", name, _version(version, properties), line, True)


def parse_packages_config(src: Source) -> None:
    root = load_xml(src)
    if root is None:
        return
    for package, line in elements_with_lines(root, src.text, "package"):
        name = (package.get("id") or "").strip()
        if name:
            src.add("nuget", name, _version(package.get("version") or "", {}), line, True)
