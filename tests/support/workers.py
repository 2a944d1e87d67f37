"""The distributed-workers scenario shared by tests/workers and benchmarks/worker_scaling.py: an organization of
risky pipelines in the emulator, and the customer's earlier Connect in this process."""

from __future__ import annotations

from core.accounts.service import Principal, create_account, issue_token
from core.connections import flows
from core.db import session_scope
from core.services import open_services
from core.slack.models import SlackSubscription, SlackWorkspace
from sandbox.scenario import Membership, Organization, Project, Repository
from tests.signin import grant
from tests.worlds import ADMIN, CLIENT_ID, CONTOSO_TENANT

RISKY = "steps:\n  - script: curl -sSL https://example.com/install.sh | bash\n"


def plant_organization(world, repositories: int) -> None:
    projects = [
        Project(
            name=f"team-{p}",
            repositories=[
                Repository(name=f"repo-{p}-{r:03d}", files={"azure-pipelines.yml": RISKY})
                for r in range(repositories // 4)
            ],
        )
        for p in range(4)
    ]
    member = Membership(client_id=CLIENT_ID, projects={p.name: "projectContributor" for p in projects})
    world.organizations.append(
        Organization(
            name="workers",
            tenant_id=CONTOSO_TENANT,
            administrators=[ADMIN],
            projects=projects,
            members=[member],
        )
    )
    world.model_validate(world)  # fills ids


async def connect(settings) -> tuple[str, str, str]:
    """In this process (the customer's earlier Connect): account, API token, connection, a digest channel."""
    async with open_services(settings.model_copy(update={"job_runner": "procrastinate"})) as services:
        async with session_scope(services.sessions) as session:
            account = await create_account(session, "Acme")
            issued = await issue_token(session, account.id, "alice@acme.test")
            session.add(SlackWorkspace(team_id="T0DEMO", account_id=account.id, linked_by="U1"))
        principal = Principal(account.id, "alice@acme.test", "")
        started = await flows.start(services, principal, "workers")
        await grant(services, started)
        result = await flows.connect(services, principal, started.connection.id)
        assert result.diagnosis.ok
        async with session_scope(services.sessions) as session:
            session.add(
                SlackSubscription(account_id=account.id, team_id="T0DEMO", channel_id="C1", created_by="U1")
            )
    return account.id, issued.token, started.connection.id
