"""`panoptica osv import`: generated export zips, duplicates, refusals that change nothing, and an offline scan
that gives the same findings as the API."""

import json
import re
import zipfile
from datetime import timedelta

import pytest
from sqlmodel import select

from api.cli import main
from core.db.columns import utcnow
from core.dependencies.advisories import Advisories, ImportedAdvisories
from core.dependencies.models import OsvAdvisory, OsvAffected
from core.dependencies.osv_import import ImportRefused, Limits, import_exports
from core.dependencies.package import Dependency
from core.scanners.dependencies import findings_for
from sandbox.osv import default_advisories
from sandbox.scenario import Fault
from tests.core.dependencies.planted import EXPECTED, connected, dependency_findings, write_zip
from tests.support.flows import run_daily


def by_ecosystem(records: list[dict], ecosystem: str) -> list[dict]:
    return [r for r in records if r["affected"][0]["package"]["ecosystem"] == ecosystem]


async def stored(db) -> dict[str, str]:
    async with db() as session:
        return {a.id: a.modified for a in (await session.exec(select(OsvAdvisory))).all()}


async def test_two_ecosystems_with_a_duplicate_then_a_bad_zip_changes_nothing(engine, db, tmp_path):
    records = default_advisories()
    npm, pypi = by_ecosystem(records, "npm"), by_ecosystem(records, "PyPI")
    newer_lodash = {**npm[0], "modified": "2025-06-01T00:00:00Z", "summary": "newer"}
    write_zip(tmp_path / "npm.zip", npm)
    write_zip(tmp_path / "pypi.zip", [*pypi, newer_lodash])  # the same id in two zips: the newest wins

    summary = await import_exports(engine, [tmp_path / "npm.zip", tmp_path / "pypi.zip"])
    assert (summary.files, summary.records, summary.advisories) == (2, 8, 7)
    assert summary.ecosystems == {"PyPI": 3, "npm": 4}
    assert (await stored(db))[npm[0]["id"]] == "2025-06-01T00:00:00Z"
    async with db() as session:
        index = {(a.ecosystem, a.name) for a in (await session.exec(select(OsvAffected))).all()}
    assert index == {
        ("npm", "lodash"),
        ("npm", "minimist"),
        ("npm", "mixin-deep"),
        ("PyPI", "django"),
        ("PyPI", "jinja2"),
        ("PyPI", "pyyaml"),
    }

    before = await stored(db)
    (tmp_path / "not.zip").write_text("hello")
    broken = tmp_path / "broken.zip"
    with zipfile.ZipFile(broken, "w") as archive:
        archive.writestr("GHSA-ok.json", json.dumps({"id": "GHSA-ok", "affected": []}))
        archive.writestr("junk.json", "{not json")
    no_id = tmp_path / "no-id.zip"
    write_zip(no_id, [{"id": "X-1"}])
    with zipfile.ZipFile(no_id, "a") as archive:
        archive.writestr("anonymous.json", json.dumps({"summary": "no id"}))
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("big.json", '{"id": "B", "details": "' + "A" * 5_000_000 + '"}')
    cases = [
        (tmp_path / "not.zip", "is not a zip file", None),
        (broken, "broken.zip:junk.json is not JSON", None),
        (no_id, "no-id.zip:anonymous.json is not an OSV record (no id)", None),
        (bomb, "larger than 1000000 bytes uncompressed", Limits(member_bytes=1_000_000)),
        (tmp_path / "npm.zip", "more than 2 files", Limits(members=2)),
    ]
    for path, reason, limits in cases:
        with pytest.raises(ImportRefused, match=re.escape(reason)):
            await import_exports(engine, [tmp_path / "pypi.zip", path], limits)
        assert await stored(db) == before

    # A re-import replaces what was there.
    await import_exports(engine, [tmp_path / "pypi.zip"])
    assert set(await stored(db)) == {r["id"] for r in [*pypi, newer_lodash]}


async def test_imported_lookup_matches_like_the_api(engine, db, tmp_path):
    write_zip(tmp_path / "all.zip", default_advisories())
    await import_exports(engine, [tmp_path / "all.zip"])
    deps = [
        Dependency("npm", "lodash", "4.17.21", "pkg:npm/lodash@4.17.21", "package-lock.json", 3, True),
        Dependency("PyPI", "Jinja2", "2.10", "pkg:pypi/jinja2@2.10", "requirements.txt", 1, True),
        Dependency(
            "NuGet", "newtonsoft.json", "12.0.3", "pkg:nuget/newtonsoft.json@12.0.3", "a.csproj", 4, True
        ),
        Dependency(
            "Go", "golang.org/x/text", "v0.3.6", "pkg:golang/golang.org/x/text@v0.3.6", "go.mod", 5, False
        ),
        Dependency("crates.io", "smallvec", "1.6.0", "pkg:cargo/smallvec@1.6.0", "Cargo.lock", 9, False),
        Dependency("npm", "left-pad", "", "pkg:npm/left-pad", "package.json", 2, True),
    ]
    candidates = await ImportedAdvisories(db).advisories_for(deps)
    assert {(f.rule.id, f.path) for f in findings_for(deps, candidates)} == {
        ("GHSA-462w-v97r-4m45", "requirements.txt"),
        ("GHSA-5crp-9r3c-p9vr", "a.csproj"),
        ("GO-2021-0113", "go.mod"),
        ("RUSTSEC-2021-0003", "Cargo.lock"),
    }
    assert isinstance(await Advisories(None, db).source(), ImportedAdvisories)


async def test_offline_scan_uses_the_import_and_never_the_api(services, world, sandbox, engine, tmp_path):
    await connected(services, world)
    write_zip(tmp_path / "all.zip", default_advisories())
    await import_exports(engine, [tmp_path / "all.zip"])
    world.faults = [Fault(route="^/v1/", status=503)]  # OSV unreachable: the import is used instead
    sandbox.context.requests.clear()
    await run_daily(services, utcnow())
    found = await dependency_findings(services)
    assert {(f.rule_id, f.severity, f.path, f.line) for f in found} == EXPECTED
    assert sandbox.context.count("osv") == 0


async def test_osv_off_without_import_is_inventory_only(services, world, sandbox):
    services.settings = services.settings.model_copy(update={"osv_url": "off"})
    await connected(services, world)
    await run_daily(services, utcnow() + timedelta(hours=1))
    assert await dependency_findings(services) == []
    assert sandbox.context.count("osv") == 0


def test_cli_import_prints_counts(tmp_path, monkeypatch, capsys):
    write_zip(tmp_path / "all.zip", default_advisories())
    monkeypatch.setenv("PANOPTICA_DATABASE_URL", f"sqlite:///{tmp_path}/cli.db")
    assert main(["osv", "import", str(tmp_path / "all.zip")]) == 0
    assert "imported 11 advisories (11 records read from 1 file(s)" in capsys.readouterr().out
    (tmp_path / "bad.zip").write_text("nope")
    assert main(["osv", "import", str(tmp_path / "bad.zip")]) == 1
    assert "nothing imported:" in capsys.readouterr().err
