"""The Repositories search and minSeverity filter read indexes (migration 0016), on SQLite and PostgreSQL, and
answer what the unindexed search answered: a case-insensitive substring of the name or the project name, only
the caller's account's repositories, kept in step with renames and deletions."""

import contextlib

from alembic import command
from sqlalchemy import delete, event, inspect, update
from sqlmodel import select

from core.accounts.service import create_account
from core.connections.models import AzureConnection
from core.db import create_engine, session_factory, session_scope
from core.db.migrate import alembic_config, upgrade_engine
from core.discovery.models import AzureRepository
from core.discovery.search import CANDIDATES, repository_search
from core.discovery.service import RepositoryFilter, count_repositories, list_repositories
from core.findings.models import Finding


async def make_account(db, name: str, repositories: list[tuple[str, str]]) -> tuple[str, dict[str, str]]:
    """An account with one connection and these (project, name) repositories: (account id, name -> id)."""
    async with session_scope(db) as session:
        account = await create_account(session, name)
        connection = AzureConnection(
            account_id=account.id, organization=name.lower(), tenant_id="t", created_by="a"
        )
        session.add(connection)
        await session.flush()
        rows = [
            AzureRepository(
                account_id=account.id,
                connection_id=connection.id,
                ado_id=f"{project}/{repo}",
                organization=name.lower(),
                project_ado_id=project,
                project_name=project,
                name=repo,
            )
            for project, repo in repositories
        ]
        session.add_all(rows)
    return account.id, {r.name: r.id for r in rows}


async def names(db, account_id: str, search: str) -> list[str]:
    async with db() as session:
        page = await list_repositories(session, account_id, RepositoryFilter(search=search), 100, None)
        counted = await count_repositories(session, account_id, RepositoryFilter(search=search))
    assert counted.value == page.total_count == len(page.items)
    return [r.name for r in page.items]


async def test_search_is_a_case_insensitive_substring_of_name_or_project_within_the_account(db):
    acme, ids = await make_account(
        db,
        "Acme",
        [("Payments", "Billing-API"), ("Payments", "ledger"), ("Web", "api_gateway"), ("Web", "site")],
    )
    await make_account(db, "Other", [("Payments", "billing-api-fork"), ("Other", "api")])

    assert await names(db, acme, "api") == ["Billing-API", "api_gateway"]
    assert await names(db, acme, "BILLING-a") == ["Billing-API"]
    assert await names(db, acme, "payments") == ["Billing-API", "ledger"]  # the project's name
    assert await names(db, acme, "ap") == ["Billing-API", "api_gateway"]  # under a trigram: unindexed
    assert await names(db, acme, "i_g") == ["api_gateway"]  # LIKE's wildcard is a literal character
    assert await names(db, acme, 'a"p') == []  # FTS5 syntax is literal too
    assert await names(db, acme, "nothing-like-it") == []

    async with session_scope(db) as session:  # a rename and a deletion reach the index
        await session.exec(
            update(AzureRepository).where(AzureRepository.id == ids["site"]).values(name="www-api")
        )
        await session.exec(delete(AzureRepository).where(AzureRepository.id == ids["Billing-API"]))
    assert await names(db, acme, "api") == ["api_gateway", "www-api"]
    assert await names(db, acme, "billing") == []


async def test_a_search_with_more_candidates_than_the_index_reads_still_answers_every_match(db):
    acme, _ = await make_account(db, "Acme", [("P", f"svc-{i:04d}") for i in range(CANDIDATES + 5)])
    async with db() as session:
        page = await list_repositories(session, acme, RepositoryFilter(search="SVC-"), 100, None)
        counted = await count_repositories(session, acme, RepositoryFilter(search="svc-"))
    assert [r.name for r in page.items] == [f"svc-{i:04d}" for i in range(100)]
    assert page.total_count == counted.value == CANDIDATES + 5


async def plan(session, statement, params) -> str:
    """The plan of one statement as the database prints it (indexes named), one line per step."""
    connection = await session.connection()
    if connection.dialect.name == "sqlite":
        rows = await connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params)
        return "\n".join(str(row[3]) for row in rows)
    # A test database holds a few rows, where a sequential scan is cheapest: ask whether the index serves.
    await connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
    rows = await connection.exec_driver_sql("EXPLAIN " + statement, params)
    return "\n".join(row[0] for row in rows)


