"""Posture end to end against the emulator: every control's result on the planted data, refusals, findings."""

from datetime import timedelta

import jsonschema
from sqlmodel import select

from core.db import session_scope
from core.db.columns import utcnow
from core.findings.models import Finding
from core.posture.models import PostureRun
from tests.core.posture.evaluation import evaluate, reasons, results
from tests.core.posture.worlds import plant_posture
from tests.data import sarif_schema
from tests.support.flows import connect_organization, run_daily

PAYMENTS = {
    ("ADO-REPO-01", "payments-api"): "PASS",
    ("ADO-REPO-01", "payments-web"): "PASS",
    ("ADO-REPO-02", "payments-api"): "PASS",
    ("ADO-REPO-02", "payments-web"): "FAIL",
    ("ADO-REPO-03", "payments-api"): "PASS",
    ("ADO-REPO-03", "payments-web"): "FAIL",
    ("ADO-REPO-04", "payments-api"): "PASS",
    ("ADO-REPO-04", "payments-web"): "FAIL",
    ("ADO-REPO-07", "payments-api"): "PASS",
    ("ADO-REPO-07", "payments-web"): "FAIL",
    ("ADO-REPO-08", "payments-api"): "PASS",
    ("ADO-REPO-08", "payments-web"): "FAIL",
    ("ADO-PIPE-01", "Payments"): "FAIL",
    ("ADO-PIPE-02", "Payments"): "PASS",
    ("ADO-PIPE-03", "Payments"): "PASS",
    ("ADO-PIPE-04", "Payments"): "PASS",
    ("ADO-PIPE-05", "Payments"): "PASS",
    ("ADO-PIPE-06", "Payments"): "FAIL",
    ("ADO-PIPE-07", "Payments"): "FAIL",
    ("ADO-PIPE-08", "payments-ci"): "FAIL",
    ("ADO-PIPE-08", "payments-release"): "PASS",
    ("ADO-PIPE-09", "payments-ci"): "FAIL",
    ("ADO-PIPE-09", "payments-release"): "PASS",
    ("ADO-PIPE-15", "payments-ci"): "FAIL",
    ("ADO-PIPE-15", "payments-release"): "PASS",
    ("ADO-RES-01", "prod-arm"): "FAIL",
    ("ADO-RES-01", "rg-arm"): "PASS",
    ("ADO-RES-01", "github"): "PASS",
    ("ADO-RES-02", "prod-secrets"): "FAIL",
    ("ADO-RES-02", "kv-group"): "PASS",
    ("ADO-RES-03", "signing.pfx"): "FAIL",
    ("ADO-RES-04", "self-hosted-linux"): "FAIL",
    ("ADO-RES-05", "production"): "FAIL",
    ("ADO-RES-05", "prod-eu"): "PASS",
    ("ADO-RES-06", "prod-arm"): "FAIL",
    ("ADO-RES-06", "rg-arm"): "PASS",
    ("ADO-RES-07", "prod-arm"): "FAIL",
    ("ADO-RES-07", "rg-arm"): "PASS",
    ("ADO-RES-07", "github"): "PASS",
    ("ADO-RES-08", "prod-secrets"): "PASS",
    ("ADO-RES-08", "plain-config"): "PASS",
}
# The service principal is refused the service connections and pipeline permissions of Platform.
PLATFORM = {
    ("ADO-RES-01", "Platform"): "NOT_EVALUATED",
    ("ADO-RES-06", "Platform"): "NOT_EVALUATED",
    ("ADO-RES-07", "Platform"): "NOT_EVALUATED",
    ("ADO-RES-03", "platform.pfx"): "NOT_EVALUATED",
    **{(f"ADO-PIPE-0{n}", "Platform"): "PASS" for n in range(1, 8)},
    **{
        (c, "infra"): "FAIL"
        for c in ("ADO-REPO-01", "ADO-REPO-02", "ADO-REPO-03", "ADO-REPO-04", "ADO-REPO-08")
    },
    ("ADO-REPO-07", "infra"): "PASS",
}


async def test_every_control_reports_the_planted_state(services, world, sandbox):
    plant_posture(world)
    _, connection_id = await connect_organization(services)
    sandbox.context.requests.clear()
    run = await evaluate(services, connection_id)
    # Per project: 8 lists, then one read per protected resource, per production environment, per repository.
    # Payments 8 + 7 permissions + 2 environments + 2 repositories; Platform 8 + 1 + 1; Open Source 8 + 1.
    assert sandbox.context.count("dev") == 19 + 10 + 9
    found = await results(services)
    assert {k[1:]: v for k, v in found.items() if k[0] == "Payments"} == PAYMENTS
    assert {k[1:]: v for k, v in found.items() if k[0] == "Platform"} == PLATFORM
    assert run.status == "SUCCEEDED"
    assert run.failed == sum(v == "FAIL" for v in found.values())
    assert run.not_evaluated == 4

    why = await reasons(services)
    assert "Access Denied" in why[("ADO-RES-01", "Platform")]
    assert "service connections" in why[("ADO-RES-01", "Platform")]
    # Named with what made it a secret (a detector's title, or the test its value passed), never the value.
    assert why[("ADO-PIPE-08", "payments-ci")].startswith("Pipeline payments-ci: variable(s) dbPassword (")
    assert why[("ADO-PIPE-08", "payments-ci")].endswith(") hold a secret in plain text.")
    assert "Hunter2" not in " ".join(why.values())
    assert (
        why[("ADO-REPO-02", "payments-web")]
        == "payments-web: the default branch policy counts the author's own vote."
    )
    assert why[("ADO-RES-07", "prod-arm")] == "Service connection prod-arm is shared with Platform."


