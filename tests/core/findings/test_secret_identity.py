"""Secret findings as a user expects them, on the real database: distinct tokens are distinct findings, one
token in two files is one secret (one keyed hash) in two findings, and findings stored by secrets scanner 2 (whose
GitHub tokens were all the value `ghp`) are carried over to the whole values without merging or reopening.

Every token is generated at test time.
"""

import secrets
import string
from datetime import timedelta

import pytest
from sqlmodel import select

from core.accounts.service import create_account
from core.db import session_scope
from core.db.columns import utcnow
from core.discovery.models import AzureRepository
from core.findings import service as findings_service
from core.findings.lifecycle import record_results
from core.findings.models import Finding
from core.scanners.secrets import DETECT_SECRETS_TYPES
from core.scans.keys import secret_hash_key
from core.scans.scanner import RawFinding, fingerprint, redacted_preview, secret_hash
from tests.api.seed import seed_repositories
from tests.support.flows import connect_organization, run_daily

GITHUB = DETECT_SECRETS_TYPES["GitHub Token"].rule
KEY = b"service-key-for-tests"


def token() -> str:
    return "ghp_" + "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(36))


def version_2(key: bytes, path: str, line: int) -> RawFinding:
    """What secrets scanner 2 stored for any GitHub token(s) in a file: the value `ghp`."""
    shrunk = secret_hash(key, "ghp")
    return RawFinding(GITHUB, path, line, identity=shrunk, secret_hash=shrunk, preview="ghp… (3 chars)")


def version_3(key: bytes, path: str, line: int, value: str) -> RawFinding:
    whole = secret_hash(key, value)
    return RawFinding(
        GITHUB,
        path,
        line,
        identity=whole,
        secret_hash=whole,
        preview=redacted_preview(value),
        previous_identity=secret_hash(key, "ghp"),
    )


async def rows(sessions) -> list[Finding]:
    async with sessions() as session:
        return list((await session.exec(select(Finding).order_by(Finding.path, Finding.line))).all())


# --- the lifecycle, on the database -----------------------------------------------------------------------------


async def repository(db) -> tuple[str, str]:
    async with session_scope(db) as session:
        account = await create_account(session, "Acme")
    await seed_repositories(db, account.id, count=1)
    async with db() as session:
        repo = (await session.exec(select(AzureRepository))).one()
    return account.id, repo.id


async def run(db, account_id, repo_id, raws, now):
    async with session_scope(db) as session:
        return await record_results(
            session,
            account_id=account_id,
            repository_id=repo_id,
            run_id="r",
            commit="c",
            results={"secrets": raws},
            now=now,
        )


async def test_a_version_2_finding_becomes_the_token_at_its_line_and_the_other_opens(db):
    account_id, repo_id = await repository(db)
    start = utcnow() - timedelta(days=3)
    await run(db, account_id, repo_id, [version_2(KEY, "ci/deploy.sh", 3)], start)
    [old] = await rows(db)
    async with session_scope(db) as session:
        await findings_service.suppress(
            session, account_id, "alice", old.id, "rotated, history rewrite pending", None
        )

    first, second = token(), token()
    later = utcnow()
    raws = [version_3(KEY, "ci/deploy.sh", 1, first), version_3(KEY, "ci/deploy.sh", 3, second)]
    outcome = await run(db, account_id, repo_id, raws, later)
    assert (outcome.new, outcome.fixed, outcome.reopened) == (1, 0, 0)
    carried, new = sorted(await rows(db), key=lambda f: f.id != old.id)
    assert carried.id == old.id and carried.line == 3  # the one the user reviewed, at the line they saw
    assert (carried.status, carried.suppressed_reason) == ("SUPPRESSED", "rotated, history rewrite pending")
    assert carried.secret_hash == secret_hash(KEY, second) and carried.preview == "ghp_… (40 chars)"
    assert carried.fingerprint == fingerprint(GITHUB.id, "ci/deploy.sh", secret_hash(KEY, second))
    assert carried.first_seen_at == old.first_seen_at
    assert (new.status, new.line, new.secret_hash) == ("OPEN", 1, secret_hash(KEY, first))

    again = await run(db, account_id, repo_id, raws, later + timedelta(days=1))  # the next day: nothing moves
    assert (again.new, again.fixed, again.reopened, again.open) == (0, 0, 0, 1)
    assert len(await rows(db)) == 2


async def test_a_fixed_version_2_finding_is_not_reopened_by_a_new_token(db):
    account_id, repo_id = await repository(db)
    start = utcnow() - timedelta(days=3)
    await run(db, account_id, repo_id, [version_2(KEY, "ci/deploy.sh", 1)], start)
    await run(db, account_id, repo_id, [], start + timedelta(days=1))  # the token was removed: fixed
    outcome = await run(db, account_id, repo_id, [version_3(KEY, "ci/deploy.sh", 1, token())], utcnow())
    assert (outcome.new, outcome.reopened) == (1, 0)
    fixed, opened = sorted(await rows(db), key=lambda f: f.status)
    assert (fixed.status, fixed.preview) == ("FIXED", "ghp… (3 chars)")
    assert opened.status == "OPEN" and opened.id != fixed.id


