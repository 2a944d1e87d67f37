"""`/panoptica scan` spends the account's on-demand budget, the one the console's scans spend: a repeat of a
queued scan is free, and a spent budget gets a readable refusal with the time to try again."""

import httpx
import pytest
from pydantic import SecretStr
from sqlmodel import select

from api.app import create_app
from core.discovery.models import AzureRepository
from core.jobs.runner import JobRunner
from core.scans.models import ScanRun
from tests.api.seed import seed_repositories
from tests.bot.slack_harness import SECRET, Bot


class SlackJobsOnly(Bot):
    """Runs the Slack command jobs (quick queue) only: the scans they queue stay queued."""

    async def run_jobs(self):
        await JobRunner(self.app.state.services, limits={"quick": 8}).run_until_idle()


@pytest.fixture
async def budget_bot(settings, sandbox, slack_world, db):
    """The Slack app with a budget of two on-demand requests, then one an hour."""
    limited = settings.model_copy(
        update={
            "slack_api_url": sandbox.slack_api_url,
            "slack_bot_token": SecretStr(slack_world.slack.bot_token),
            "slack_signing_secret": SecretStr(SECRET),
            "public_url": "http://testserver",
            "ondemand_burst": 2,
            "ondemand_per_hour": 1,
        }
    )
    app = create_app(limited, run_jobs=False)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http,
    ):
        yield SlackJobsOnly(app, http, sandbox, db)


SCAN = "mutation($id: ID!) { scanRepository(id: $id) { __typename } }"


async def test_slack_scans_share_the_accounts_budget(budget_bot, db):
    bot = budget_bot
    await bot.link()
    await seed_repositories(db, bot.caller.account_id, 4)
    async with db() as session:
        ids = {r.name: r.id for r in (await session.exec(select(AzureRepository))).all()}

    await bot.command("scan proj-1/repo-001")
    assert "Scan of `repo-001` queued" in bot.replies()[-1]
    await bot.command("scan proj-1/repo-001")  # still queued: answered, nothing spent
    assert "A scan of `repo-001` is already queued or running" in bot.replies()[-1]
    console = await bot.caller.graphql(SCAN, id=ids["repo-002"])  # the second unit, from the console
    assert console["data"]["scanRepository"]["__typename"] == "ScanQueued"

    await bot.command("scan proj-1/repo-003")
    refusal = bot.replies()[-1]
    assert ":hourglass: Too many on-demand requests for this account: try again in 60 min" in refusal
    assert "UTC" in refusal
    async with db() as session:
        scanned = {r.repository_id for r in (await session.exec(select(ScanRun))).all()}
    assert scanned == {ids["repo-001"], ids["repo-002"]}  # nothing queued for repo-003
