"""The daily run at its request floor (core/scans/unchanged.py): one branch listing per repository, the unchanged
repositories' reused runs written in bulk without a job, posture reading no commit for a head that did not
move, and everything else still scanned by its own job. Through the emulator over HTTPS and the real database."""

from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import event
from sqlmodel import col, select

from core.db import session_scope
from core.db.columns import utcnow
from core.discovery.models import AzureRepository
from core.findings.models import Finding, FindingStatus
from core.jobs.models import Job
from core.observability.logs import CORRELATION_ID
from core.posture.models import PostureResult
from core.scans import schedule
from core.scans.models import ScanRun
from core.scans.service import connection_batch
from sandbox.osv import default_advisories
from tests.core.dependencies import planted
from tests.support.flows import connect_organization, run_daily
from tests.support.secret_samples import digitalocean

# payments-api, payments-web, infra, oss-lib: the selected repositories with a default branch (tests/worlds.py).
SCANNED = {"payments-api", "payments-web", "infra", "oss-lib"}
LEAKY = digitalocean(0)  # a generated token, never written literally (tests/support/secret_samples.py)


@pytest.fixture
def services_settings() -> dict:
    return {"posture_enabled": False, "scanners": "secrets,pipelines"}


async def runs(services) -> list[ScanRun]:
    async with services.sessions() as session:
        return list((await session.exec(select(ScanRun).order_by(col(ScanRun.created_at)))).all())


async def repository_jobs(services) -> int:
    async with services.sessions() as session:
        return len((await session.exec(select(Job.id).where(Job.kind == "scans.repository"))).all())


async def names_of(services, runs_: list[ScanRun]) -> dict[str, ScanRun]:
    async with services.sessions() as session:
        rows = (await session.exec(select(AzureRepository.id, AzureRepository.name))).all()
    names = dict(rows)
    return {names[r.repository_id]: r for r in runs_}


def requests_by_kind(sandbox) -> Counter:
    kinds: Counter = Counter()
    for r in sandbox.context.requests:
        if r.host != "dev":
            continue
        if "$format=zip" in r.query or "%24format=zip" in r.query:
            kinds["archive"] += 1
        elif "/_git/" in r.path:
            kinds["git"] += 1
        elif r.path.endswith("/refs"):
            kinds["refs"] += 1
        elif r.path.endswith("/commits"):
            kinds["commits"] += 1
    return kinds


async def test_an_unchanged_day_lists_each_repository_once_and_writes_its_reused_run_in_bulk(
    services, world, sandbox
):
    world.organization("contoso").project("Payments").repositories[0].files = {LEAKY.path: LEAKY.text}
    _, connection_id = await connect_organization(services)
    now = utcnow()
    await run_daily(services, now)
    first = await runs(services)
    assert {r.status for r in first} == {"SUCCEEDED"} and len(first) == len(SCANNED)
    jobs_before = await repository_jobs(services)
    async with services.sessions() as session:
        secret = (await session.exec(select(Finding).where(Finding.scanner == "secrets"))).one()

    sandbox.context.requests.clear()
    await run_daily(services, now + timedelta(days=1))

    second = (await runs(services))[len(first) :]
    by_name, first_by_name = await names_of(services, second), await names_of(services, first)
    assert set(by_name) == SCANNED
    slot = schedule.latest_slot(services.settings.scan_schedule, connection_id, now + timedelta(days=1))
    for name, run in by_name.items():
        assert (run.status, run.reused, run.trigger, run.new_findings, run.fixed_findings) == (
            "SUCCEEDED",
            True,
            "SCHEDULE",
            0,
            0,
        ), name
        assert run.batch == connection_batch(connection_id, slot.isoformat())
        assert run.commit == first_by_name[name].commit  # its unchanged head
    assert await repository_jobs(services) == jobs_before  # no job per unchanged repository
    kinds = requests_by_kind(sandbox)
    assert kinds["refs"] == len(SCANNED)  # one branch listing each: head and history in one read
    assert kinds["archive"] == 0 and kinds["git"] == 0  # nothing downloaded, no ls-remote
    async with services.sessions() as session:
        repos = (
            await session.exec(select(AzureRepository).where(col(AzureRepository.name).in_(SCANNED)))
        ).all()
        again = await session.get(Finding, secret.id)
    assert {r.scan_status for r in repos} == {"SUCCEEDED"}
    assert all(r.head_commit == r.scanned_commit and r.head_listed_at is not None for r in repos)
    assert again is not None and again.status == FindingStatus.OPEN  # the head's secret stays open