async def test_a_version_2_finding_nothing_continues_is_fixed(db):
    account_id, repo_id = await repository(db)
    await run(db, account_id, repo_id, [version_2(KEY, "ci/deploy.sh", 1)], utcnow() - timedelta(days=1))
    outcome = await run(db, account_id, repo_id, [version_3(KEY, "other.sh", 1, token())], utcnow())
    assert (outcome.new, outcome.fixed) == (1, 1)
    assert {(f.path, f.status) for f in await rows(db)} == {("ci/deploy.sh", "FIXED"), ("other.sh", "OPEN")}


# --- the whole stack: the emulator's repository, the daily scan, the stored rows ---------------------------------


@pytest.fixture
def services_settings() -> dict:
    return {"posture_enabled": False, "scanners": "secrets"}


async def test_tokens_scanned_from_the_emulator_have_the_identities_a_user_expects(services, world):
    first, second, shared = token(), token(), token()
    repo = world.organization("contoso").project("Payments").repositories[0]
    repo.files = {
        "ci/deploy.sh": f"export GH_TOKEN={first}\necho deploying\ngh release upload --token {second} v1\n",
        "app/.env": f"GITHUB_TOKEN={shared}\n",
        "tools/.env": f"GITHUB_TOKEN={shared}\n",
    }
    repo.head_commit = repo.tree_digest()
    account_id, _ = await connect_organization(services)
    async with services.sessions() as session:
        repo_id = (
            (await session.exec(select(AzureRepository).where(AzureRepository.name == repo.name))).one().id
        )

    # What secrets scanner 2 had stored for this repository: one `ghp` finding per file, one of them suppressed.
    key = secret_hash_key(services.settings)
    async with session_scope(services.sessions) as session:
        await record_results(
            session,
            account_id=account_id,
            repository_id=repo_id,
            run_id="v2",
            commit="old",
            results={"secrets": [version_2(key, p, 1) for p in ("app/.env", "ci/deploy.sh", "tools/.env")]},
            now=utcnow() - timedelta(days=7),
        )
    before = {f.path: f for f in await rows(services.sessions)}
    async with session_scope(services.sessions) as session:
        await findings_service.suppress(
            session, account_id, "alice", before["ci/deploy.sh"].id, "revoked at GitHub", None
        )

    await run_daily(services)

    found = await rows(services.sessions)
    head = [f for f in found if f.scanner == "secrets"]
    stored = [(f.path, f.line, f.rule_id, f.status, f.secret_hash, f.preview) for f in head]
    assert stored == [
        ("app/.env", 1, GITHUB.id, "OPEN", secret_hash(key, shared), "ghp_… (40 chars)"),
        ("ci/deploy.sh", 1, GITHUB.id, "SUPPRESSED", secret_hash(key, first), "ghp_… (40 chars)"),
        ("ci/deploy.sh", 3, GITHUB.id, "OPEN", secret_hash(key, second), "ghp_… (40 chars)"),
        ("tools/.env", 1, GITHUB.id, "OPEN", secret_hash(key, shared), "ghp_… (40 chars)"),
    ]
    # The history scan (on by default) has one finding per secret, at its first occurrence (the commit that added
    # the three, app/.env before tools/.env), each still in the head; a suppression of a head finding is its own.
    history = [(f.path, f.rule_id, f.status, f.secret_hash) for f in found if f.scanner == "history"]
    assert sorted(history) == sorted(
        [
            ("app/.env", f"HISTORY-{GITHUB.id}", "OPEN", secret_hash(key, shared)),
            ("ci/deploy.sh", f"HISTORY-{GITHUB.id}", "OPEN", secret_hash(key, first)),
            ("ci/deploy.sh", f"HISTORY-{GITHUB.id}", "OPEN", secret_hash(key, second)),
        ]
    )
    assert all("still in the head" in f.message for f in found if f.scanner == "history")
    after = {(f.path, f.line): f for f in head}
    # The version-2 rows continue (same ids, first sightings, the suppression); the second token is new.
    assert {after[(p, 1)].id for p in ("app/.env", "ci/deploy.sh", "tools/.env")} == {
        f.id for f in before.values()
    }
    assert after[("ci/deploy.sh", 1)].first_seen_at == before["ci/deploy.sh"].first_seen_at
    assert after[("ci/deploy.sh", 3)].id not in {f.id for f in before.values()}
    # One secret in two places: one hash, two findings.
    assert after[("app/.env", 1)].fingerprint != after[("tools/.env", 1)].fingerprint
