"""The dependencies scanner end to end: planted lockfiles in the emulated Azure DevOps, OSV from the emulator,
daily scans through the real job path, findings as stored; the per-day cache, retries, OSV down, and the reuse
path that finds a new advisory for an unchanged commit."""

from datetime import timedelta

from sqlmodel import select

from api.wiring import build_registry
from core.db.columns import utcnow
from core.dependencies.models import RepositoryDependency
from core.discovery.models import AzureRepository
from core.services import open_services
from sandbox.osv import default_advisories
from sandbox.scenario import Fault
from tests.core.dependencies.planted import EXPECTED, connected, dependency_findings, new_day, runs
from tests.support.flows import connect_demo, run_daily

NEW_FLASK_ADVISORY = {
    "id": "GHSA-test-flask-0001",
    "modified": "2026-11-28T00:00:00Z",
    "aliases": ["CVE-2099-0001"],
    "summary": "Session cookie disclosure in Flask",
    "details": "Flask before 2.3.3 may send a session cookie to a caching proxy.",
    "affected": [
        {
            "package": {"ecosystem": "PyPI", "name": "Flask"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "2.3.0"}, {"fixed": "2.3.3"}]}],
        }
    ],
    "database_specific": {"severity": "LOW"},
}


def commit(world, extra: str) -> None:
    repo = world.organization("contoso").project("Payments").repositories[0]
    repo.files = {**repo.files, "README.md": extra}
    repo.head_commit = repo.tree_digest()


async def test_planted_lockfiles_become_dependency_findings(services, world, sandbox):
    await connected(services, world)
    sandbox.context.requests.clear()
    await run_daily(services, utcnow())

    found = await dependency_findings(services)
    assert {(f.rule_id, f.severity, f.path, f.line) for f in found} == EXPECTED
    assert all(f.status == "OPEN" and f.scanner == "dependencies" for f in found)
    log4j = next(f for f in found if f.rule_id == "GHSA-jfh8-c2jp-5v3q")
    assert log4j.title == "Remote code injection in Log4j"
    assert log4j.message == (
        "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1 (direct dependency) is affected by "
        "GHSA-jfh8-c2jp-5v3q (aliases: CVE-2021-44228); fixed in 2.15.0."
    )
    assert log4j.remediation == "Upgrade org.apache.logging.log4j:log4j-core to 2.15.0 or later."
    assert log4j.help_uri == "https://osv.dev/vulnerability/GHSA-jfh8-c2jp-5v3q"
    mixin = next(f for f in found if f.rule_id == "GHSA-g95f-p29q-9xw4")
    assert "(transitive dependency)" in mixin.message and "fixed in 1.3.2" in mixin.message
    lodash = {f.rule_id: f.message for f in found if f.path == "package-lock.json" and "lodash" in f.message}
    assert "fixed in 4.17.21" in lodash["GHSA-35jh-r3h4-6jhm"]
    assert "fixed in 4.17.19" in lodash["GHSA-p6mc-m468-83gw"]

    # Six distinct packages in batches of two; each of the six advisories fetched once.
    assert sandbox.context.count("osv", "/v1/querybatch") == 3
    assert sandbox.context.count("osv", "/v1/vulns/") == 6

    # A new commit the same day: downloaded and scanned again, but OSV is not asked anything.
    sandbox.context.requests.clear()
    commit(world, "# shop\n")
    await run_daily(services, utcnow() + timedelta(days=1))
    assert sandbox.context.count("dev", "/items") >= 1
    assert sandbox.context.count("osv") == 0
    assert {(f.rule_id, f.status) for f in await dependency_findings(services)} == {
        (rule, "OPEN") for rule, *_ in EXPECTED
    }
    # The next day's queries find the advisories already stored: only querybatch, no record fetched again.
    await new_day(services)
    commit(world, "# shop 2\n")
    await run_daily(services, utcnow() + timedelta(days=2))
    assert sandbox.context.count("osv", "/v1/querybatch") == 3
    assert sandbox.context.count("osv", "/v1/vulns/") == 0


async def test_rate_limited_once_then_answered(services, world, sandbox):
    await connected(services, world)
    world.faults = [Fault(route="^/v1/querybatch", status=429, retry_after=0, count=1)]
    sandbox.context.requests.clear()
    await run_daily(services, utcnow())
    assert {f.rule_id for f in await dependency_findings(services)} == {r for r, *_ in EXPECTED}
    assert sandbox.context.count("osv", "/v1/querybatch") == 4  # the refused one, then three batches
    assert {r.status for r in await runs(services)} == {"SUCCEEDED"}


