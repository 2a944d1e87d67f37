"""Is a dependency affected by an OSV record? Ranges, explicit versions, severity, fixed version, aliases.

Follows the OSV schema (https://ossf.github.io/osv-schema/): `affected[].ranges` of type ECOSYSTEM or SEMVER
with events `introduced` / `fixed` (exclusive) / `last_affected` (inclusive) / `limit`, several pairs per range,
and `affected[].versions`, an explicit list. Versions are compared with univers' per-ecosystem classes, never by
hand; a version univers cannot read is not matched (and counted in `Unparsable`), never an exception.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache

from cvss import CVSS3, CVSS4
from univers.versions import (
    GolangVersion,
    MavenVersion,
    NugetVersion,
    PypiVersion,
    SemverVersion,
    Version,
)

from core.dependencies.package import Dependency
from core.severity import Severity

VERSION_CLASSES: dict[str, type[Version]] = {
    "npm": SemverVersion,
    "PyPI": PypiVersion,
    "Maven": MavenVersion,
    "NuGet": NugetVersion,
    "Go": GolangVersion,
    "crates.io": SemverVersion,
}
# An advisory states CRITICAL to LOW, never INFO (core/severity.py order, most severe first).
SEVERITY_ORDER = Severity.LOW.at_or_above()
DEFAULT_SEVERITY = Severity.MEDIUM.value  # a record that states no severity


@dataclass
class Unparsable:
    """How many versions univers could not read (dependencies' or advisories'), for logs and benchmarks."""

    count: int = 0


UNPARSABLE = Unparsable()


@dataclass(frozen=True)
class Match:
    advisory_id: str
    summary: str
    details: str
    severity: str
    fixed: str | None
    aliases: tuple[str, ...] = field(default_factory=tuple)
    published: str = ""  # the record's `published` stamp (RFC 3339), "" when it has none
    severity_known: bool = (
        True  # False: the record gives no CVSS vector and no word, `severity` is the default
    )


def normalize_name(ecosystem: str, name: str) -> str:
    """The key a package name is compared by: PEP 503 for PyPI, lower case for NuGet, exact otherwise."""
    if ecosystem == "PyPI":
        return re.sub(r"[-_.]+", "-", name).lower()
    if ecosystem == "NuGet":
        return name.lower()
    return name


@lru_cache(maxsize=200_000)
def parse_version(ecosystem: str, text: str) -> Version | None:
    """The univers version, or None when univers cannot read it (or the ecosystem is not ours)."""
    cls = VERSION_CLASSES.get(ecosystem)
    if cls is None or not text:
        return None
    if ecosystem == "Go":
        text = text if text.startswith("v") else f"v{text}"
    try:
        # univers declares its one field with attr.ib(type=str), unannotated: the checker sees no parameter.
        return cls(text.removeprefix("v") if ecosystem in ("npm", "crates.io") else text)  # pyright: ignore[reportCallIssue]
    except Exception:  # univers raises InvalidVersion, ValueError or TypeError depending on the scheme
        UNPARSABLE.count += 1
        return None


def match(record: dict, dep: Dependency) -> Match | None:
    """The match of this record for this dependency, or None when it is not affected (or withdrawn)."""
    if record.get("withdrawn"):
        return None
    version = parse_version(dep.ecosystem, dep.version)
    if version is None:
        return None
    wanted = normalize_name(dep.ecosystem, dep.name)
    for affected in record.get("affected") or []:
        package = affected.get("package") or {}
        if package.get("ecosystem", "").split(":")[0] != dep.ecosystem:
            continue
        if normalize_name(dep.ecosystem, package.get("name", "")) != wanted:
            continue
        hit, fixed = affected_by(affected, dep.ecosystem, dep.version, version)
        if hit:
            known = known_severity(record, affected)
            return Match(
                advisory_id=record["id"],
                summary=record.get("summary") or "",
                details=record.get("details") or "",
                severity=known or DEFAULT_SEVERITY,
                fixed=fixed,
                aliases=tuple(str(a) for a in record.get("aliases") or () if a),
                published=str(record.get("published") or ""),
                severity_known=known is not None,
            )
    return None


def affected_by(affected: dict, ecosystem: str, text: str, version: Version) -> tuple[bool, str | None]:
    """(affected?, the smallest fixed version above it in the matching range)."""
    for listed in affected.get("versions") or []:
        if listed == text or parse_version(ecosystem, listed) == version:
            return True, fixed_in(affected, ecosystem, version)
    for range_ in affected.get("ranges") or []:
        if range_.get("type") not in ("ECOSYSTEM", "SEMVER"):
            continue  # GIT ranges are commits, not versions
        if in_range(range_.get("events") or [], ecosystem, version):
            return True, fixed_in({"ranges": [range_]}, ecosystem, version)
    return False, None


def in_range(events: list[dict], ecosystem: str, version: Version) -> bool:
    """OSV's evaluation: events sorted by version ("0" first); the last event at or below decides."""
    parsed = []
    for event in events:
        for kind in ("introduced", "fixed", "last_affected", "limit"):
            if kind in event:
                value = event[kind]
                at = None if value == "0" else parse_version(ecosystem, value)
                if value != "0" and at is None:
                    break  # an unreadable bound: skip this event rather than guess
                parsed.append((kind, at))
    affected = False
    for kind, at in sorted(parsed, key=event_order):
        reached = at is None or version >= at
        if kind == "introduced" and reached:
            affected = True
        elif kind in ("fixed", "limit") and reached:
            affected = False
        elif kind == "last_affected" and at is not None and version > at:
            affected = False  # last_affected is inclusive: only versions above it are out
    return affected