async def test_failed_controls_are_findings_with_a_lifecycle(services, world):
    plant_posture(world)
    _, connection_id = await connect_organization(services)
    await evaluate(services, connection_id)
    async with services.sessions() as session:
        rows = (await session.exec(select(Finding).where(Finding.category == "POSTURE"))).all()
    found = await results(services)
    assert len(rows) == sum(v == "FAIL" for v in found.values())
    by_key = {(f.rule_id, f.path): f for f in rows}
    web = by_key[("ADO-REPO-02", "Payments/repository/payments-web")]
    assert web.repository_id is not None and web.project_id is not None
    assert web.severity == "HIGH" and web.status == "OPEN"
    project_level = by_key[("ADO-PIPE-01", "Payments/project/Payments")]
    assert project_level.repository_id is None

    # The admin fixes the job scope, and the emulator now refuses the Payments endpoints: the fixed control
    # closes its finding, the unreadable ones keep theirs open.
    payments = world.organization("contoso").project("Payments")
    payments.extras["build/generalsettings"]["enforceJobAuthScope"] = True
    world.organization("contoso").members[0].refused_apis.append("Payments:serviceendpoint/endpoints")
    run = await evaluate(services, connection_id)
    async with services.sessions() as session:
        rows = (await session.exec(select(Finding).where(Finding.category == "POSTURE"))).all()
    status = {(f.rule_id, f.path): f.status for f in rows}
    assert status[("ADO-PIPE-01", "Payments/project/Payments")] == "FIXED"
    assert status[("ADO-RES-01", "Payments/endpoint/prod-arm")] == "OPEN"
    assert status[("ADO-RES-07", "Payments/endpoint/prod-arm")] == "OPEN"
    assert run.fixed_findings == 1 and run.new_findings == 0


async def test_scheduled_scan_evaluates_posture_once_per_slot(services, world):
    plant_posture(world)
    await connect_organization(services)
    now = utcnow()
    for _ in range(2):
        await run_daily(services, now)
    await run_daily(services, now + timedelta(days=1))
    async with services.sessions() as session:
        runs = (await session.exec(select(PostureRun))).all()
    assert [r.status for r in runs] == ["SUCCEEDED", "SUCCEEDED"]


async def test_digest_baselines_the_first_evaluation_then_lists_new_failures(services, world):
    from core.digests.summary import load_summary
    from core.slack.models import SlackSubscription

    plant_posture(world)
    account_id, connection_id = await connect_organization(services)
    async with session_scope(services.sessions) as session:
        subscription = SlackSubscription(
            account_id=account_id,
            team_id="T0DEMO",
            channel_id="C0SECURITY",
            organization="contoso",
            project="Payments",
            created_by="U0ADMIN",
        )
        session.add(subscription)
    await evaluate(services, connection_id)
    async with services.sessions() as session:
        first = await load_summary(session, subscription, "2030-01-01", utcnow())
    # The first evaluation is a baseline: counted, never listed; Platform's results are out of scope.
    assert first.findings.top_new == ()
    assert first.findings.baseline_by_severity == {"HIGH": 12, "MEDIUM": 4, "LOW": 2}

    world.organization("contoso").project("Payments").extras["build/generalsettings"][
        "enforceSettableVar"
    ] = False
    await evaluate(services, connection_id)
    async with services.sessions() as session:
        second = await load_summary(session, subscription, "2030-01-02", utcnow())
    assert [(f.severity, f.title, f.repository, f.path) for f in second.findings.top_new] == [
        (
            "MEDIUM",
            "Only variables marked settable can be set at queue time",
            "Payments",
            "Payments/project/Payments",
        )
    ]


async def test_sarif_of_a_repository_carries_its_posture_findings(services, world):
    from core.discovery.models import AzureRepository
    from core.findings.sarif import repository_sarif

    plant_posture(world)
    account_id, connection_id = await connect_organization(services)
    await evaluate(services, connection_id)
    async with services.sessions() as session:
        web = (
            await session.exec(select(AzureRepository).where(AzureRepository.name == "payments-web"))
        ).one()
        sarif = await repository_sarif(session, account_id, web.id)
    posture = next(run for run in sarif["runs"] if run["tool"]["driver"]["name"] == "panoptica-posture")
    rules = {r["ruleId"] for r in posture["results"]}
    assert {"ADO-REPO-02", "ADO-REPO-07", "ADO-PIPE-01", "ADO-RES-01"} <= rules
    schema = sarif_schema()
    jsonschema.validate(sarif, schema)
    result = next(r for r in posture["results"] if r["ruleId"] == "ADO-REPO-02")
    assert (
        result["locations"][0]["logicalLocations"][0]["fullyQualifiedName"]
        == "Payments/repository/payments-web"
    )


async def test_nothing_readable_fails_the_run_and_keeps_what_was_known(services, world):
    plant_posture(world)
    _, connection_id = await connect_organization(services)
    await evaluate(services, connection_id)
    before = await results(services)
    # The customer removes our service principal from the organization.
    world.organization("contoso").members.clear()
    run = await evaluate(services, connection_id)
    assert run.status == "FAILED"
    assert run.error.startswith("The service principal may not read the project's pipeline settings")
    assert "TF401444" in run.error
    assert await results(services) == before
    async with services.sessions() as session:
        open_ = (await session.exec(select(Finding).where(Finding.status == "OPEN"))).all()
    assert len(open_) == sum(v == "FAIL" for v in before.values())
