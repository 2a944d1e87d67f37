"""Operations endpoints: liveness, readiness (database and schema), Prometheus metrics, correlation ids."""

import json
import logging

from pydantic import SecretStr
from sqlalchemy import text

from core.observability.logs import JsonFormatter, correlated
from tests.support.connect_api import CONNECT, connect, consented
from tests.support.metrics import value

METRICS_TOKEN = "metrics-token-for-tests"
AZURE_DEVOPS_HOSTS = ("dev", "vssps", "vsaex")  # the emulated hosts our Azure DevOps client calls


async def test_healthz_and_readyz(http):
    assert (await http.get("/healthz")).json() == {"status": "ok"}
    ready = await http.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"


async def test_readyz_refuses_traffic_when_the_schema_is_behind(http, app, db):
    engine = app.state.services.engine
    async with engine.begin() as connection:
        head = (await connection.execute(text("SELECT version_num FROM alembic_version"))).scalar_one()
        await connection.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    try:
        answer = await http.get("/readyz")
        assert answer.status_code == 503
        assert answer.json() == {
            "status": "unavailable",
            "reason": f"The database schema is at 0001, this release needs {head}: run `panoptica db upgrade`.",
        }
    finally:
        async with engine.begin() as connection:
            await connection.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": head})


async def test_metrics_report_jobs_and_azure_requests(http, alice, sandbox, world, app):
    app.state.settings = app.state.settings.model_copy(update={"metrics_token": SecretStr(METRICS_TOKEN)})

    async def scrape() -> str:
        return (await http.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})).text

    # Counters and histograms are the process's, already moved by earlier tests: compare with a first scrape.
    before = await scrape()
    connection_id = await consented(alice, sandbox, http)
    assert (await connect(alice, connection_id, CONNECT))["ok"]
    await alice.graphql("mutation($id: ID!) { scanConnection(id: $id) { __typename } }", id=connection_id)
    queued = await scrape()
    assert 'panoptica_jobs{kind="scans.connection",status="queued"} 1.0' in queued
    answered = sum(
        1 for r in sandbox.context.requests if r.host in AZURE_DEVOPS_HOSTS and 200 <= r.status < 300
    )
    requests = "panoptica_azure_requests_total"
    assert value(queued, requests, status="2xx") - value(before, requests, status="2xx") == answered > 0
    assert "contoso" not in queued  # no label names a customer's organization

    await app.state.jobs.run_until_idle()
    done = await scrape()
    assert 'panoptica_jobs{kind="scans.connection",status="done"} 1.0' in done
    scans = value(done, "panoptica_jobs", kind="scans.repository", status="done")
    durations = "panoptica_job_duration_seconds_count"
    ran = value(done, durations, kind="scans.repository", outcome="done") - value(
        before, durations, kind="scans.repository", outcome="done"
    )
    assert ran == scans > 0  # one duration observed per repository scan job done


async def test_each_request_has_a_correlation_id(http):
    given = await http.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert given.headers["x-request-id"] == "abc-123"
    fresh = await http.get("/healthz")
    assert len(fresh.headers["x-request-id"]) == 32
    bad = await http.get("/healthz", headers={"X-Request-ID": "x" * 500})
    assert bad.headers["x-request-id"] != "x" * 500


def test_json_logs_carry_the_correlation_id():
    record = logging.LogRecord(
        "core.test", logging.WARNING, __file__, 1, "scan of %s failed", ("repo",), None
    )
    with correlated("job-42"):
        entry = json.loads(JsonFormatter().format(record))
    assert entry["message"] == "scan of repo failed"
    assert entry["correlation_id"] == "job-42" and entry["level"] == "WARNING"
