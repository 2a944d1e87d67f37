"""Vulnerable dependencies: the repository's inventory matched against OSV advisories.

One finding per (dependency occurrence, vulnerability), at the manifest line that declares the package. OSV
records that alias each other (a PYSEC id and its GHSA, a GHSA and its CVE) are one vulnerability
(`core/dependencies/aliases.py`): one finding whose message lists every id, with the highest severity and the
fixed version that fixes them all. Its identity is (ecosystem, name, canonical id), not the version, so upgrading
to a version that is still vulnerable keeps the same finding, and reaching a fixed version fixes it; a later alias
record that changes the canonical id carries the finding over. Where advisories come from (the OSV API, an
imported export, or nothing) is the service's choice, handed in as `ScanContext.advisories`.

A lockfile or manifest the inventory could not read (invalid JSON/TOML/XML, too large, not UTF-8…) is a finding
of its own, `DEP-PARSE` (one per file, the reasons without any of its content): its packages were not checked, and
the run says so rather than quietly reporting fewer findings.

The inventory is left in `context.options["inventory"]` so the scan service can store it: an unchanged commit is
not downloaded again, but its stored inventory is matched against the advisories published since. Unreadable
files are kept in it as markers (`unread_marker`), so a reused commit reports the same `DEP-PARSE` findings.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

from core.dependencies.advisories import NoAdvisories
from core.dependencies.aliases import Vulnerability, alias_groups, merged
from core.dependencies.inventory import inventory
from core.dependencies.matching import Match, match
from core.dependencies.package import Dependency
from core.scans.scanner import RawFinding, Rule, ScanContext, ScannerError

log = logging.getLogger(__name__)
MAX_RATIONALE = 2000
UNREAD = "unread"  # the ecosystem of an inventory marker: a file that could not be read (see unread_marker)

PARSE_RULE = Rule(
    id="DEP-PARSE",
    title="Dependency file could not be read",
    severity="LOW",
    category="DEPENDENCY",
    rationale="The lockfile or manifest could not be parsed (or was too large, or not UTF-8 text), so none of "
    "the packages it declares were checked for known vulnerabilities: a vulnerable package in it would go "
    "unreported.",
    remediation="Fix the file so its package manager reads it (regenerate a lockfile with `npm install`, "
    "`poetry lock`, `dotnet restore --use-lock-file`…), or remove it if it is not used.",
)


class DependenciesScanner:
    name = "dependencies"
    # 2: aliasing records merged into one finding; unreadable dependency files are DEP-PARSE findings.
    version = "2"
    rules: tuple[Rule, ...] = (PARSE_RULE,)  # and one rule per vulnerability, made from its OSV records

    async def scan(self, context: ScanContext) -> list[RawFinding]:
        if not context.root.is_dir():
            raise ScannerError(f"the repository directory {context.root.name!r} does not exist")
        deps, problems = await asyncio.to_thread(inventory, context.root)
        if problems:
            log.info("dependency inventory: %d problem(s) in files that could not be read", len(problems))
        stored = [*deps, *unread_markers(problems)]
        context.options["inventory"] = stored
        return await vulnerable(stored, context.advisories or NoAdvisories())


def unread_markers(problems) -> list[Dependency]:
    """One inventory entry per unreadable file: its reasons (never its content) in `name`, nothing to match."""
    reasons: dict[str, list[str]] = {}
    for problem in problems:
        reasons.setdefault(problem.path, []).append(problem.what)
    return [unread_marker(path, why) for path, why in sorted(reasons.items())]


def unread_marker(path: str, reasons: list[str]) -> Dependency:
    # `name` is stored in 300 characters (repository_dependencies.name).
    return Dependency(UNREAD, "; ".join(dict.fromkeys(reasons))[:300], "", "", path, None, False)


async def vulnerable(deps: list[Dependency], source) -> list[RawFinding]:
    """The findings for these dependencies from this advisory source (ScannerError when it is unreachable)."""
    candidates = await source.advisories_for([d for d in deps if d.ecosystem != UNREAD])
    return vulnerable_in(deps, candidates)


def vulnerable_in(deps: list[Dependency], candidates: dict) -> list[RawFinding]:
    """The findings for these dependencies from advisories already looked up (`advisories_for`)."""
    packages = [d for d in deps if d.ecosystem != UNREAD]
    return findings_for(packages, candidates) + [parse_finding(d) for d in deps if d.ecosystem == UNREAD]


def parse_finding(marker: Dependency) -> RawFinding:
    return RawFinding(
        rule=PARSE_RULE,
        path=marker.path,
        message=f"{marker.path} could not be read, so its dependencies were not checked: {marker.name}.",
        identity="unread",
    )


def findings_for(deps: Iterable[Dependency], candidates: dict) -> list[RawFinding]:
    findings = []
    for dep in deps:
        matches: dict[str, Match] = {}
        for record in candidates.get((dep.ecosystem, dep.name, dep.version), []):
            found = match(record, dep)
            if found is not None:
                matches.setdefault(found.advisory_id, found)
        for group in alias_groups(list(matches.values())):
            findings.append(raw_finding(dep, merged(group, dep.ecosystem)))
    return findings


def raw_finding(dep: Dependency, vulnerability: Vulnerability) -> RawFinding:
    fixed_in = vulnerability.fixed
    if fixed_in:
        remediation = f"Upgrade {dep.name} to {fixed_in} or later."
    else:
        remediation = (
            f"No fixed version is published; replace {dep.name}, or check the advisory for mitigations."
        )
    details = vulnerability.details
    if len(details) > MAX_RATIONALE:
        details = details[: MAX_RATIONALE - 1] + "…"
    rule = Rule(
        id=vulnerability.id,
        title=vulnerability.summary or f"Vulnerable {dep.name}",
        severity=vulnerability.severity,
        category="DEPENDENCY",
        rationale=details,
        remediation=remediation,
        help_uri=f"https://osv.dev/vulnerability/{vulnerability.id}",
    )
    aliases = f" (aliases: {', '.join(vulnerability.aliases)})" if vulnerability.aliases else ""
    fixed = f"fixed in {fixed_in}" if fixed_in else "no fixed version published"
    kind = "direct" if dep.direct else "transitive"
    message = f"{dep.purl} ({kind} dependency) is affected by {vulnerability.id}{aliases}; {fixed}."
    return RawFinding(
        rule=rule,
        path=dep.path,
        line=dep.line,
        message=message,
        identity=identity(dep, vulnerability.id),
        # Whichever id of the group named this finding before: version 1 gave each record its own finding, and a
        # record published earlier may have joined (or the one that named it been withdrawn) since.
        previous_keys=tuple((i, identity(dep, i)) for i in vulnerability.aliases),
    )


def identity(dep: Dependency, advisory_id: str) -> str:
    return f"{dep.ecosystem}:{dep.name}:{advisory_id}"


SCANNER = DependenciesScanner()
