"""The on-demand budget (GCRA in one row per account) and the idempotency of on-demand scans, on the real
database: concurrent requests of one account decide one after the other, in any number of sessions."""

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update
from sqlmodel import func, select

from core.accounts import service as accounts
from core.accounts.service import Principal
from core.db import session_scope
from core.discovery.models import AzureRepository
from core.jobs.models import Job
from core.ondemand import budget
from core.ondemand.models import OndemandBudget
from core.scans import requests as scan_requests
from core.scans.models import ScanRun
from core.services import open_services
from tests.api.seed import seed_repositories

T0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


def test_a_burst_then_one_request_per_interval():
    full_at = T0
    for _ in range(3):  # burst of 3, then one per second (3,600 per hour)
        full_at = budget.admit(full_at, T0, burst=3, per_hour=3600)
    with pytest.raises(budget.RateLimited) as refused:
        budget.admit(full_at, T0, burst=3, per_hour=3600)
    assert (refused.value.retry_after_seconds, refused.value.retry_at) == (1, T0 + timedelta(seconds=1))
    full_at = budget.admit(full_at, T0 + timedelta(seconds=1), burst=3, per_hour=3600)
    with pytest.raises(budget.RateLimited):
        budget.admit(full_at, T0 + timedelta(seconds=1), burst=3, per_hour=3600)


def test_an_idle_account_gets_its_burst_back_but_not_more():
    full_at = T0
    for _ in range(10):
        full_at = budget.admit(full_at, T0, burst=10, per_hour=60)  # one a minute
    later = T0 + timedelta(hours=5)
    for _ in range(10):
        full_at = budget.admit(full_at, later, burst=10, per_hour=60)
    with pytest.raises(budget.RateLimited) as refused:
        budget.admit(full_at, later, burst=10, per_hour=60)
    assert refused.value.retry_after_seconds == 60
    assert "try again in 60 s" in refused.value.message


def test_long_waits_read_in_minutes():
    with pytest.raises(budget.RateLimited) as refused:
        budget.admit(T0 + timedelta(hours=2), T0, burst=1, per_hour=1)
    assert refused.value.retry_after_seconds == 7200
    assert "try again in 120 min (at 14:00:00 UTC)" in refused.value.message


async def new_account(db) -> str:
    async with session_scope(db) as session:
        return (await accounts.create_account(session, "Acme")).id


async def test_concurrent_requests_of_one_account_spend_exactly_the_burst(db, settings):
    account_id = await new_account(db)
    limits = settings.model_copy(update={"ondemand_burst": 3, "ondemand_per_hour": 1})

    async def request() -> bool:
        try:
            async with session_scope(db) as session:
                spending = await budget.hold(session, account_id)
                await asyncio.sleep(0.01)  # hold the lock a moment: the others must wait, not overspend
                await spending.spend(session, limits)
        except budget.RateLimited:
            return False
        return True

    outcomes = await asyncio.gather(*(request() for _ in range(12)))
    assert outcomes.count(True) == 3
    async with db() as session:
        assert (await session.exec(select(func.count()).select_from(OndemandBudget))).one() == 1


async def test_a_refusal_rolls_back_and_leaves_the_budget_as_it_was(db, settings):
    account_id = await new_account(db)
    limits = settings.model_copy(update={"ondemand_burst": 1})
    async with session_scope(db) as session:
        await (await budget.hold(session, account_id)).spend(session, limits)
    async with db() as session:
        spent = (await session.get(OndemandBudget, account_id)).full_at
    with pytest.raises(budget.RateLimited):
        async with session_scope(db) as session:
            await (await budget.hold(session, account_id)).spend(session, limits)
    async with db() as session:
        assert (await session.get(OndemandBudget, account_id)).full_at == spent


async def test_a_run_whose_job_failed_for_good_does_not_block_the_next_scan(db, settings):
    account_id = await new_account(db)
    await seed_repositories(db, account_id, count=2)
    principal = Principal(account_id=account_id, user_email="alice@acme.test", token_id="")
    async with open_services(settings) as services:
        async with services.sessions() as session:
            repo_id = (
                await session.exec(select(AzureRepository.id).where(AzureRepository.name == "repo-001"))
            ).one()
        first = await scan_requests.request_repository_scan(services, principal, repo_id)
        assert first.already_queued is False
        again = await scan_requests.request_repository_scan(services, principal, repo_id)
        assert (again.already_queued, again.run.id) == (True, first.run.id)
        async with session_scope(services.sessions) as session:  # its job gave up; the run row says RUNNING
            await session.exec(update(ScanRun).values(status="RUNNING"))
            await session.exec(update(Job).where(Job.kind == "scans.repository").values(status="failed"))
        after = await scan_requests.request_repository_scan(services, principal, repo_id)
    assert after.already_queued is False and after.run.id != first.run.id
