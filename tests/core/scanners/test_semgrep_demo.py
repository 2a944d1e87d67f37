"""The demo's vulnerable application (sandbox/scenarios/demo.yaml, repository merchant-portal) scanned with real
semgrep: exactly the planted flaws at their lines, none of their safe twins; and code findings through the service
(stored with category CODE, the same finding after the code moves, SARIF with the CWE taxonomy)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import jsonschema
import pytest
from sqlmodel import select

from core.db.columns import utcnow
from core.discovery.models import AzureRepository
from core.findings.models import Finding
from core.findings.sarif import repository_sarif
from core.scanners.semgrep import SCANNER
from core.scans.scanner import ScanContext
from sandbox.scenario import demo_world
from tests.data import sarif_schema
from tests.support.flows import connect_organization, run_daily

CONTROLLER = "merchant-portal/src/Api/Controllers/OrdersController.cs"
STARTUP = "merchant-portal/src/Api/Startup.cs"
REPORTS = "merchant-portal/reports/src/main/java/com/contoso/reports/ReportController.java"
SERVER = "merchant-portal/web/src/server.ts"
IMPORTER = "merchant-portal/tools/importer.py"
PLANTED = {
    ("CODE-CS-001", CONTROLLER, 12),  # SQL text built from the merchant name (the parameterised twin: 14)
    ("CODE-CS-007", CONTROLLER, 21),  # BinaryFormatter
    ("CODE-CS-006", CONTROLLER, 31),  # Redirect(returnUrl) outside the Url.IsLocalUrl check (inside: 29)
    ("CODE-CS-016", STARTUP, 9),  # any origin with credentials (the named origin: 10)
    ("CODE-CS-017", STARTUP, 15),  # ValidateLifetime = false (ValidateIssuerSigningKey = true: 16)
    ("CODE-JAVA-003", REPORTS, 13),  # path from @RequestParam (FilenameUtils.getName twin: 14)
    ("CODE-JAVA-002", REPORTS, 20),  # Runtime.exec with the format (fixed ProcessBuilder: 21)
    ("CODE-JAVA-010", REPORTS, 25),  # MD5 (SHA-256: 26)
    ("CODE-JS-005", SERVER, 7),  # req.query.name into HTML (escapeHtml twin: 11)
    ("CODE-JS-006", SERVER, 15),  # fetch(req.query.url)
    ("CODE-JS-009", SERVER, 19),  # rejectUnauthorized: false (a CA instead: 20)
    ("CODE-PY-009", IMPORTER, 12),  # yaml.load with yaml.Loader (safe_load twin: 13)
    ("CODE-PY-002", IMPORTER, 19),  # shell=True with form input (argument list twin: 20)
    ("CODE-PY-013", IMPORTER, 25),  # verify=False
    # Planted earlier for the dependency scanner's PyYAML 5.3, and a code flaw of its own:
    ("CODE-PY-009", "payments-api/app/views.py", 7),
}


def write_demo(root: Path) -> None:
    for org in demo_world().organizations:
        for project in org.projects:
            for repo in project.repositories:
                for path, text in repo.files.items():
                    target = root / repo.name / path
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_text(text)


async def test_the_demo_yields_exactly_the_planted_code_flaws(tmp_path):
    write_demo(tmp_path)
    found = await SCANNER.scan(ScanContext(root=tmp_path, secret_key=b"k"))
    assert {(f.rule.id, f.path, f.line) for f in found} == PLANTED
    assert {f.rule.category for f in found} == {"CODE"}
    by_rule = {f.rule.id: f for f in found}
    assert by_rule["CODE-CS-007"].rule.severity == "CRITICAL"
    assert "CWE-502" in by_rule["CODE-CS-007"].message


@pytest.fixture
def services_settings() -> dict:
    return {"posture_enabled": False}  # code findings only: posture has its own tests


VULNERABLE = """import pickle
from flask import request


def load():
    return pickle.loads(request.data)
"""


async def test_code_findings_are_stored_keep_their_identity_when_code_moves_and_export_cwe(
    services,
    world,
):
    account_id, _ = await connect_organization(services)
    repo = world.organization("contoso").project("Payments").repositories[0]
    repo.files = {**repo.files, "app/loader.py": VULNERABLE}
    repo.head_commit = repo.tree_digest()
    now = utcnow()
    await run_daily(services, now)
    async with services.sessions() as session:
        [first] = (await session.exec(select(Finding).where(Finding.category == "CODE"))).all()
    assert (first.rule_id, first.path, first.line, first.status) == (
        "CODE-PY-008",
        "app/loader.py",
        6,
        "OPEN",
    )

    repo.files = {**repo.files, "app/loader.py": '"""Loads batches."""\n\n' + VULNERABLE}
    repo.head_commit = repo.tree_digest()
    await run_daily(services, now + timedelta(days=1))
    async with services.sessions() as session:
        [moved] = (await session.exec(select(Finding).where(Finding.category == "CODE"))).all()
        stored = (
            await session.exec(select(AzureRepository).where(AzureRepository.id == first.repository_id))
        ).one()
        sarif = await repository_sarif(session, account_id, stored.id)
    assert (moved.id, moved.fingerprint, moved.line, moved.status) == (first.id, first.fingerprint, 8, "OPEN")

    schema = sarif_schema()
    jsonschema.Draft4Validator(schema).validate(sarif)
    [run] = [r for r in sarif["runs"] if r["tool"]["driver"]["name"] == "panoptica-semgrep"]
    [descriptor] = run["tool"]["driver"]["rules"]
    assert descriptor["relationships"] == [
        {"target": {"id": "502", "toolComponent": {"name": "CWE"}}, "kinds": ["superset"]}
    ]
    assert "external/cwe/cwe-502" in descriptor["properties"]["tags"]
    assert descriptor["properties"]["security-severity"] == "9.5"
    assert [t["id"] for t in run["taxonomies"][0]["taxa"]] == ["502"]
    assert run["tool"]["driver"]["supportedTaxonomies"] == [{"name": "CWE"}]
