"""Finding lifecycle across runs, on the real database."""

from datetime import timedelta

from sqlmodel import select

from core.db import session_scope
from core.db.columns import utcnow
from core.findings.lifecycle import record_results
from core.findings.models import Finding
from core.scans.scanner import RawFinding, Rule
from tests.api.seed import seed_repositories

PUBLIC_BUCKET = Rule("CKV_AZURE_1", "Storage is public", "HIGH", "IAC")
OPEN_SSH = Rule("CKV_AZURE_2", "SSH open to the internet", "HIGH", "IAC")
PAT = Rule("SECRET-AZURE-DEVOPS-PAT", "Azure DevOps PAT", "CRITICAL", "SECRET")


async def repository(db) -> tuple[str, str]:
    from core.accounts.service import create_account
    from core.discovery.models import AzureRepository

    async with session_scope(db) as session:
        account = await create_account(session, "Acme")
    await seed_repositories(db, account.id, count=1)
    async with db() as session:
        repo = (await session.exec(select(AzureRepository))).one()
    return account.id, repo.id


async def run(db, account_id, repo_id, results, now=None):
    async with session_scope(db) as session:
        return await record_results(
            session,
            account_id=account_id,
            repository_id=repo_id,
            run_id="r",
            commit="c1",
            results=results,
            now=now or utcnow(),
        )


async def statuses(db) -> dict[str, str]:
    async with db() as session:
        return {f.rule_id: f.status for f in (await session.exec(select(Finding))).all()}


async def test_fix_one_add_another(db):
    account_id, repo_id = await repository(db)
    first = await run(
        db, account_id, repo_id, {"checkov": [RawFinding(PUBLIC_BUCKET, "main.tf", 3, identity="sa")]}
    )
    assert (first.new, first.fixed, first.open) == (1, 0, 1)
    second = await run(
        db, account_id, repo_id, {"checkov": [RawFinding(OPEN_SSH, "main.tf", 9, identity="nsg")]}
    )
    assert (second.new, second.fixed, second.open) == (1, 1, 1)
    assert await statuses(db) == {"CKV_AZURE_1": "FIXED", "CKV_AZURE_2": "OPEN"}


async def test_line_shift_keeps_the_finding_and_a_rerun_does_not_duplicate(db):
    account_id, repo_id = await repository(db)
    await run(db, account_id, repo_id, {"checkov": [RawFinding(PUBLIC_BUCKET, "main.tf", 3, identity="sa")]})
    await run(db, account_id, repo_id, {"checkov": [RawFinding(PUBLIC_BUCKET, "main.tf", 30, identity="sa")]})
    await run(db, account_id, repo_id, {"checkov": [RawFinding(PUBLIC_BUCKET, "main.tf", 30, identity="sa")]})
    async with db() as session:
        [finding] = (await session.exec(select(Finding))).all()
    assert (finding.status, finding.line) == ("OPEN", 30)
    assert finding.first_seen_at < finding.last_seen_at


async def test_a_failed_scanner_fixes_nothing(db):
    account_id, repo_id = await repository(db)
    await run(
        db,
        account_id,
        repo_id,
        {
            "checkov": [RawFinding(PUBLIC_BUCKET, "main.tf", 3, identity="sa")],
            "secrets": [
                RawFinding(PAT, "a.env", 1, identity="hash", secret_hash="hash", preview="abcd… (52 chars)")
            ],
        },
    )
    outcome = await run(db, account_id, repo_id, {"secrets": []})  # checkov failed this time: no entry
    assert outcome.fixed == 1
    assert await statuses(db) == {"CKV_AZURE_1": "OPEN", "SECRET-AZURE-DEVOPS-PAT": "FIXED"}


async def test_fixed_then_back_reopens_and_expired_suppression_reopens(db):
    account_id, repo_id = await repository(db)
    finding = RawFinding(PUBLIC_BUCKET, "main.tf", 3, identity="sa")
    await run(db, account_id, repo_id, {"checkov": [finding]})
    await run(db, account_id, repo_id, {"checkov": []})
    outcome = await run(db, account_id, repo_id, {"checkov": [finding]})
    assert outcome.reopened == 1 and await statuses(db) == {"CKV_AZURE_1": "REOPENED"}

    async with session_scope(db) as session:
        row = (await session.exec(select(Finding))).one()
        row.status, row.suppressed_until = "SUPPRESSED", utcnow() + timedelta(days=1)
        session.add(row)
    await run(db, account_id, repo_id, {"checkov": [finding]})
    assert await statuses(db) == {"CKV_AZURE_1": "SUPPRESSED"}
    await run(db, account_id, repo_id, {"checkov": [finding]}, now=utcnow() + timedelta(days=2))
    assert await statuses(db) == {"CKV_AZURE_1": "REOPENED"}