async def test_osv_down_leaves_previous_findings_open(services, world, sandbox):
    # With another scanner beside it, the run is PARTIAL (alone, FAILED); either way nothing is fixed.
    services.settings = services.settings.model_copy(update={"scanners": "dependencies,pipelines"})
    await connected(services, world)
    await run_daily(services, utcnow())
    await new_day(services)
    world.faults = [Fault(route="^/v1/", status=503)]
    commit(world, "# shop\n")
    await run_daily(services, utcnow() + timedelta(days=1))
    last = (await runs(services))[-1]
    assert last.status == "PARTIAL"
    assert "dependencies: The OSV API at https://127.0.0.1" in last.error
    assert "could not be reached after 4 attempts" in last.error
    assert {(f.rule_id, f.status) for f in await dependency_findings(services)} == {
        (rule, "OPEN") for rule, *_ in EXPECTED
    }


async def test_unchanged_commit_gains_a_new_advisory_without_download(services, world, sandbox):
    await connected(services, world)
    await run_daily(services, utcnow())
    async with services.sessions() as session:
        stored = (await session.exec(select(RepositoryDependency))).all()
    assert {(d.name, d.version, d.path, d.line, d.direct) for d in stored} >= {
        ("flask", "2.3.2", "requirements.txt", 1, True),
        ("mixin-deep", "1.3.1", "package-lock.json", 17, False),
    }

    world.advisories.append(NEW_FLASK_ADVISORY)
    await new_day(services)
    sandbox.context.requests.clear()
    await run_daily(services, utcnow() + timedelta(days=1))
    last = (await runs(services))[-1]
    assert last.reused and last.status == "SUCCEEDED" and last.new_findings == 1
    assert sandbox.context.count("dev", "/items") == 0
    flask = [f for f in await dependency_findings(services) if f.rule_id == "GHSA-test-flask-0001"]
    assert [(f.severity, f.path, f.line, f.status) for f in flask] == [("LOW", "requirements.txt", 1, "OPEN")]
    assert flask[0].remediation == "Upgrade flask to 2.3.3 or later."

    # The advisory is withdrawn: the next reuse fixes the finding; the others stay open.
    world.advisories[-1] = {
        **NEW_FLASK_ADVISORY,
        "withdrawn": "2026-11-29T00:00:00Z",
        "modified": "2026-11-29T00:00:00Z",
    }
    await new_day(services)
    await run_daily(services, utcnow() + timedelta(days=2))
    statuses = {f.rule_id: f.status for f in await dependency_findings(services)}
    assert statuses.pop("GHSA-test-flask-0001") == "FIXED"
    assert set(statuses.values()) == {"OPEN"}


async def test_demo_scenario_lockfiles_against_the_default_advisories(settings, db, sandbox, tmp_path):
    from pydantic import SecretStr

    from sandbox.scenario import demo_world

    world = demo_world()
    world.advisories = default_advisories()
    sandbox.holder.replace(world)
    app = sandbox.world.apps[0]
    demo = settings.model_copy(
        update={
            "entra_client_id": app.client_id,
            "entra_client_secret": SecretStr(app.secret),
            "scanners": "dependencies",
            "key_directory": str(tmp_path),
            "posture_enabled": False,
        }
    )
    async with open_services(demo, jobs=build_registry()) as services:
        await connect_demo(services, sandbox)
        await run_daily(services, max_rounds=1000)
        async with services.sessions() as session:
            names = {r.id: r.name for r in (await session.exec(select(AzureRepository))).all()}
            found = {
                (names[f.repository_id], f.path, f.line, f.rule_id, f.severity)
                for f in await dependency_findings(services)
            }
    assert found == {
        ("payments-api", "requirements.txt", 2, "GHSA-68w8-qjq3-2gfm", "MEDIUM"),  # django 3.2.0
        ("payments-api", "requirements.txt", 3, "GHSA-8q59-q68h-6hv4", "CRITICAL"),  # pyyaml 5.3
        ("payments-web", "package-lock.json", 15, "GHSA-35jh-r3h4-6jhm", "HIGH"),  # lodash 4.17.15
        ("payments-web", "package-lock.json", 15, "GHSA-p6mc-m468-83gw", "HIGH"),
        ("payments-web", "package-lock.json", 20, "GHSA-xvch-5gv4-984h", "CRITICAL"),  # minimist 1.2.5
        ("payments-worker", "go.mod", 5, "GO-2021-0113", "HIGH"),  # golang.org/x/text v0.3.5
        ("mfa-bridge", "pom.xml", 7, "GHSA-jfh8-c2jp-5v3q", "CRITICAL"),  # log4j-core 2.14.1
    }
