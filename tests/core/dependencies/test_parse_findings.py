"""A lockfile the dependencies inventory cannot read is a finding of its own (DEP-PARSE), never a quietly shorter
result: one per file, LOW, without the file's content, kept while the commit is reused, fixed with the file."""

from datetime import timedelta

from core.db.columns import utcnow
from core.scanners.dependencies import SCANNER
from tests.core.dependencies.planted import EXPECTED, FILES, connected, dependency_findings, new_day, runs
from tests.support.flows import run_daily

BROKEN = {
    "web/package-lock.json": '{\n  "lockfileVersion": 3,\n  "packages": {\n    "SECRET-TOKEN": \n}',
    "tools/poetry.lock": '[[package]]\nname = "requests"\nversion = "SECRET-TOKEN\n',
    "api/packages.lock.json": '{\n  "version": 1,\n\n  SECRET-TOKEN',
    # Valid JSON, but not a lockfile: nothing in it can be inventoried either.
    "legacy/npm-shrinkwrap.json": '["SECRET-TOKEN"]',
}
MESSAGES = {
    "web/package-lock.json": "not valid JSON (line 5)",
    "tools/poetry.lock": "not valid TOML (line 3)",
    "api/packages.lock.json": "not valid JSON (line 4)",
    "legacy/npm-shrinkwrap.json": "not a lockfile (the top level is not an object)",
}


def plant(world, files: dict) -> None:
    repo = world.organization("contoso").project("Payments").repositories[0]
    repo.files = {**FILES, **files}
    repo.head_commit = repo.tree_digest()


async def parse_findings(services):
    return {f.path: f for f in await dependency_findings(services) if f.rule_id == "DEP-PARSE"}


async def test_unreadable_lockfiles_are_findings_of_their_own(services, world, sandbox):
    assert "DEP-PARSE" in {rule.id for rule in SCANNER.rules}
    await connected(services, world)
    plant(world, BROKEN)
    await run_daily(services, utcnow())

    found = await parse_findings(services)
    assert set(found) == set(BROKEN)
    for path, finding in found.items():
        assert (finding.severity, finding.category, finding.scanner, finding.status, finding.line) == (
            "LOW",
            "DEPENDENCY",
            "dependencies",
            "OPEN",
            None,
        )
        assert finding.title == "Dependency file could not be read"
        assert finding.message == (
            f"{path} could not be read, so its dependencies were not checked: {MESSAGES[path]}."
        )
        assert "SECRET" not in finding.message + finding.description + finding.remediation
    # The readable files are still matched as before, and the run is complete: it says what it could not read.
    vulnerable = {(f.rule_id, f.severity, f.path, f.line) for f in await dependency_findings(services)}
    assert vulnerable - {(f.rule_id, f.severity, f.path, f.line) for f in found.values()} == EXPECTED
    assert (await runs(services))[-1].status == "SUCCEEDED"

    # The same commit the next day is not downloaded again, and what it could not read is still reported.
    await new_day(services)
    sandbox.context.requests.clear()
    await run_daily(services, utcnow() + timedelta(days=1))
    last = (await runs(services))[-1]
    assert last.reused and sandbox.context.count("dev", "/items") == 0
    assert (last.new_findings, last.fixed_findings) == (0, 0)
    assert {p: f.status for p, f in (await parse_findings(services)).items()} == dict.fromkeys(BROKEN, "OPEN")

    # The poetry lockfile is repaired: its finding is fixed, the others stay open.
    plant(world, {**BROKEN, "tools/poetry.lock": '[[package]]\nname = "requests"\nversion = "2.31.0"\n'})
    await run_daily(services, utcnow() + timedelta(days=2))
    statuses = {p: f.status for p, f in (await parse_findings(services)).items()}
    assert statuses == {**dict.fromkeys(BROKEN, "OPEN"), "tools/poetry.lock": "FIXED"}
