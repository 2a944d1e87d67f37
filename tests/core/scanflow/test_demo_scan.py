"""The demo scenario scanned end to end (consent, membership, discovery, daily scan): exactly what is planted.

checkov is left out here (PANOPTICA_SCANNERS) to keep the suite quick; its findings on the same demo files are
asserted in tests/core/scanners/test_checkov.py.
"""

import pytest
from pydantic import SecretStr
from sqlmodel import select

from api.wiring import build_registry
from core.db.columns import utcnow
from core.digests.summary import load_findings
from core.discovery.models import AzureRepository
from core.findings.models import Finding
from core.history.service import occurrences
from core.scans.models import ScanRun
from core.services import open_services
from sandbox.scenario import demo_world
from tests.support.flows import connect_demo, run_daily

PLANTED = {
    ("payments-api", "azure-pipelines.yml", "ADO-PIPE-10"),
    ("payments-api", "azure-pipelines.yml", "ADO-PIPE-11"),
    ("payments-api", "azure-pipelines.yml", "ADO-PIPE-12"),
    ("payments-api", "azure-pipelines.yml", "ADO-PIPE-13"),
    ("payments-api", "azure-pipelines.yml", "ADO-PIPE-14"),
    ("payments-api", "azure-pipelines.yml", "ADO-PIPE-16"),  # PR build runs ./scripts/build.sh with the token
    ("payments-api", "azure-pipelines.yml", "ADO-PIPE-17"),  # dbPassword set without issecret
    ("data-pipelines", "azure-pipelines.yml", "ADO-PIPE-10"),
    ("data-pipelines", "azure-pipelines.yml", "ADO-PIPE-12"),
    ("payments-config", "config/appsettings.yaml", "SECRET-AZURE-STORAGE-KEY"),
    ("payments-config", "deploy/backup.env", "SECRET-AWS-ACCESS-KEY"),
    ("payments-config", "deploy/backup.env", "SECRET-AWS-SECRET-KEY"),
    # The history scan (on by default) reports every secret ever committed, once per secret: the three above,
    # still in the head, and the storage key committed 40 days ago and deleted the next day, only in history.
    ("payments-config", "config/appsettings.yaml", "HISTORY-SECRET-AZURE-STORAGE-KEY"),
    ("payments-config", "deploy/backup.env", "HISTORY-SECRET-AWS-ACCESS-KEY"),
    ("payments-config", "deploy/backup.env", "HISTORY-SECRET-AWS-SECRET-KEY"),
    ("payments-config", "deploy/old-storage.env", "HISTORY-SECRET-AZURE-STORAGE-KEY"),
}


@pytest.fixture
async def demo_services(settings, db, sandbox, tmp_path):
    world = demo_world()
    sandbox.holder.replace(world)
    app = sandbox.world.apps[0]
    demo = settings.model_copy(
        update={
            "entra_client_id": app.client_id,
            "entra_client_secret": SecretStr(app.secret),
            "scanners": "secrets,pipelines",
            "key_directory": str(tmp_path),
            "posture_enabled": False,
        }
    )
    async with open_services(demo, jobs=build_registry()) as services:
        yield services


async def test_the_demo_scenario_yields_exactly_the_planted_findings(demo_services, sandbox):
    services = demo_services
    await connect_demo(services, sandbox)
    await run_daily(services, max_rounds=1000)

    async with services.sessions() as session:
        names = {r.id: r.name for r in (await session.exec(select(AzureRepository))).all()}
        rows = (await session.exec(select(Finding))).all()
        found = {(names[f.repository_id], f.path, f.rule_id) for f in rows}
        runs = (await session.exec(select(ScanRun))).all()
        secrets = (await session.exec(select(Finding).where(Finding.category == "SECRET"))).all()
    assert found == PLANTED
    assert {r.status for r in runs} == {"SUCCEEDED"}
    scanned = {names[r.repository_id] for r in runs}
    assert (
        not {"platform-scratch", "payments-legacy", "mobile-release"} & scanned
    )  # empty, disabled, maintenance
    assert all(s.preview and s.secret_hash and "AccountKey" not in s.message for s in secrets)
    await the_deleted_key_is_reported_only_in_history(services, secrets)
    await the_first_digest_is_a_baseline(services, names, total=len(rows))


async def the_deleted_key_is_reported_only_in_history(services, secrets) -> None:
    by_path = {(f.path, f.rule_id): f for f in secrets if f.scanner == "history"}
    deleted = by_path[("deploy/old-storage.env", "HISTORY-SECRET-AZURE-STORAGE-KEY")]
    assert "only in history" in deleted.message and "rotate" in deleted.remediation.lower()
    async with services.sessions() as session:
        [occurrence] = await occurrences(session, deleted.repository_id, deleted.secret_hash)
        head = await occurrences(
            session,
            deleted.repository_id,
            by_path[("config/appsettings.yaml", "HISTORY-SECRET-AZURE-STORAGE-KEY")].secret_hash,
        )
    assert (occurrence.path, occurrence.line, occurrence.author_name) == (
        "deploy/old-storage.env",
        2,
        "Diego Siciliani",
    )
    assert not occurrence.in_head and occurrence.reachable
    assert (utcnow() - occurrence.committed_at).days == 40
    assert [o.in_head for o in head] == [True]
    # The same secrets at the head stay the head scan's findings too, each under its own rule.
    assert {f.secret_hash for f in secrets if f.scanner == "secrets"} < {
        f.secret_hash for f in secrets if f.scanner == "history"
    }


async def the_first_digest_is_a_baseline(services, names, total: int) -> None:
    # A repository's first history scan is news to nobody: its findings are on the baseline line, none listed.
    async with services.sessions() as session:
        summary = await load_findings(session, names, None, utcnow())
    assert (summary.new_in_history, summary.new_by_severity) == (0, {})
    assert sum(summary.baseline_by_severity.values()) == total