@contextlib.contextmanager
def captured(session):
    """The statements (SQL, parameters) the session runs inside the block."""
    seen: list[tuple[str, object]] = []

    def listen(_connection, _cursor, sql, params, *_):
        seen.append((sql, params))

    event.listen(session.bind.sync_engine, "before_cursor_execute", listen)
    try:
        yield seen
    finally:
        event.remove(session.bind.sync_engine, "before_cursor_execute", listen)


async def test_the_search_plan_uses_the_trigram_index(db):
    acme, _ = await make_account(db, "Acme", [("Payments", f"repo-{i:03d}") for i in range(50)])
    async with db() as session:
        with captured(session) as seen:
            flt = RepositoryFilter(search="repo-01")
            page = await list_repositories(session, acme, flt, 100, None, count=False)
        assert [r.name for r in page.items] == [f"repo-{i:03d}" for i in range(10, 20)]
        if session.bind.dialect.name == "sqlite":
            (fts_sql, fts_params), (page_sql, page_params) = seen
            assert "VIRTUAL TABLE" in await plan(session, fts_sql, fts_params)  # the FTS5 trigram index
            page_plan = await plan(session, page_sql, page_params)
            assert "(id=?)" in page_plan  # the candidates read by primary key...
            assert "account_id=?" not in page_plan  # ...not a walk of every row of the account
        else:
            # At a few rows the planner rightly walks the account's index in name order; what must hold is that
            # the search's own expression is one the trigram indexes answer (a typo in it would scan a million).
            search = await repository_search(session, "repo-01")
            compiled = select(AzureRepository.id).where(search.condition).compile(session.bind.sync_engine)
            search_plan = await plan(session, str(compiled), compiled.params)
            assert "ix_azure_repositories_name_trgm" in search_plan
            assert "ix_azure_repositories_project_name_trgm" in search_plan


async def test_the_min_severity_plan_uses_the_repository_status_severity_index(db):
    acme, ids = await make_account(db, "Acme", [("P", "a"), ("P", "b")])
    async with session_scope(db) as session:
        session.add(
            Finding(
                account_id=acme,
                repository_id=ids["a"],
                scanner="secrets",
                rule_id="R1",
                title="t",
                severity="HIGH",
                category="SECRET",
                path="x",
                fingerprint="f1",
            )
        )
    async with db() as session:
        with captured(session) as seen:
            flt = RepositoryFilter(min_severity="HIGH")
            page = await list_repositories(session, acme, flt, 100, None, count=False)
        assert [r.name for r in page.items] == ["a"]
        [(sql, params)] = seen
        assert "ix_findings_repository_status_severity" in await plan(session, sql, params)


async def downgrade(engine, revision: str) -> None:
    config = alembic_config(engine.url.render_as_string(hide_password=False))

    def run(connection) -> None:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)

    async with engine.begin() as connection:
        await connection.run_sync(run)


async def test_the_sqlite_migration_indexes_existing_repositories_and_downgrades(tmp_path):
    """Downgrading below 0016 removes the FTS5 table and its triggers (repositories are still written), and
    upgrading a SQLite database that holds repositories indexes them, those written meanwhile included. The
    ORM writes and reads at the head (later migrations add columns); below it, plain SQL. Its own SQLite file
    in both passes of the suite: on PostgreSQL CREATE INDEX reads the table itself, and the plan tests above
    see the trigram indexes used."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/migrated.db")
    try:
        db = session_factory(engine)
        await upgrade_engine(engine)
        acme, _ = await make_account(db, "Acme", [("Payments", "Billing-API"), ("Web", "site")])
        assert await names(db, acme, "billing") == ["Billing-API"]

        await downgrade(engine, "0015")
        async with engine.connect() as connection:
            tables = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
        assert not {t for t in tables if t.startswith("azure_repositories_search")}
        async with engine.begin() as connection:  # no trigger left behind: the rename is written
            await connection.exec_driver_sql(
                "UPDATE azure_repositories SET name = 'billing-site' WHERE name = 'site'"
            )

        await upgrade_engine(engine)
        assert await names(db, acme, "billing") == ["Billing-API", "billing-site"]
        other, _ = await make_account(db, "Other", [("Web", "billing-web")])  # the triggers are back
        assert await names(db, other, "billing") == ["billing-web"]
    finally:
        await engine.dispose()
