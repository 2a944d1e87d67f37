"""Reconciliation by Azure DevOps id, on the real database (SQLite and PostgreSQL)."""

from sqlalchemy import event
from sqlmodel import select

from core.accounts.service import create_account
from core.azure.models import Project, Repository
from core.connections.models import AzureConnection
from core.db import session_scope
from core.db.columns import utcnow
from core.discovery.models import AzureProject, AzureRepository
from core.discovery.reconcile import reconcile

PROJECT = {"id": "p1", "name": "Payments", "visibility": "private"}


def ado_repo(repo_id: str, name: str, **extra) -> dict:
    return {
        "id": repo_id,
        "name": name,
        "project": PROJECT,
        "defaultBranch": "refs/heads/main",
        "webUrl": f"https://dev.azure.com/contoso/Payments/_git/{name}",
        "size": 10,
        **extra,
    }


async def make_connection(db) -> AzureConnection:
    async with session_scope(db) as session:
        account = await create_account(session, "Acme")
        connection = AzureConnection(
            account_id=account.id, organization="contoso", tenant_id="t", created_by="a@acme.test"
        )
        session.add(connection)
    return connection


async def stored(db, connection_id: str) -> dict[str, AzureRepository]:
    async with db() as session:
        rows = (
            await session.exec(select(AzureRepository).where(AzureRepository.connection_id == connection_id))
        ).all()
    return {row.ado_id: row for row in rows}


async def run(db, connection, projects, repositories):
    # Answers as the Azure client hands them over: parsed into its models.
    projects = [Project.model_validate(p) for p in projects]
    repositories = [Repository.model_validate(r) for r in repositories]
    async with session_scope(db) as session:
        return await reconcile(session, connection, projects, repositories, utcnow())


async def test_second_discovery_renames_removes_adds_and_keeps_selection(db):
    connection = await make_connection(db)
    first = await run(
        db, connection, [PROJECT], [ado_repo("r1", "api"), ado_repo("r2", "web"), ado_repo("r3", "old")]
    )
    assert (first.added, first.removed) == (3, 0)
    before = await stored(db, connection.id)
    async with session_scope(db) as session:
        row = await session.get(AzureRepository, before["r1"].id)
        row.selected = False
        session.add(row)

    second = await run(
        db,
        connection,
        [PROJECT],
        [ado_repo("r1", "api-renamed"), ado_repo("r2", "web"), ado_repo("r4", "new")],
    )
    assert (second.added, second.renamed, second.removed) == (1, 1, 1)
    after = await stored(db, connection.id)
    assert after["r1"].name == "api-renamed"
    assert after["r1"].id == before["r1"].id and after["r1"].selected is False
    assert after["r1"].discovered_at == before["r1"].discovered_at
    assert after["r3"].removed_at is not None  # kept, not deleted
    assert after["r4"].selected is True and after["r4"].removed_at is None

    third = await run(
        db,
        connection,
        [PROJECT],
        [ado_repo("r1", "api-renamed"), ado_repo("r2", "web"), ado_repo("r3", "old"), ado_repo("r4", "new")],
    )
    assert third.restored == 1
    assert (await stored(db, connection.id))["r3"].removed_at is None


async def test_exclusions_and_forks(db):
    connection = await make_connection(db)
    await run(
        db,
        connection,
        [PROJECT],
        [
            ado_repo("d", "disabled", isDisabled=True),
            {"id": "e", "name": "empty", "project": PROJECT},
            ado_repo("m", "maintenance", isInMaintenance=True),
            ado_repo("f", "fork", isFork=True),
        ],
    )
    rows = await stored(db, connection.id)
    assert {k: r.excluded_reason for k, r in rows.items()} == {
        "d": "DISABLED",
        "e": "EMPTY",
        "m": "IN_MAINTENANCE",
        "f": None,
    }
    assert rows["f"].is_fork and rows["e"].is_empty


async def test_projects_are_reconciled_too(db):
    connection = await make_connection(db)
    await run(db, connection, [PROJECT, {"id": "p2", "name": "Gone"}], [])
    await run(db, connection, [{**PROJECT, "name": "Payments v2"}], [])
    async with db() as session:
        projects = {p.ado_id: p for p in (await session.exec(select(AzureProject))).all()}
    assert projects["p1"].name == "Payments v2" and projects["p1"].removed_at is None
    assert projects["p2"].removed_at is not None


async def test_reconciling_many_repositories_is_bulk(db, engine):
    connection = await make_connection(db)
    repositories = [ado_repo(f"r{i}", f"repo-{i}") for i in range(2000)]
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        await run(db, connection, [PROJECT], repositories)
        first = len(statements)
        statements.clear()
        renamed = [ado_repo(f"r{i}", f"renamed-{i}") for i in range(2000)]
        await run(db, connection, [PROJECT], renamed)
        second = len(statements)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)
    assert len(await stored(db, connection.id)) == 2000
    # A handful of statements (batched inserts and updates), never one per repository.
    assert first < 40 and second < 40
