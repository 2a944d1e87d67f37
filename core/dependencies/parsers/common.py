"""What every parser shares: the file being parsed, building a Dependency with its package URL, and the line
numbers that the stdlib JSON, TOML and XML parsers do not report.

Line numbers are found by cheap text scans made once per file (an index of JSON keys with their nesting depth,
the start lines of TOML `[[package]]` blocks, the opening tags of XML elements in document order), never by
re-scanning the whole text per package: a lockfile of thousands of packages stays linear.
"""

from __future__ import annotations

import bisect
import json
import posixpath
import re
import tomllib
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from packageurl import PackageURL

from core.dependencies.package import ECOSYSTEMS, Dependency


class Problem(str):
    """Why a file could not be read fully: reads as "path: what" (one short sentence, never the file's content),
    with `path` and `what` apart, so the scanner can make one finding per file."""

    path: str
    what: str

    def __new__(cls, path: str, what: str) -> Problem:
        made = super().__new__(cls, f"{path}: {what}")
        made.path, made.what = path, what
        return made

    def __reduce__(self):  # pickled (e.g. across processes) as itself, not as a plain str
        return (Problem, (self.path, self.what))


@dataclass
class Source:
    """One file being parsed, where its dependencies and problems go, and a way to read its neighbours."""

    path: str  # repository-relative, POSIX separators
    text: str
    # Another file by repository-relative path; None when it is absent or unreadable.
    read: Callable[[str], str | None]
    problems: list[Problem]
    found: list[Dependency] = field(default_factory=list)

    def problem(self, what: str) -> None:
        self.problems.append(Problem(self.path, what))

    def sibling(self, name: str) -> Source | None:
        """The file `name` in the same folder, sharing the problem list (so its own defects are reported)."""
        return self.at(posixpath.join(posixpath.dirname(self.path), name))

    def at(self, path: str) -> Source | None:
        text = self.read(path)
        return None if text is None else Source(path, text, self.read, self.problems)

    def add(self, kind: str, name: str, version: str, line: int | None, direct: bool) -> None:
        """Record a dependency; `kind` is the purl type (a key of ECOSYSTEMS). Unusable names are dropped."""
        made = make_dependency(kind, name, version, self.path, line, direct)
        if made is not None:
            self.found.append(made)


def normalize_pypi(name: str) -> str:
    # PEP 503: the index treats "Jinja2", "jinja_2" and "jinja.2" alike; OSV and purl use this form.
    return re.sub(r"[-_.]+", "-", name).lower()


def make_dependency(
    kind: str, name: str, version: str, path: str, line: int | None, direct: bool
) -> Dependency | None:
    name = name.strip()
    version = version.strip()
    if kind == "pypi":
        name = normalize_pypi(name)
    namespace: str | None = None
    short = name
    if kind == "npm" and name.startswith("@") and "/" in name:
        namespace, short = name.split("/", 1)
    elif kind == "golang" and "/" in name:
        namespace, short = name.rsplit("/", 1)
    elif kind == "maven" and ":" in name:
        namespace, short = name.split(":", 1)
    if not short:
        return None
    try:
        purl = PackageURL(type=kind, namespace=namespace, name=short, version=version or None).to_string()
    except ValueError:
        return None
    return Dependency(ECOSYSTEMS[kind], name, version, purl, path, line, direct)


def as_dict(value: Any) -> dict:
    """`value` when it is a JSON object / TOML table, else an empty one: wrong types are skipped, not fatal."""
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list:
    return value if isinstance(value, list) else []


def text_of(value: Any) -> str:
    return value if isinstance(value, str) else ""


# ---------------------------------------------------------------------------------------------------- JSON


def load_json(src: Source) -> Any | None:
    try:
        return json.loads(src.text)
    except json.JSONDecodeError as error:
        src.problem(f"not valid JSON (line {error.lineno})")
    except RecursionError:
        src.problem("not readable JSON (nested too deeply)")
    return None


# Every string (a key when a colon follows) and every bracket. JSON has no quotes outside strings, so matching
# strings one after another from the start tokenises exactly; brackets inside strings are consumed with them.
_JSON_TOKEN = re.compile(r'(?P<s>"[^"\\]*(?:\\.[^"\\]*)*")(?P<colon>\s*:)?|(?P<open>[{\[])|(?P<close>[}\]])')


