"""PyPI: `requirements*.txt` (and `requirements/*.txt`), `poetry.lock`, `Pipfile.lock` and `uv.lock`.

Names are normalised per PEP 503 (what OSV and purl use). In a requirements file only an exact pin
(`name==1.2.3`, `name===1.2.3`) is a version; any other line is listed with version "" (it is a direct
dependency whose installed version we cannot know, and matching skips it). `pyproject.toml` and `Pipfile` are
read only to tell direct dependencies from transitive ones in the lockfile beside them.
"""

from __future__ import annotations

import re

from core.dependencies.parsers.common import (
    Source,
    as_dict,
    as_list,
    json_lines,
    line_at,
    load_json,
    load_toml,
    normalize_pypi,
    table_array_lines,
    text_of,
)

# ------------------------------------------------------------------------------------------ requirements

_NAME = re.compile(r"([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(?:\[[^\]]*\])?\s*(.*)", re.S)
_PIN = re.compile(r"\(?\s*===?\s*([A-Za-z0-9][A-Za-z0-9.+!_-]*)\s*\)?")
_COMMENT = re.compile(r"(^|\s)#.*$")
_OPTION = re.compile(r"\s--?[A-Za-z]")
_ARCHIVE = (".whl", ".zip", ".tar.gz", ".tgz", ".tar.bz2")


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """(first physical line, joined text) with backslash continuations joined, as pip does."""
    joined: list[tuple[int, str]] = []
    start, parts = 0, []
    for number, line in enumerate(text.splitlines(), 1):
        if not parts:
            start = number
        if line.endswith("\\"):
            parts.append(line[:-1])
            continue
        parts.append(line)
        joined.append((start, " ".join(parts)))
        parts = []
    if parts:
        joined.append((start, " ".join(parts)))
    return joined


def requirement(line: str) -> tuple[str, str] | None:
    """(name, exact version or "") of one requirements line; None for options, paths, URLs and blanks."""
    text = _COMMENT.sub("", line).strip()
    if not text or text.startswith("-"):
        return None  # -r, -c, -e, --index-url, …: not a requirement of a named package
    text = text.split(";", 1)[0]  # environment markers
    text = _OPTION.split(" " + text, maxsplit=1)[0].strip()  # trailing --hash=…, --config-settings …
    match = _NAME.fullmatch(text)
    if not match or "/" in match.group(1) or match.group(1).lower().endswith(_ARCHIVE):
        return None
    rest = match.group(2).strip()
    if rest and rest[0] not in "=<>!~@(":
        return None  # "git+https://…", "./local" and the like
    pin = _PIN.fullmatch(rest)
    return match.group(1), pin.group(1) if pin else ""


def parse_requirements(src: Source) -> None:
    for number, line in _logical_lines(src.text):
        found = requirement(line)
        if found:
            src.add("pypi", found[0], found[1], number, True)


# ------------------------------------------------------------------------------------------- pyproject


def _pep508_name(spec: object) -> str | None:
    match = _NAME.match(text_of(spec).strip())
    return match.group(1) if match else None


def _pyproject_names(src: Source) -> set[str]:
    """Names the project declares: Poetry's dependencies and groups, PEP 621 dependencies and extras, PEP 735
    dependency groups."""
    manifest = src.sibling("pyproject.toml")
    data = as_dict(load_toml(manifest) if manifest is not None else None)
    poetry = as_dict(as_dict(data.get("tool")).get("poetry"))
    names: set[str] = set(as_dict(poetry.get("dependencies"))) | set(as_dict(poetry.get("dev-dependencies")))
    for group in as_dict(poetry.get("group")).values():
        names |= set(as_dict(as_dict(group).get("dependencies")))
    names.discard("python")
    project = as_dict(data.get("project"))
    specs = list(as_list(project.get("dependencies")))
    for extra in as_dict(project.get("optional-dependencies")).values():
        specs += as_list(extra)
    for group in as_dict(data.get("dependency-groups")).values():
        specs += as_list(group)
    names |= {name for name in map(_pep508_name, specs) if name}
    return {normalize_pypi(name) for name in names}


# ------------------------------------------------------------------------------------------- poetry.lock


def parse_poetry_lock(src: Source) -> None:
    data = load_toml(src)
    if data is None:
        return
    packages = as_list(data.get("package"))
    lines = table_array_lines(src.text, "package")
    direct = _pyproject_names(src)
    for i, package in enumerate(packages):
        package = as_dict(package)
        if as_dict(package.get("source")).get("type") in ("directory", "file"):
            continue  # local code, not a PyPI release
        name, version = text_of(package.get("name")), text_of(package.get("version"))
        if name and version:
            src.add("pypi", name, version, line_at(lines, i, len(packages)), normalize_pypi(name) in direct)


# ------------------------------------------------------------------------------------------ Pipfile.lock


def _pipfile_names(src: Source) -> set[str] | None:
    pipfile = src.sibling("Pipfile")
    if pipfile is None:
        return None
    data = as_dict(load_toml(pipfile))
    # [packages], [dev-packages] and any custom category; the other tables are settings.
    settings = ("source", "requires", "pipenv", "scripts")
    sections = [value for key, value in data.items() if key not in settings]
    return {normalize_pypi(name) for section in sections for name in as_dict(section)}


def parse_pipfile_lock(src: Source) -> None:
    data = load_json(src)
    if data is None:
        return
    if not isinstance(data, dict):
        src.problem("not a lockfile (the top level is not an object)")
        return
    declared = _pipfile_names(src)
    index = json_lines(src.text)
    for section, packages in data.items():
        if section == "_meta" or not isinstance(packages, dict):
            continue  # "default", "develop" and custom categories hold packages
        _, cursor = index.find(section, 1)
        for name, entry in packages.items():
            entry = as_dict(entry)
            version = text_of(entry.get("version")).lstrip("=").strip()
            if not version and ("path" in entry or "file" in entry or entry.get("editable")):
                continue  # local code
            line, _ = index.find(name, 2, cursor)
            direct = True if declared is None else normalize_pypi(name) in declared
            src.add("pypi", name, version, line, direct)


# ----------------------------------------------------------------------------------------------- uv.lock


def _uv_dependency_names(package: dict) -> set[str]:
    lists = [as_list(package.get("dependencies"))]
    lists += [as_list(v) for v in as_dict(package.get("optional-dependencies")).values()]
    lists += [as_list(v) for v in as_dict(package.get("dev-dependencies")).values()]
    return {normalize_pypi(text_of(as_dict(dep).get("name"))) for deps in lists for dep in deps}


def parse_uv_lock(src: Source) -> None:
    data = load_toml(src)
    if data is None:
        return
    packages = [as_dict(package) for package in as_list(data.get("package"))]
    lines = table_array_lines(src.text, "package")

    # The project itself (editable "." or virtual ".") and other workspace members are our own code: skip
    # them; what they depend on is direct. Local directories and files are not PyPI releases either.
    def own(package: dict) -> bool:
        source = as_dict(package.get("source"))
        return "editable" in source or "virtual" in source

    direct: set[str] = set()
    for package in packages:
        if own(package):
            direct |= _uv_dependency_names(package)
    for i, package in enumerate(packages):
        source = as_dict(package.get("source"))
        if own(package) or "directory" in source or "path" in source:
            continue
        name, version = text_of(package.get("name")), text_of(package.get("version"))
        if name:
            src.add("pypi", name, version, line_at(lines, i, len(packages)), normalize_pypi(name) in direct)