async def test_unchanged_repositories_cost_a_bounded_number_of_statements(services, world, sandbox):
    """The connection job's statements do not grow with its unchanged repositories (goal: at most 3 each)."""
    await connect_organization(services)
    now = utcnow()
    await run_daily(services, now)
    by_job: Counter = Counter()

    def count(*_):
        by_job[CORRELATION_ID.get()] += 1

    event.listen(services.engine.sync_engine, "before_cursor_execute", count)
    try:
        await run_daily(services, now + timedelta(days=1))
    finally:
        event.remove(services.engine.sync_engine, "before_cursor_execute", count)
    async with services.sessions() as session:
        kinds = dict((await session.exec(select(Job.id, Job.kind))).all())
    per_kind: Counter = Counter()
    for correlation, n in by_job.items():
        per_kind[kinds.get(correlation, "runner")] += n
    assert "scans.repository" not in per_kind  # no job ran for an unchanged repository
    # Verification and rediscovery are most of it; the listing, the plan and the bulk writes a dozen more.
    assert per_kind["scans.connection"] <= 40, per_kind


async def test_a_new_head_or_a_moved_branch_gets_its_own_job_and_the_rest_stays_in_bulk(
    services, world, sandbox
):
    await connect_organization(services)
    now = utcnow()
    await run_daily(services, now)
    first = await runs(services)
    payments = world.organization("contoso").project("Payments")
    api, web = payments.repositories[0], payments.repositories[1]
    api.files = {**api.files, LEAKY.path: LEAKY.text}
    api.head_commit = api.tree_digest()
    web.branches = [*web.branches, "feature/login"]  # a new branch: the history scan has commits to look at

    sandbox.context.requests.clear()
    await run_daily(services, now + timedelta(days=1))

    by_name = await names_of(services, (await runs(services))[len(first) :])
    assert set(by_name) == SCANNED
    # Scanned: the new secret, in its head and in its history.
    assert not by_name["payments-api"].reused and by_name["payments-api"].new_findings == 2
    assert by_name["payments-web"].reused  # its head did not move: a reuse, in its own job for the history
    assert all(by_name[n].reused for n in ("infra", "oss-lib"))
    assert await repository_jobs(services) == len(first) + 2
    kinds = requests_by_kind(sandbox)
    assert kinds["archive"] == 1
    # The connection job's listings, and each job's own: nothing more for the two in bulk.
    assert kinds["refs"] == len(SCANNED) + 2
    async with services.sessions() as session:
        secrets = (await session.exec(select(Finding).where(Finding.scanner == "secrets"))).all()
    assert [f.status for f in secrets] == ["OPEN"]


async def test_an_expired_suppression_is_reopened_by_the_repositorys_own_job(services, world, sandbox):
    api = world.organization("contoso").project("Payments").repositories[0]
    api.files = {LEAKY.path: LEAKY.text}
    await connect_organization(services)
    now = utcnow()
    await run_daily(services, now)
    async with session_scope(services.sessions) as session:
        history = (await session.exec(select(Finding).where(Finding.scanner == "history"))).all()
        assert history, "the head's secret is in the history too"
        for finding in history:
            finding.status, finding.suppressed_until = (
                FindingStatus.SUPPRESSED,
                utcnow() - timedelta(seconds=1),
            )
            session.add(finding)
    await run_daily(services, now + timedelta(days=1))
    async with services.sessions() as session:
        statuses = {
            f.status for f in (await session.exec(select(Finding).where(Finding.scanner == "history"))).all()
        }
    assert statuses == {FindingStatus.REOPENED}