@dataclass
class JsonLines:
    """Where each object key occurs in a JSON text, by (key, depth): depth 1 is the top-level object's keys."""

    keys: dict[tuple[str, int], list[int]]  # offsets, ascending
    newlines: list[int]

    def find(self, key: str, depth: int, after: int | None = -1) -> tuple[int | None, int | None]:
        """(line, offset) of the first `key` at `depth` after offset `after`; (None, None) when there is none."""
        offsets = self.keys.get((key, depth))
        if not offsets or after is None:
            return None, None
        i = bisect.bisect_right(offsets, after)
        if i == len(offsets):
            return None, None
        offset = offsets[i]
        return bisect.bisect_right(self.newlines, offset) + 1, offset


def json_lines(text: str) -> JsonLines:
    keys: dict[tuple[str, int], list[int]] = {}
    depth = 0
    for match in _JSON_TOKEN.finditer(text):
        kind = match.lastgroup
        if kind == "open":
            depth += 1
        elif kind == "close":
            depth -= 1
        elif kind == "colon":
            raw = match.group("s")
            key = raw[1:-1]
            if "\\" in key:
                try:
                    key = json.loads(raw)
                except json.JSONDecodeError:
                    continue
            keys.setdefault((key, depth), []).append(match.start())
    newlines = [m.start() for m in re.finditer("\n", text)]
    return JsonLines(keys, newlines)


# ---------------------------------------------------------------------------------------------------- TOML


def load_toml(src: Source) -> dict | None:
    try:
        return tomllib.loads(src.text)
    except tomllib.TOMLDecodeError as error:
        # The message ends with "(at line N, column M)"; the rest may quote the file, so only N is kept.
        found = re.search(r"line (\d+)", str(error))
        src.problem(f"not valid TOML (line {found.group(1)})" if found else "not valid TOML")
    except RecursionError:
        src.problem("not readable TOML (nested too deeply)")
    return None


def table_array_lines(text: str, name: str) -> list[int]:
    """1-based start lines of every `[[name]]` header, in order (tomllib keeps the same order)."""
    header = re.compile(rf"^[ \t]*\[\[[ \t]*{re.escape(name)}[ \t]*\]\]", re.M)
    lines = []
    line, position = 1, 0
    for match in header.finditer(text):
        line += text.count("\n", position, match.start())
        position = match.start()
        lines.append(line)
    return lines


def line_at(lines: list[int], index: int, expected: int) -> int | None:
    # When the scan disagrees with the parser (a header inside a multi-line string), no line beats a wrong one.
    return lines[index] if len(lines) == expected else None


# ----------------------------------------------------------------------------------------------------- XML


def load_xml(src: Source) -> ET.Element | None:
    # A DOCTYPE is the only place entities can be declared: refusing it means no entity is ever expanded
    # (no billion laughs, no external entities). Real project files never need one.
    if re.search(r"<!DOCTYPE|<!ENTITY", src.text, re.I):
        src.problem("refused: the XML declares a DOCTYPE (entities are never expanded)")
        return None
    try:
        return ET.fromstring(src.text)  # noqa: S314 - safe: no DOCTYPE, hence no entity, reaches the parser
    except ET.ParseError as error:
        src.problem(f"not valid XML (line {error.position[0]})")
    except (ValueError, RecursionError):
        src.problem("not readable XML")
    return None


def local_name(tag: Any) -> str:
    """An element's name without its namespace (`{http://maven.apache.org/POM/4.0.0}dependency` → dependency)."""
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


_XML_HIDDEN = re.compile(r"<!--.*?-->|<!\[CDATA\[.*?\]\]>", re.S)


def element_lines(text: str, name: str) -> list[int]:
    """1-based lines of every opening `<name` tag (any namespace prefix) in document order, the same order as
    ElementTree's iter(). Comments and CDATA are blanked first (keeping their newlines) so that a commented-out
    element is not counted."""
    visible = _XML_HIDDEN.sub(lambda m: "\n" * m.group().count("\n"), text)
    tag = re.compile(rf"<(?:[\w.-]+:)?{re.escape(name)}(?=[\s/>])")
    lines = []
    line, position = 1, 0
    for match in tag.finditer(visible):
        line += visible.count("\n", position, match.start())
        position = match.start()
        lines.append(line)
    return lines


def elements_with_lines(root: ET.Element, text: str, name: str) -> list[tuple[ET.Element, int | None]]:
    elements = [element for element in root.iter() if local_name(element.tag) == name]
    lines = element_lines(text, name)
    if len(lines) != len(elements):
        return [(element, None) for element in elements]
    return list(zip(elements, lines, strict=True))
