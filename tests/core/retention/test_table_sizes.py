"""`/metrics` exposes each table's rows (estimated on PostgreSQL, counted on SQLite), so growth is seen."""

import re

from pydantic import SecretStr
from sqlalchemy import text

from core.db import session_scope
from core.jobs.models import Job
from tests.api.conftest import app, http  # noqa: F401 - fixtures
from tests.core.retention.rows import insert

TOKEN = "metrics-token-for-retention-tests"


def samples(body: str) -> dict[str, int]:
    return {
        m[1]: int(float(m[2]))
        for m in re.finditer(r'^panoptica_table_rows\{table="(\w+)"\} (\S+)$', body, re.M)
    }


async def test_metrics_report_rows_per_table(app, http, db, engine):  # noqa: F811
    async with session_scope(db) as session:
        for _ in range(3):
            await insert(session, Job, kind="k", status="done", dedupe_key=None, lock=None, finished_at=None)
    if engine.dialect.name == "postgresql":
        async with engine.connect() as connection:  # the estimate is what ANALYZE (or autovacuum) last saw
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text("ANALYZE jobs"))
    app.state.settings = app.state.settings.model_copy(update={"metrics_token": SecretStr(TOKEN)})

    response = await http.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})

    assert response.status_code == 200
    assert "# TYPE panoptica_table_rows gauge" in response.text
    sizes = samples(response.text)
    assert sizes["jobs"] == 3
    assert {"findings", "scan_runs", "audit_events", "slack_installations"} <= set(sizes)