async def test_a_retried_connection_job_writes_no_run_twice(services, world, sandbox):
    _, connection_id = await connect_organization(services)
    now = utcnow()
    await run_daily(services, now)
    before = len(await runs(services))
    slot = "2026-12-02T04:00:00+00:00"
    assert await schedule.scan_connection(services, connection_id, slot, trigger="SCHEDULE") == len(SCANNED)
    await schedule.scan_connection(services, connection_id, slot, trigger="SCHEDULE")  # a redelivery
    assert len(await runs(services)) == before + len(SCANNED)


@pytest.mark.parametrize("services_settings", [{"scanners": "pipelines"}])
async def test_posture_reads_no_commit_for_a_head_that_did_not_move(services, world, sandbox):
    await connect_organization(services)
    now = utcnow()
    sandbox.context.requests.clear()
    await run_daily(services, now)
    assert requests_by_kind(sandbox)["commits"] == len(SCANNED)  # the first evaluation reads each head's date
    async with services.sessions() as session:
        dated = (
            await session.exec(select(AzureRepository).where(col(AzureRepository.name).in_(SCANNED)))
        ).all()
    assert all(r.head_committed_at is not None for r in dated)

    api = world.organization("contoso").project("Payments").repositories[0]
    api.files = {**api.files, "CHANGELOG.md": "changed\n"}
    api.head_commit = api.tree_digest()
    sandbox.context.requests.clear()
    await run_daily(services, now + timedelta(days=1))
    assert requests_by_kind(sandbox)["commits"] == 1  # only the head that moved
    async with services.sessions() as session:
        inactive = (
            await session.exec(select(PostureResult).where(PostureResult.control_id == "ADO-REPO-07"))
        ).all()
    assert {r.resource_name for r in inactive} == SCANNED
    assert {r.status for r in inactive} == {"PASS"}  # dates kept or read, every repository was evaluated


@pytest.mark.parametrize("services_settings", [{"posture_enabled": False, "scanners": "dependencies"}])
async def test_unchanged_dependencies_are_matched_again_in_bulk_and_keep_their_findings(
    services, world, sandbox
):
    world.advisories = default_advisories()  # the emulated OSV's
    await planted.connected(services, world)
    now = utcnow()
    await run_daily(services, now)
    before = {f.id: f for f in await planted.dependency_findings(services)}
    assert {(f.rule_id, f.severity, f.path, f.line) for f in before.values()} == planted.EXPECTED
    jobs_before = await repository_jobs(services)

    await planted.new_day(services)  # today's advisories asked again: the same answer
    sandbox.context.requests.clear()
    await run_daily(services, now + timedelta(days=1))

    assert await repository_jobs(services) == jobs_before  # the bulk path, for payments-api too
    assert requests_by_kind(sandbox)["archive"] == 0
    api_run = (await planted.runs(services))[-1]
    assert (api_run.status, api_run.reused, api_run.new_findings, api_run.fixed_findings) == (
        "SUCCEEDED",
        True,
        0,
        0,
    )
    assert api_run.open_findings == len(planted.EXPECTED)
    after = {f.id: f for f in await planted.dependency_findings(services)}
    assert set(after) == set(before)
    for finding in after.values():  # seen again by today's run, everything else as it was
        old = before[finding.id]
        assert finding.last_run_id == api_run.id and finding.last_seen_at > old.last_seen_at
        assert (finding.status, finding.severity, finding.message, finding.remediation) == (
            old.status,
            old.severity,
            old.message,
            old.remediation,
        )
