"""Recovery without loss: an administrator revokes our consent (the emulator's admin API deletes the service
principal), the connection turns DEGRADED, an administrator signs in and consents again through
startAzureConnection, Connect passes, and every repository, selection, finding and audit event is still there."""

import ssl

import httpx
from sqlmodel import func, select

from core.audit.models import AuditEvent
from core.db import session_scope
from core.discovery.models import AzureRepository
from core.findings.models import Finding
from sandbox.scenario import Fault
from tests.signin import connect_in_browser
from tests.support.connect_api import CONNECT, REFRESH, REPOS, connect, consented, start
from tests.worlds import CLIENT_ID, CONTOSO_TENANT

SELECT_NONE = "mutation($ids: [ID!]!) { setRepositorySelection(ids: $ids, selected: false) { __typename } }"
FINDINGS = "query { findings(first: 100) { totalCount edges { node { id ruleId path } } } }"


async def revoke_consent(sandbox) -> None:
    """As the customer's Entra administrator does: delete our enterprise application (service principal)."""
    async with httpx.AsyncClient(verify=ssl.create_default_context(cafile=str(sandbox.ca_path))) as admin:
        answer = await admin.request(
            "DELETE",
            f"{sandbox.urls['admin']}/api/tenants/{CONTOSO_TENANT}/consent",
            json={"client_id": CLIENT_ID},
        )
    assert answer.status_code == 200, answer.text


async def seed_findings(db, account_id: str) -> int:
    """Findings as a scan leaves them (a scan's own tests cover how they are made)."""
    async with session_scope(db) as session:
        repositories = (
            await session.exec(select(AzureRepository).where(AzureRepository.account_id == account_id))
        ).all()
        for i, repository in enumerate(repositories):
            session.add(
                Finding(
                    account_id=account_id,
                    repository_id=repository.id,
                    scanner="secrets",
                    rule_id="SECRET-TEST",
                    title="A test finding",
                    severity="HIGH",
                    category="SECRET",
                    path=f"src/file{i}.py",
                    fingerprint=f"fp-{i}",
                )
            )
    return len(repositories)


async def test_revoked_consent_is_recovered_keeping_everything(alice, sandbox, world, http, db):
    connection_id = await consented(alice, sandbox, http)
    assert (await connect(alice, connection_id))["ok"]
    repositories = (await alice.graphql(REPOS))["data"]["repositories"]["edges"]
    unselected = repositories[0]["node"]["id"]
    assert "errors" not in await alice.graphql(SELECT_NONE, ids=[unselected])
    seeded = await seed_findings(db, alice.account_id)
    findings_before = (await alice.graphql(FINDINGS))["data"]["findings"]
    assert findings_before["totalCount"] == seeded > 0
    async with db() as session:
        events_before = (await session.exec(select(func.count()).select_from(AuditEvent))).one()

    await revoke_consent(sandbox)
    refreshed = await connect(alice, connection_id, REFRESH)
    assert refreshed["ok"] is False and refreshed["connection"]["status"] == "DEGRADED"

    restarted = await start(alice)  # not ALREADY_CONNECTED: a degraded connection may be re-authorized
    assert restarted["__typename"] == "StartAzureConnectionSuccess", restarted
    assert restarted["connection"]["id"] == connection_id
    assert restarted["connection"]["status"] == "DEGRADED"  # unchanged until Connect passes again
    page = await connect_in_browser(http, sandbox, restarted["signInUrl"])
    assert page.status_code == 200, page.text
    recovered = await connect(alice, connection_id, CONNECT)
    assert recovered["ok"] is True and recovered["connection"]["status"] == "CONNECTED", recovered

    after = (await alice.graphql(REPOS))["data"]["repositories"]["edges"]
    assert {e["node"]["id"] for e in after} == {e["node"]["id"] for e in repositories}
    assert {e["node"]["id"]: e["node"]["selected"] for e in after}[unselected] is False
    assert (await alice.graphql(FINDINGS))["data"]["findings"] == findings_before
    async with db() as session:
        events_after = (await session.exec(select(func.count()).select_from(AuditEvent))).one()
    assert events_after > events_before  # the history is kept, and the recovery is in it


SLOW_REFRESH = """mutation($id: ID!) { refreshAzureConnection(connectionId: $id) { __typename
  ... on ConnectAzureOrganizationSuccess { ok connection { status } }
  ... on UserError { code message } } }"""


async def test_a_refresh_against_a_slow_azure_answers_at_once_and_the_verification_goes_on(
    alice, sandbox, world, http, app
):
    connection_id = await consented(alice, sandbox, http)
    assert (await connect(alice, connection_id))["ok"]
    app.state.services.settings = app.state.services.settings.model_copy(update={"refresh_wait_seconds": 0.2})
    before = sandbox.context.count("dev")
    # Every Azure DevOps answer now takes 1.5 s: a verification takes many seconds.
    world.organization("contoso").faults.append(Fault(host="dev", latency_ms=1500))
    first = (await alice.graphql(SLOW_REFRESH, id=connection_id))["data"]["refreshAzureConnection"]
    assert first["code"] == "VERIFICATION_RUNNING", first
    assert "goes on in the background" in first["message"] and "Refresh again" in first["message"]

    world.organization("contoso").faults.clear()
    answers = [first]
    while answers[-1].get("code") == "VERIFICATION_RUNNING" and len(answers) < 200:
        answers.append(
            (await alice.graphql(SLOW_REFRESH, id=connection_id))["data"]["refreshAzureConnection"]
        )
    assert answers[-1] == {
        "__typename": "ConnectAzureOrganizationSuccess",
        "ok": True,
        "connection": {"status": "CONNECTED"},
    }
    # Asking again while it ran joined the same verification: as many Azure DevOps requests as one refresh.
    during = sandbox.context.count("dev") - before
    after = sandbox.context.count("dev")
    assert (await alice.graphql(SLOW_REFRESH, id=connection_id))["data"]["refreshAzureConnection"]["ok"]
    assert during == sandbox.context.count("dev") - after
