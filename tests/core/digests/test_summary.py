"""The digest summary: a pure function of connections and repositories (scope, baseline, changes), and the
loader that reads them for a subscription, with the period starting at its previous digest."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from core.connections.models import AzureConnection
from core.db import session_scope
from core.db.columns import utcnow
from core.digests.outbox import add_digest
from core.digests.summary import MAX_NAMES, Scope, load_summary, summarize
from core.discovery.models import AzureRepository
from tests.core.digests.conftest import subscribe

T0 = utcnow().replace(microsecond=0) - timedelta(days=10)
DAY = timedelta(days=1)


def connection(org: str, status: str = "CONNECTED", checks=(), **kw) -> AzureConnection:
    return AzureConnection(
        account_id="a",
        organization=org,
        tenant_id="t",
        created_by="x",
        status=status,
        checks=list(checks),
        **kw,
    )


def repo(org: str, project: str, name: str, discovered=T0, removed=None, **kw) -> AzureRepository:
    return AzureRepository(
        account_id="a",
        connection_id=org,
        ado_id=f"{org}/{project}/{name}",
        organization=org,
        project_ado_id="p",
        project_name=project,
        name=name,
        discovered_at=discovered,
        removed_at=removed,
        **kw,
    )


REPOS = [
    repo("contoso", "Payments", "payments-api"),
    repo("contoso", "Payments", "payments-web", discovered=T0 + 3 * DAY),  # new in the period
    repo("contoso", "Payments", "legacy", removed=T0 + 3 * DAY),  # removed in the period
    repo("contoso", "Payments", "blip", discovered=T0 + 3 * DAY, removed=T0 + 4 * DAY),  # came and went
    repo("contoso", "Platform", "infra", excluded_reason="disabled"),
    repo("contoso", "Platform", "gone-long-ago", removed=T0 + DAY),
    repo("fabrikam", "Web", "site", discovered=T0 + 3 * DAY),
]
CONNECTIONS = [
    connection(
        "fabrikam", "DEGRADED", [{"code": "can_read_code", "status": "FAIL"}, {"code": "x", "status": "PASS"}]
    ),
    connection("contoso", last_verified_at=T0),
]


def run(scope: Scope, since=T0 + 2 * DAY, until=T0 + 5 * DAY, baseline=False):
    return summarize(
        day="2030-01-05",
        scope=scope,
        since=since,
        until=until,
        connections=CONNECTIONS,
        repositories=REPOS,
        baseline=baseline,
    )


def names(changes) -> list[str]:
    return [c.name for c in changes]


def test_changes_in_the_period_for_every_organization():
    summary = run(Scope())
    repos = summary.repositories
    assert (repos.total, repos.excluded) == (4, 1)  # payments-api, payments-web, infra, site
    assert names(repos.new) == ["payments-web", "site"] and repos.new_count == 2
    assert names(repos.removed) == ["legacy"] and repos.removed_count == 1
    assert [c.organization for c in summary.connections] == ["contoso", "fabrikam"]
    assert [c.organization for c in summary.unhealthy] == ["fabrikam"]
    assert summary.unhealthy[0].failing_checks == ("can_read_code",)
    assert summary.has_changes and not summary.baseline


def test_scope_by_organization_and_project_case_insensitively():
    org = run(Scope("CONTOSO"))
    assert [c.organization for c in org.connections] == ["contoso"]
    assert names(org.repositories.new) == ["payments-web"] and org.repositories.total == 3
    project = run(Scope("contoso", "platform"))
    assert project.repositories.total == 1 and not project.has_changes
    assert [c.organization for c in project.connections] == ["contoso"]
    nothing = run(Scope("northwind"))
    assert nothing.connections == () and nothing.repositories.total == 0


def test_a_period_without_changes():
    summary = run(Scope(), since=T0 + 4 * DAY + timedelta(hours=1), until=T0 + 5 * DAY)
    assert not summary.has_changes and summary.repositories.total == 4


def test_baseline_has_totals_and_no_change_lists():
    summary = run(Scope(), since=None, baseline=True)
    assert summary.baseline and summary.repositories.total == 4
    assert summary.repositories.new == () and summary.repositories.removed == ()


def test_change_lists_are_capped_but_counted():
    many = [repo("contoso", "P", f"r{i:03d}", discovered=T0 + 3 * DAY) for i in range(MAX_NAMES + 15)]
    summary = summarize(
        day="d",
        scope=Scope(),
        since=T0,
        until=T0 + 5 * DAY,
        connections=[],
        repositories=many,
        baseline=False,
    )
    assert summary.repositories.new_count == MAX_NAMES + 15
    assert names(summary.repositories.new) == [f"r{i:03d}" for i in range(MAX_NAMES)]


async def test_load_summary_starts_the_period_at_the_previous_digest(db, account):
    subscription = await subscribe(db, account, "C0SECURITY", organization="contoso")
    async with session_scope(db) as session:
        conn = connection("contoso")
        conn.account_id = account.id
        session.add(conn)
        await session.flush()
        for name in ("api", "web"):
            row = repo("contoso", "Payments", name, discovered=utcnow() - DAY)
            row.account_id, row.connection_id = account.id, conn.id
            session.add(row)
        other = repo("fabrikam", "Web", "site", discovered=utcnow() - DAY)
        other.account_id, other.connection_id = account.id, conn.id
        other.ado_id = "other"
        session.add(other)

    first_cut = utcnow()
    async with session_scope(db) as session:
        first = await load_summary(session, subscription, "2030-01-01", first_cut)
        await add_digest(session, subscription, "2030-01-01", {"text": "t", "blocks": []}, first_cut)
    assert first.baseline and first.repositories.total == 2  # fabrikam is out of scope

    async with session_scope(db) as session:
        new = repo("contoso", "Payments", "new-one", discovered=first_cut + timedelta(milliseconds=5))
        new.account_id, new.connection_id = account.id, conn.id
        session.add(new)
        query = select(AzureRepository).where(
            AzureRepository.account_id == account.id, AzureRepository.name == "web"
        )
        web = (await session.exec(query)).one()
        web.removed_at = first_cut + timedelta(milliseconds=5)
        session.add(web)

    async with session_scope(db) as session:
        second = await load_summary(session, subscription, "2030-01-02", utcnow() + timedelta(seconds=1))
    assert not second.baseline and second.since == first_cut
    assert names(second.repositories.new) == ["new-one"]
    assert names(second.repositories.removed) == ["web"]
    assert second.repositories.total == 2
