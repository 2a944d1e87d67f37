"""Posture evaluated on demand and read back as a user sees it: shared by the posture test modules."""

from sqlmodel import select

from core.connections.models import AzureConnection
from core.db import session_scope
from core.discovery.models import AzureProject
from core.jobs.runner import JobRunner
from core.posture.evaluate import queue_posture
from core.posture.models import PostureResult, PostureRun


async def evaluate(services, connection_id: str) -> PostureRun:
    """A manual evaluation of the connection, run to its end."""
    async with session_scope(services.sessions) as session:
        connection = await session.get(AzureConnection, connection_id)
        run = await queue_posture(session, connection, "MANUAL")
    await JobRunner(services).run_until_idle()
    async with services.sessions() as session:
        return await session.get(PostureRun, run.id)


async def results(services) -> dict[tuple[str, str, str], str]:
    async with services.sessions() as session:
        rows = (await session.exec(select(PostureResult, AzureProject.name).join(AzureProject))).all()
    return {(project, r.control_id, r.resource_name): r.status for r, project in rows}


async def reasons(services) -> dict[tuple[str, str], str]:
    async with services.sessions() as session:
        rows = (await session.exec(select(PostureResult))).all()
    return {(r.control_id, r.resource_name): r.reason for r in rows}
