"""One finding per vulnerability: OSV records that alias each other (a PYSEC id, its GHSA, their CVE) are merged,
from the OSV API and from an imported export alike, and the finding keeps its identity when an alias record
arrives later."""

import random
from datetime import timedelta

from sqlmodel import select

from core.db.columns import utcnow
from core.dependencies.aliases import alias_groups
from core.dependencies.matching import Match
from core.dependencies.osv_import import import_exports
from core.findings.models import Finding
from sandbox.osv import default_advisories
from tests.core.dependencies.planted import EXPECTED, connected, dependency_findings, new_day, runs, write_zip
from tests.support.flows import run_daily


def flask_record(advisory_id: str, published: str, aliases: list[str], fixed: str, **extra) -> dict:
    return {
        "id": advisory_id,
        "modified": "2026-11-28T00:00:00Z",
        "published": published,
        "aliases": aliases,
        "summary": f"Cookie disclosure in Flask ({advisory_id})",
        "affected": [
            {
                "package": {"ecosystem": "PyPI", "name": "flask"},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "2.0"}, {"fixed": fixed}]}],
            }
        ],
        **extra,
    }


# GitHub's advisory: HIGH, fixed in 2.3.3. PyPI's, published first: no severity, fixed in 2.3.4, and it names only
# the CVE, not the GHSA (the two are one vulnerability through the CVE they share).
GHSA = flask_record(
    "GHSA-test-flsk-0002",
    "2023-08-01T00:00:00Z",
    ["CVE-2099-0002"],
    "2.3.3",
    database_specific={"severity": "HIGH"},
)
PYSEC = flask_record("PYSEC-2099-2", "2023-07-20T00:00:00Z", ["CVE-2099-0002"], "2.3.4")
MERGED_MESSAGE = (
    "pkg:pypi/flask@2.3.2 (direct dependency) is affected by PYSEC-2099-2 "
    "(aliases: CVE-2099-0002, GHSA-test-flsk-0002); fixed in 2.3.4."
)


def flask(found: list[Finding]) -> list[Finding]:
    return [f for f in found if "pkg:pypi/flask@" in f.message]


async def test_aliasing_records_from_the_api_are_one_finding(services, world, sandbox):
    world.advisories += [GHSA, PYSEC]
    await connected(services, world)
    await run_daily(services, utcnow())
    found = await dependency_findings(services)
    [merged] = flask(found)
    # Named by the record published first; every id in the message (a search for any of them finds it); the
    # highest severity any record states; the first version that fixes both.
    assert (merged.rule_id, merged.severity, merged.path, merged.line) == (
        "PYSEC-2099-2",
        "HIGH",
        "requirements.txt",
        1,
    )
    assert merged.message == MERGED_MESSAGE
    assert merged.remediation == "Upgrade flask to 2.3.4 or later."
    assert merged.help_uri == "https://osv.dev/vulnerability/PYSEC-2099-2"
    assert merged.title == "Cookie disclosure in Flask (PYSEC-2099-2)"
    # The planted advisories that alias nothing else are as they were.
    assert {(f.rule_id, f.severity, f.path, f.line) for f in found if f not in flask(found)} == EXPECTED


async def test_aliasing_records_from_an_import_are_one_finding(services, world, sandbox, engine, tmp_path):
    write_zip(tmp_path / "all.zip", [*default_advisories(), PYSEC, GHSA])
    await import_exports(engine, [tmp_path / "all.zip"])
    await connected(services, world)
    await run_daily(services, utcnow())
    [merged] = flask(await dependency_findings(services))
    assert (merged.rule_id, merged.severity, merged.message) == ("PYSEC-2099-2", "HIGH", MERGED_MESSAGE)
    assert sandbox.context.count("osv") == 0


async def test_an_alias_record_imported_later_keeps_the_finding(services, world, sandbox, engine, tmp_path):
    write_zip(tmp_path / "first.zip", [*default_advisories(), GHSA])
    await import_exports(engine, [tmp_path / "first.zip"])
    await connected(services, world)
    await run_daily(services, utcnow())
    [first] = flask(await dependency_findings(services))
    assert first.rule_id == "GHSA-test-flsk-0002" and first.severity == "HIGH"
    assert "(aliases: CVE-2099-0002); fixed in 2.3.3." in first.message
    async with services.sessions() as session:
        row = await session.get(Finding, first.id)
        row.status = "SUPPRESSED"  # someone reviewed it: that decision must survive the new record
        session.add(row)
        await session.commit()

    # The next export also has PyPI's record, published earlier: it names the vulnerability from now on, and the
    # finding is the same one (same row, first sighting and suppression), neither fixed nor opened anew.
    write_zip(tmp_path / "second.zip", [*default_advisories(), GHSA, PYSEC])
    await import_exports(engine, [tmp_path / "second.zip"])
    await new_day(services)
    await run_daily(services, utcnow() + timedelta(days=1))
    last = (await runs(services))[-1]
    assert last.status == "SUCCEEDED" and last.reused
    assert (last.new_findings, last.fixed_findings) == (0, 0)
    [second] = flask(await dependency_findings(services))
    assert (second.id, second.first_seen_at, second.status) == (first.id, first.first_seen_at, "SUPPRESSED")
    assert (second.rule_id, second.message) == ("PYSEC-2099-2", MERGED_MESSAGE)

    # PyPI's record is gone again, GitHub's now names it (as osv.dev's computed aliases do): back to GitHub's id,
    # still the same finding.
    write_zip(
        tmp_path / "third.zip",
        [*default_advisories(), {**GHSA, "aliases": ["CVE-2099-0002", "PYSEC-2099-2"]}],
    )
    await import_exports(engine, [tmp_path / "third.zip"])
    await new_day(services)
    await run_daily(services, utcnow() + timedelta(days=2))
    [third] = flask(await dependency_findings(services))
    assert (third.id, third.status, third.rule_id) == (first.id, "SUPPRESSED", "GHSA-test-flsk-0002")
    async with services.sessions() as session:
        assert (
            len((await session.exec(select(Finding).where(Finding.category == "DEPENDENCY"))).all())
            == len(EXPECTED) + 1
        )


def test_groups_are_transitive_and_independent_of_order():
    def found(advisory_id: str, *aliases: str, published: str = "") -> Match:
        return Match(advisory_id, "", "", "LOW", None, aliases, published)

    matches = [
        found("GHSA-b", "CVE-1"),
        found("PYSEC-1", "CVE-1", published="2020-01-01T00:00:00Z"),
        found("GO-1", "GHSA-b"),  # joins through GHSA-b
        found("GHSA-z", "CVE-9"),  # another vulnerability
        found("GHSA-a"),  # no date: after dated records, then by id
    ]
    expected = [["PYSEC-1", "GHSA-b", "GO-1"], ["GHSA-a"], ["GHSA-z"]]
    for seed in range(20):
        random.Random(seed).shuffle(matches)
        assert [[m.advisory_id for m in group] for group in alias_groups(matches)] == expected
