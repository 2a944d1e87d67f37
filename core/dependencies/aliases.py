"""One vulnerability, many ids: OSV records that alias each other become one finding per package version.

OSV publishes the same vulnerability under several ids (a PyPI one as `PYSEC-…` and `GHSA-…`, both naming
`CVE-…`; a Go one as `GO-…`), each record listing the others in `aliases`. The records that match one dependency
are grouped by those links (transitively: A names B, C names B, so A, B and C are one vulnerability), and each
group is reported once:

- its ids: every record id and every alias any of them names, so searching for the CVE, the GHSA or the PYSEC id
  finds the finding;
- its canonical id (the rule id, the identity, the osv.dev link): one of the group's *records*, the one published
  first (its `published` stamp; a record without one comes last), ties broken by id. An id only named as
  an alias is never canonical, so a single record keeps its own id, as before grouping existed; a record that
  arrives later changes the canonical id only if it was published earlier, and then the finding is carried over
  (`previous_keys`: every record id of the group), never closed and reopened;
- its severity: the highest that any of its records states (a record that states none counts only when none
  does);
- its fixed version: the earliest version that fixes every record that publishes a fix, i.e. the highest of their
  fixed versions (a record without a fix, often one whose database has not caught up, does not hide the others').
"""

from __future__ import annotations

from dataclasses import dataclass

from core.dependencies.matching import DEFAULT_SEVERITY, Match, parse_version
from core.severity import rank

NEVER = "~"  # sorts after every RFC 3339 stamp: a record without dates is published "last"


@dataclass(frozen=True)
class Vulnerability:
    canonical: Match  # the record whose id names the finding (and whose summary and details describe it)
    ids: tuple[str, ...]  # every id of the group, canonical first, the others sorted
    records: tuple[str, ...]  # the ids of the group's records, in canonical order
    severity: str
    fixed: str | None
    summary: str = ""  # the canonical record's, else the first record's that has one
    details: str = ""

    @property
    def id(self) -> str:
        return self.canonical.advisory_id

    @property
    def aliases(self) -> tuple[str, ...]:
        return self.ids[1:]


def canonical_order(found: Match) -> tuple[str, str]:
    return (found.published or NEVER, found.advisory_id)


def alias_groups(matches: list[Match]) -> list[list[Match]]:
    """The matches grouped by shared ids (union-find over record ids and aliases), in canonical order."""
    parent: dict[str, str] = {}

    def root(node: str) -> str:
        while parent.setdefault(node, node) != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for found in matches:
        for alias in found.aliases:
            a, b = root(found.advisory_id), root(alias)
            if a != b:
                parent[max(a, b)] = min(a, b)
    groups: dict[str, list[Match]] = {}
    for found in matches:
        groups.setdefault(root(found.advisory_id), []).append(found)
    return sorted(
        (sorted(group, key=canonical_order) for group in groups.values()),
        key=lambda group: canonical_order(group[0]),
    )


def merged(group: list[Match], ecosystem: str) -> Vulnerability:
    """One vulnerability from a group of matches of one dependency (see the module's docstring)."""
    ordered = sorted(group, key=canonical_order)
    canonical = ordered[0]
    others = {found.advisory_id for found in ordered} | {a for found in ordered for a in found.aliases}
    others.discard(canonical.advisory_id)
    return Vulnerability(
        canonical=canonical,
        ids=(canonical.advisory_id, *sorted(others)),
        records=tuple(found.advisory_id for found in ordered),
        severity=highest_severity(ordered),
        fixed=fix_for_all(ordered, ecosystem),
        summary=next((found.summary for found in ordered if found.summary), ""),
        details=next((found.details for found in ordered if found.details), ""),
    )


def highest_severity(group: list[Match]) -> str:
    stated = [found.severity for found in group if found.severity_known]
    if not stated:
        return DEFAULT_SEVERITY
    return min(stated, key=rank)


def fix_for_all(group: list[Match], ecosystem: str) -> str | None:
    fixes = []
    for found in group:
        parsed = parse_version(ecosystem, found.fixed) if found.fixed else None
        if parsed is not None:
            fixes.append((parsed, found.fixed))
    return max(fixes, key=lambda fix: fix[0])[1] if fixes else None
