"""The demo scenario's posture: Payments fails what was planted, Mobile passes, Platform refuses endpoints."""

import pytest
from pydantic import SecretStr
from sqlmodel import select

from api.wiring import build_registry
from core.connections.models import AzureConnection
from core.db import session_scope
from core.discovery.models import AzureProject
from core.jobs.runner import JobRunner
from core.posture.evaluate import queue_posture
from core.posture.models import PostureResult
from core.services import open_services
from sandbox.scenario import demo_world
from tests.support.flows import connect_demo


@pytest.fixture
async def demo_services(settings, db, sandbox, tmp_path):
    sandbox.holder.replace(demo_world())
    app = sandbox.world.apps[0]
    demo = settings.model_copy(
        update={
            "entra_client_id": app.client_id,
            "entra_client_secret": SecretStr(app.secret),
            "key_directory": str(tmp_path),
        }
    )
    async with open_services(demo, jobs=build_registry()) as services:
        yield services


async def test_demo_posture(demo_services, sandbox):
    _, connection_id = await connect_demo(demo_services, sandbox)
    async with session_scope(demo_services.sessions) as session:
        await queue_posture(session, await session.get(AzureConnection, connection_id), "MANUAL")
    await JobRunner(demo_services).run_until_idle()
    async with demo_services.sessions() as session:
        rows = (await session.exec(select(PostureResult, AzureProject.name).join(AzureProject))).all()
    by_project: dict[str, dict] = {}
    for row, project in rows:
        by_project.setdefault(project, {})[(row.control_id, row.resource_name)] = row.status

    payments = by_project["Payments"]
    failed = {key for key, status in payments.items() if status == "FAIL"}
    assert {
        ("ADO-PIPE-01", "Payments"),
        ("ADO-PIPE-06", "Payments"),
        ("ADO-PIPE-07", "Payments"),
        ("ADO-PIPE-08", "payments-api-ci"),
        ("ADO-PIPE-09", "payments-api-ci"),
        ("ADO-PIPE-15", "payments-api-ci"),
        ("ADO-RES-01", "payments-prod-arm"),
        ("ADO-RES-02", "payments-prod-secrets"),
        ("ADO-RES-04", "payments-self-hosted"),
        ("ADO-RES-05", "production"),
        ("ADO-RES-06", "payments-prod-arm"),
        ("ADO-RES-07", "payments-prod-arm"),
        ("ADO-REPO-02", "payments-api"),
    } <= failed
    assert payments[("ADO-RES-01", "payments-rg-arm")] == "PASS"
    assert payments[("ADO-RES-03", "apple-signing.p12")] == "PASS"
    assert payments[("ADO-PIPE-08", "payments-web-ci")] == "PASS"

    mobile = by_project["Mobile"]
    for control in ("ADO-REPO-01", "ADO-REPO-02", "ADO-REPO-03", "ADO-REPO-04", "ADO-REPO-08"):
        assert mobile[(control, "mobile-app")] == "PASS", control
    assert mobile[("ADO-RES-05", "prod-stores")] == "PASS"

    platform = by_project["Platform"]
    assert {k: v for k, v in platform.items() if v == "NOT_EVALUATED"} == {
        ("ADO-RES-01", "Platform"): "NOT_EVALUATED",
        ("ADO-RES-06", "Platform"): "NOT_EVALUATED",
        ("ADO-RES-07", "Platform"): "NOT_EVALUATED",
    }
