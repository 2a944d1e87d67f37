"""Vulnerable dependencies: the repository's inventory matched against OSV advisories.

One finding per (dependency occurrence, advisory), at the manifest line that declares the package. Its identity
is (ecosystem, name, advisory), not the version, so upgrading to a version that is still vulnerable keeps the
same finding, and reaching a fixed version fixes it. Where advisories come from (the OSV API, an imported export,
or nothing) is the service's choice, handed in as `ScanContext.advisories`.

The inventory is left in `context.options["inventory"]` so the scan service can store it: an unchanged commit is
not downloaded again, but its stored inventory is matched against the advisories published since.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

from core.dependencies.advisories import NoAdvisories
from core.dependencies.inventory import inventory
from core.dependencies.matching import Match, match
from core.dependencies.package import Dependency
from core.scans.scanner import RawFinding, Rule, ScanContext, ScannerError

log = logging.getLogger(__name__)
MAX_RATIONALE = 2000


class DependenciesScanner:
    name = "dependencies"
    version = "1"
    rules: tuple[Rule, ...] = ()  # one rule per advisory, made from the OSV record

    async def scan(self, context: ScanContext) -> list[RawFinding]:
        if not context.root.is_dir():
            raise ScannerError(f"the repository directory {context.root.name!r} does not exist")
        deps, problems = await asyncio.to_thread(inventory, context.root)
        if problems:
            log.info("dependency inventory: %d file(s) could not be read fully", len(problems))
        context.options["inventory"] = deps
        return await vulnerable(deps, context.advisories or NoAdvisories())


async def vulnerable(deps: list[Dependency], source) -> list[RawFinding]:
    """The findings for these dependencies from this advisory source (ScannerError when it is unreachable)."""
    candidates = await source.advisories_for(deps)
    return findings_for(deps, candidates)


def findings_for(deps: Iterable[Dependency], candidates: dict) -> list[RawFinding]:
    findings = []
    for dep in deps:
        seen = set()
        for record in candidates.get((dep.ecosystem, dep.name, dep.version), []):
            found = match(record, dep)
            if found is not None and found.advisory_id not in seen:
                seen.add(found.advisory_id)
                findings.append(raw_finding(dep, found))
    return findings


def raw_finding(dep: Dependency, found: Match) -> RawFinding:
    if found.fixed:
        remediation = f"Upgrade {dep.name} to {found.fixed} or later."
    else:
        remediation = (
            f"No fixed version is published; replace {dep.name}, or check the advisory for mitigations."
        )
    details = found.details
    if len(details) > MAX_RATIONALE:
        details = details[: MAX_RATIONALE - 1] + "…"
    rule = Rule(
        id=found.advisory_id,
        title=found.summary or f"Vulnerable {dep.name}",
        severity=found.severity,
        category="DEPENDENCY",
        rationale=details,
        remediation=remediation,
        help_uri=f"https://osv.dev/vulnerability/{found.advisory_id}",
    )
    aliases = f" (aliases: {', '.join(found.aliases)})" if found.aliases else ""
    fixed = f"fixed in {found.fixed}" if found.fixed else "no fixed version published"
    kind = "direct" if dep.direct else "transitive"
    message = f"{dep.purl} ({kind} dependency) is affected by {found.advisory_id}{aliases}; {fixed}."
    return RawFinding(
        rule=rule,
        path=dep.path,
        line=dep.line,
        message=message,
        identity=f"{dep.ecosystem}:{dep.name}:{found.advisory_id}",
    )


SCANNER = DependenciesScanner()
