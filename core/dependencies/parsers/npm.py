"""npm: `package-lock.json` / `npm-shrinkwrap.json` (lockfileVersion 1, 2 and 3), `yarn.lock` (classic v1 and
berry v2+), and exact pins of a `package.json` that no lockfile covers.

A lockfile holds what is installed; a `package.json` holds ranges ("^1.2.0" is not a version), so it is read only
for the names it declares (direct dependencies) and, when no npm or yarn lockfile sits in its folder or an
ancestor folder (a workspace root), for its exactly pinned versions ("1.2.3", "=1.2.3").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from core.dependencies.parsers.common import JsonLines, Source, as_dict, json_lines, load_json, text_of

DEPENDENCY_FIELDS = ("dependencies", "devDependencies", "optionalDependencies", "peerDependencies")
LOCKFILES = ("package-lock.json", "npm-shrinkwrap.json", "yarn.lock")

_EXACT = re.compile(r"^=?v?(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?)$")


def declared_names(manifest: dict) -> set[str]:
    names: set[str] = set()
    for section in DEPENDENCY_FIELDS:
        names.update(name for name in as_dict(manifest.get(section)) if isinstance(name, str))
    return names


def _sibling_manifest_names(src: Source) -> set[str]:
    manifest = src.sibling("package.json")
    data = load_json(manifest) if manifest is not None else None
    return declared_names(as_dict(data))


def split_spec(spec: str) -> tuple[str, str]:
    """Name and range of a specifier: `@scope/a@npm:^1` → ("@scope/a", "npm:^1"); a scope's "@" is the name's."""
    at = spec.find("@", 1)
    return (spec, "") if at < 0 else (spec[:at], spec[at + 1 :])


# ---------------------------------------------------------------------------------------- package-lock.json


def parse_package_lock(src: Source) -> None:
    data = load_json(src)
    if data is None:
        return
    if not isinstance(data, dict):
        src.problem("not a lockfile (the top level is not an object)")
        return
    index = json_lines(src.text)
    if isinstance(data.get("packages"), dict):
        _lock_packages(src, data["packages"], index)
    elif isinstance(data.get("dependencies"), dict):
        _, cursor = index.find("dependencies", 1)
        _lock_v1(src, data["dependencies"], index, _sibling_manifest_names(src), 2, cursor, top=True)


def _lock_packages(src: Source, packages: dict, index: JsonLines) -> None:
    """lockfileVersion 2 and 3: keys are install paths, "" is the root and keys without node_modules/ are
    workspace packages; what the root or a workspace package declares is direct."""
    direct: set[str] = set()
    for key, entry in packages.items():
        if "node_modules/" not in key and isinstance(entry, dict):
            direct |= declared_names(entry)
    _, cursor = index.find("packages", 1)
    for key, entry in packages.items():
        if "node_modules/" not in key or not isinstance(entry, dict) or entry.get("link") is True:
            continue
        version = text_of(entry.get("version"))
        if not version:
            continue
        installed = key.rsplit("node_modules/", 1)[1]
        name = text_of(entry.get("name")) or installed  # "name" appears for aliases ("x": "npm:real@1")
        line, _ = index.find(key, 2, cursor)
        # Only a package installed at the top (not under another package's node_modules) is the declared one.
        src.add("npm", name, version, line, key.count("node_modules/") == 1 and installed in direct)


def _lock_v1(
    src: Source, deps: dict, index: JsonLines, direct: set[str], depth: int, cursor: int | None, top: bool
) -> None:
    """lockfileVersion 1: a tree of `dependencies`; a name's key is searched after its parent map's key, so a
    `requires` map of the same name earlier in the text is not taken for it."""
    for name, entry in deps.items():
        if not isinstance(entry, dict):
            continue
        line, offset = index.find(name, depth, cursor)
        version = text_of(entry.get("version"))
        real = name
        if version.startswith("npm:"):
            real, version = split_spec(version[4:])
        # git, file and URL dependencies carry a location instead of a registry version.
        if version and ":" not in version and "/" not in version:
            src.add("npm", real, version, line, top and name in direct)
        nested = entry.get("dependencies")
        if isinstance(nested, dict) and offset is not None:
            _, nested_cursor = index.find("dependencies", depth + 1, offset)
            _lock_v1(src, nested, index, direct, depth + 2, nested_cursor, top=False)


# ------------------------------------------------------------------------------------------------ yarn.lock

_ENTRY = re.compile(r"^(?![\s#])(.+?):\s*$")
_FIELD = re.compile(r'^  "?([^\s":]+)"?:?(?:\s+(.*?))?\s*$')
_SUBFIELD = re.compile(r'^    "?([^\s":]+)"?:?(?:\s+(.*?))?\s*$')
_LOCAL_PROTOCOLS = ("file:", "link:", "workspace:", "portal:", "exec:")


def _unquote(value: str) -> str:
    return value[1:-1] if len(value) >= 2 and value[0] == value[-1] == '"' else value


@dataclass
class YarnEntry:
    line: int  # of the entry's header (its specifiers)
    specs: list[str]  # "a@^1", "a@^1.2": every range this entry satisfies
    fields: dict[str, str] = field(default_factory=dict)  # version, resolution, resolved…
    maps: dict[str, set[str]] = field(default_factory=dict)  # names under dependencies:, devDependencies:…


def _yarn_entries(text: str) -> list[YarnEntry]:
    """Both formats have the same shape: unindented headers, two-space fields (`version "1"` in v1,
    `version: 1` in berry), four-space items of the nested maps."""
    entries: list[YarnEntry] = []
    nested = ""
    for number, line in enumerate(text.splitlines(), 1):
        header = _ENTRY.match(line)
        if header:
            specs = [spec.strip().strip('"') for spec in header.group(1).split(",")]
            entries.append(YarnEntry(number, [spec for spec in specs if spec]))
            nested = ""
            continue
        if not entries:
            continue
        item = _FIELD.match(line)
        if item:
            value = _unquote(item.group(2) or "")
            entries[-1].fields[item.group(1)] = value
            nested = "" if value else item.group(1)
            continue
        sub = _SUBFIELD.match(line)
        if sub and nested:
            entries[-1].maps.setdefault(nested, set()).add(sub.group(1))
    return [entry for entry in entries if entry.specs]


def parse_yarn_lock(src: Source) -> None:
    entries = _yarn_entries(src.text)
    berry = any(entry.specs == ["__metadata"] for entry in entries)
    direct = _sibling_manifest_names(src)
    if berry:
        # Berry records the workspaces themselves (the root and each member): what they declare is direct.
        for entry in entries:
            if "@workspace:" in entry.fields.get("resolution", ""):
                for name in DEPENDENCY_FIELDS:
                    direct |= entry.maps.get(name, set())
    for entry in entries:
        version = entry.fields.get("version", "")
        if entry.specs == ["__metadata"] or not version:
            continue
        declared = {split_spec(spec)[0] for spec in entry.specs}
        if berry:
            name, reference = split_spec(entry.fields.get("resolution", entry.specs[0]))
            protocol = reference.split(":", 1)[0] if ":" in reference else "npm"
            if protocol not in ("npm", "patch"):
                continue  # workspace, link, portal, file, git…: not a registry package
        else:
            name, spec_range = split_spec(entry.specs[0])
            if spec_range.startswith(_LOCAL_PROTOCOLS):
                continue
            if spec_range.startswith("npm:"):
                name = split_spec(spec_range[4:])[0]  # alias "x@npm:real@^1": the installed code is "real"
        src.add("npm", name, version, entry.line, bool(declared & direct))


# --------------------------------------------------------------------------------------------- package.json


def parse_package_json(src: Source) -> None:
    """Exact pins only (see the module docstring); the caller skips manifests that a lockfile covers."""
    data = load_json(src)
    if not isinstance(data, dict):
        return
    index = json_lines(src.text)
    for section in DEPENDENCY_FIELDS:
        _, cursor = index.find(section, 1)
        for name, spec in as_dict(data.get(section)).items():
            spec = text_of(spec).strip()
            real = name
            if spec.startswith("npm:"):
                real, spec = split_spec(spec[4:])
            exact = _EXACT.match(spec)
            if exact:
                line, _ = index.find(name, 2, cursor)
                src.add("npm", real, exact.group(1), line, True)
