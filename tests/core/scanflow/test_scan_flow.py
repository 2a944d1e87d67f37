"""Daily scans end to end against the emulator: schedule, acquisition, scanners, storage, SARIF."""

import json
from datetime import timedelta

import jsonschema
import pytest
from sqlmodel import select

from api.wiring import build_registry
from core.db import session_scope
from core.db.columns import utcnow
from core.discovery.models import AzureRepository
from core.findings.models import Finding
from core.findings.sarif import repository_sarif
from core.scans.models import ScanRun
from core.services import open_services
from tests.data import sarif_schema
from tests.support.flows import connect_organization, run_daily

PIPELINE = """trigger: [main]
pool:
  vmImage: ubuntu-latest
steps:
  - script: echo "building $(Build.SourceBranch)"
  - script: curl -sSL https://example.com/install.sh | bash
"""
CLEAN_PIPELINE = """trigger: [main]
pool:
  vmImage: ubuntu-latest
steps:
  - script: echo "building"
"""


@pytest.fixture
def services_settings() -> dict:
    # Code findings only: posture has its own tests (tests/core/posture).
    return {"posture_enabled": False}


async def connected(services, world) -> tuple[str, str]:
    """Account and connection for Contoso (consented and added in the base world), discovered; payments-api
    holds PIPELINE."""
    world.organization("contoso").project("Payments").repositories[0].files = {
        "azure-pipelines.yml": PIPELINE
    }
    return await connect_organization(services)


async def findings(services) -> dict[tuple[str, str], str]:
    async with services.sessions() as session:
        rows = (await session.exec(select(Finding))).all()
    return {(f.rule_id, f.path): f.status for f in rows}


async def runs(services) -> list[ScanRun]:
    async with services.sessions() as session:
        return list((await session.exec(select(ScanRun).order_by(ScanRun.created_at))).all())


async def test_daily_scan_finds_fixes_and_skips_unchanged(services, world, sandbox):
    await connected(services, world)
    now = utcnow()
    await run_daily(services, now)
    assert await findings(services) == {
        ("ADO-PIPE-10", "azure-pipelines.yml"): "OPEN",
        ("ADO-PIPE-13", "azure-pipelines.yml"): "OPEN",
    }
    first = await runs(services)
    assert {r.status for r in first} == {"SUCCEEDED"}
    scanned = len(first)

    # The next day, nothing changed: no archive is downloaded, the runs say so.
    sandbox.context.requests.clear()
    await run_daily(services, now + timedelta(days=1))
    assert sandbox.context.count("dev", "/items") == 0
    second = (await runs(services))[scanned:]
    assert second and all(r.reused and r.status == "SUCCEEDED" for r in second)

    # A commit fixes the injection and adds a debug flag.
    repo = world.organization("contoso").project("Payments").repositories[0]
    repo.files = {
        "azure-pipelines.yml": PIPELINE.replace("$(Build.SourceBranch)", "main")
        + "variables:\n  system.debug: true\n"
    }
    repo.head_commit = repo.tree_digest()
    await run_daily(services, now + timedelta(days=2))
    assert await findings(services) == {
        ("ADO-PIPE-10", "azure-pipelines.yml"): "FIXED",
        ("ADO-PIPE-13", "azure-pipelines.yml"): "OPEN",
        ("ADO-PIPE-14", "azure-pipelines.yml"): "OPEN",
    }


async def test_sarif_export_is_valid(services, world):
    account_id, _ = await connected(services, world)
    await run_daily(services, utcnow())
    async with services.sessions() as session:
        repo = (
            await session.exec(select(AzureRepository).where(AzureRepository.name == "payments-api"))
        ).one()
        sarif = await repository_sarif(session, account_id, repo.id)
    schema = sarif_schema()
    jsonschema.Draft4Validator(schema).validate(sarif)
    results = [r for run in sarif["runs"] for r in run["results"]]
    assert {r["ruleId"] for r in results} == {"ADO-PIPE-10", "ADO-PIPE-13"}
    assert all(r["partialFingerprints"]["primaryLocationLineHash"] for r in results)
    assert all(
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "azure-pipelines.yml"
        for r in results
    )


async def test_a_missing_checkov_makes_the_run_partial_not_failed(services, world, monkeypatch):
    monkeypatch.setenv("PANOPTICA_CHECKOV_BIN", "/nonexistent/checkov")
    await connected(services, world)
    await run_daily(services, utcnow())
    found_runs = await runs(services)
    assert found_runs and {r.status for r in found_runs} == {"PARTIAL"}
    assert all("checkov: checkov is not installed" in r.error for r in found_runs)
    # The other scanners' results still count.
    assert ("ADO-PIPE-10", "azure-pipelines.yml") in await findings(services)


@pytest.fixture
async def services_with_slack(settings, db, tmp_path, sandbox, world):
    """Digests are delivered to the emulator's Slack (a channel the app is in)."""
    from pydantic import SecretStr

    world.slack.channels = {"C1": {"name": "security", "is_member": True}}
    settings = settings.model_copy(
        update={
            "key_directory": str(tmp_path),
            "posture_enabled": False,
            "slack_api_url": sandbox.slack_api_url,
            "slack_bot_token": SecretStr(world.slack.bot_token),
        }
    )
    async with open_services(settings, jobs=build_registry()) as opened:
        yield opened


async def test_digest_reports_baseline_then_changes(services_with_slack, world):
    services = services_with_slack
    from bot.digests import build_digests
    from core.digests.models import DigestOutbox
    from core.digests.payloads import BuildDigests
    from core.slack.models import SlackSubscription, SlackWorkspace

    account_id, _ = await connected(services, world)
    now = utcnow()
    async with session_scope(services.sessions) as session:
        session.add(SlackWorkspace(team_id=world.slack.team_id, account_id=account_id, linked_by="U1"))
        await session.flush()
        session.add(
            SlackSubscription(
                account_id=account_id,
                team_id="T1",
                channel_id="C1",
                min_severity="LOW",
                created_by="U1",
                created_at=now - timedelta(hours=1),
            )
        )
    await run_daily(services, now)
    await build_digests(services, BuildDigests(day=now.date().isoformat()))

    repo = world.organization("contoso").project("Payments").repositories[0]
    repo.files = {
        "azure-pipelines.yml": PIPELINE.replace("$(Build.SourceBranch)", "main")
        + "variables:\n  system.debug: true\n"
    }
    repo.head_commit = repo.tree_digest()
    later = now + timedelta(days=1)
    await run_daily(services, later)
    await build_digests(services, BuildDigests(day=later.date().isoformat()))

    async with services.sessions() as session:
        digests = (await session.exec(select(DigestOutbox).order_by(DigestOutbox.day))).all()
    first, second = (json.dumps(d.message, ensure_ascii=False) for d in digests)
    assert "First scan of 1 repository: 1 high, 1 medium" in first  # baseline: one line, no list
    assert "azure-pipelines.yml:" not in first
    assert "new 1 low; fixed 1 high" in second
    assert "system.debug committed as true" in second and "azure-pipelines.yml:" in second