def event_order(event: tuple[str, Version | None]) -> tuple:
    # "introduced: 0" sorts before every version.
    return (0,) if event[1] is None else (1, event[1])


def fixed_in(affected: dict, ecosystem: str, version: Version) -> str | None:
    candidates = []
    for range_ in affected.get("ranges") or []:
        for event in range_.get("events") or []:
            if "fixed" in event:
                at = parse_version(ecosystem, event["fixed"])
                if at is not None and at > version:
                    candidates.append((at, event["fixed"]))
    return min(candidates, key=lambda c: c[0])[1] if candidates else None


def severity(record: dict, affected: dict | None = None) -> str:
    """CVSS base score when there is a vector, else the database's word, else MEDIUM."""
    return known_severity(record, affected) or DEFAULT_SEVERITY


def known_severity(record: dict, affected: dict | None = None) -> str | None:
    """The severity the record states (CVSS base score first, then the database's word), or None."""
    entries = [*(record.get("severity") or []), *((affected or {}).get("severity") or [])]
    scores = [s for s in (cvss_score(e) for e in entries) if s is not None]
    if scores:
        return score_severity(max(scores))
    word = str((record.get("database_specific") or {}).get("severity") or "").upper()
    word = {"MODERATE": "MEDIUM"}.get(word, word)
    return word if word in SEVERITY_ORDER else None


def score(base_score: Decimal | float | None) -> float | None:
    """A cvss base score as a float; None when the vector gave none."""
    return None if base_score is None else float(base_score)


def cvss_score(entry: dict) -> float | None:
    """The base score of a CVSS v3 or v4 vector; `type` may be a name or, as osv.dev once sent, an int."""
    kind, vector = str(entry.get("type", "")), str(entry.get("score", ""))
    try:
        if kind in ("CVSS_V3", "2") or vector.startswith("CVSS:3"):
            return score(CVSS3(vector).base_score)
        if kind in ("CVSS_V4", "3") or vector.startswith("CVSS:4"):
            return score(CVSS4(vector).base_score)
    except Exception:  # a malformed vector: the caller falls back to the database's word
        return None
    return None


def score_severity(score: float) -> str:
    if score >= 9:
        return "CRITICAL"
    if score >= 7:
        return "HIGH"
    if score >= 4:
        return "MEDIUM"
    return "LOW" if score > 0 else "MEDIUM"
