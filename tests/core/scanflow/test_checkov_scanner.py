"""checkov from its own virtualenv: real findings on the demo's IaC, and clear failures, never a crash."""

import stat
from pathlib import Path

import pytest
from sqlmodel import select

from core.db.columns import utcnow
from core.scanners.checkov import SCANNER
from core.scans.models import ScanRun
from core.scans.scanner import ScanContext, ScannerError
from sandbox.scenario import demo_world
from tests.core.scanflow.test_scan_flow import connected, daily, findings, services  # noqa: F401 - fixture

CONTEXT = {"secret_key": b"k", "timeout_seconds": 300, "memory_limit_bytes": 4 * 1024**3}


def demo_repo(tmp_path: Path, name: str) -> Path:
    for org in demo_world().organizations:
        for project in org.projects:
            for repo in project.repositories:
                if repo.name == name:
                    for path, text in repo.files.items():
                        target = tmp_path / path
                        target.parent.mkdir(parents=True, exist_ok=True)
                        target.write_text(text)
                    return tmp_path
    raise LookupError(name)


def fake_checkov(tmp_path: Path, script: str) -> str:
    path = tmp_path / "checkov"
    path.write_text("#!/bin/sh\n" + script + "\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return str(path)


async def test_the_demo_kubernetes_and_dockerfile_misconfigurations(tmp_path):
    root = demo_repo(tmp_path, "k8s-manifests")
    found = {(f.rule.id, f.path) for f in await SCANNER.scan(ScanContext(root=root, **CONTEXT))}
    assert ("CKV_K8S_16", "deployments/payments-api.yaml") in found  # privileged container
    assert ("CKV_K8S_14", "deployments/payments-api.yaml") in found  # image :latest
    assert ("CKV_K8S_16", "deployments/identity.yaml") not in found  # the clean manifest


async def test_findings_carry_our_severity_and_no_source_lines(tmp_path):
    root = demo_repo(tmp_path, "payments-api")
    results = await SCANNER.scan(ScanContext(root=root, **CONTEXT))
    by_id = {f.rule.id: f for f in results}
    assert by_id["CKV_DOCKER_7"].rule.severity == "MEDIUM" and by_id["CKV_DOCKER_7"].line == 2
    assert all("code_block" not in repr(f) for f in results)


@pytest.mark.parametrize(
    ("script", "reason"),
    [("sleep 30", "timed out"), ("echo 'not json'", "no parseable JSON"), ("exit 3", "exit code 3")],
)
async def test_checkov_failures_are_scanner_errors(tmp_path, monkeypatch, script, reason):
    monkeypatch.setenv("PANOPTICA_CHECKOV_BIN", fake_checkov(tmp_path, script))
    with pytest.raises(ScannerError, match=reason):
        await SCANNER.scan(
            ScanContext(root=tmp_path, secret_key=b"k", timeout_seconds=1, memory_limit_bytes=1024**3)
        )


async def test_a_missing_checkov_makes_the_run_partial_not_failed(services, world, monkeypatch):  # noqa: F811
    monkeypatch.setenv("PANOPTICA_CHECKOV_BIN", "/nonexistent/checkov")
    await connected(services, world)
    await daily(services, utcnow())
    async with services.sessions() as session:
        runs = (await session.exec(select(ScanRun))).all()
    assert runs and {r.status for r in runs} == {"PARTIAL"}
    assert all("checkov: checkov is not installed" in r.error for r in runs)
    # The other scanners' results still count.
    assert ("ADO-PIPE-10", "azure-pipelines.yml") in await findings(services)
