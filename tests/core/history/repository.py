"""payments-api with a git history of the test's making, connected and scanned: shared by the history tests."""

import secrets
import string

from sqlmodel import select

from core.connections.models import AzureConnection
from core.db import session_scope
from core.discovery.models import AzureRepository
from core.jobs.runner import JobRunner
from core.scans.models import ScanRun
from core.scans.service import queue_scan
from sandbox import gitrepos
from tests.support.flows import connect_organization


def github_token() -> str:
    return "ghp_" + "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(36))


def payments_api(world):
    return world.organization("contoso").project("Payments").repositories[0]


def set_history(repo, history, generated: int = 0) -> None:
    repo.generated_commits = generated
    gitrepos.rewrite(repo, history)  # REST refs and git agree on the head


async def connect(services) -> tuple[str, AzureRepository, AzureConnection]:
    """Contoso connected by a new account: (account id, payments-api's row, the connection)."""
    account_id, _ = await connect_organization(services)
    async with services.sessions() as session:
        repo = (
            await session.exec(select(AzureRepository).where(AzureRepository.name == "payments-api"))
        ).one()
        connection = await session.get(AzureConnection, repo.connection_id)
    return account_id, repo, connection


async def scan(services, repo: AzureRepository) -> ScanRun:
    """A manual scan of the repository, run to its end."""
    async with session_scope(services.sessions) as session:
        row = await session.get(AzureRepository, repo.id)
        run = await queue_scan(session, row, "MANUAL")
    await JobRunner(services).run_until_idle()
    async with services.sessions() as session:
        return await session.get(ScanRun, run.id)
