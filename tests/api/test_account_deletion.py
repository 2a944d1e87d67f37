"""Deleting an account leaves no row of it anywhere: checked by walking the schema, so new tables are covered.

Every table that belongs to an account (an `account_id` column, or a foreign key to such a row) gets rows
for two accounts, generated from its columns; jobs (with payloads naming the account's rows), Slack
installations and, on PostgreSQL, procrastinate's rows are added as the service writes them. After the
deletion, no value in any table (ours, Bolt's, procrastinate's) names anything of the deleted account, the
other account keeps every row, and one audit record outside the account says what went.
"""

from __future__ import annotations

import asyncio
import io

from sqlalchemy import MetaData, select

from api.cli import main
from core.accounts.models import Account
from core.db import session_scope
from core.db.models import SQLModel
from core.jobs import service as jobs
from core.retention.accounts import ownership
from core.retention.models import AccountDeletion
from core.slack.stores import BOLT_METADATA, BOTS_TABLE, INSTALLATIONS_TABLE
from tests.api.conftest import new_caller
from tests.core.retention.rows import insert
from tests.support.console import console_sign_in, csrf_of, gql, new_account
from tests.worlds import ADMIN

DELETE = """mutation($name: String!) { deleteAccount(confirmName: $name) { __typename
  ... on DeleteAccountSuccess { accountId rows }
  ... on UserError { code message } } }"""


async def seed_every_owned_table(db, account_id: str) -> set[str]:
    """One row (two for leaf tables) in every table of the account; returns every id and hash written."""
    owned_tables = set(ownership(account_id))
    written: dict[str, list[dict]] = {"accounts": [{"id": account_id}]}
    markers = {account_id}
    async with session_scope(db) as session:
        for table in SQLModel.metadata.sorted_tables:  # parents before children
            if table.name not in owned_tables or table.name == "accounts":
                continue
            given = {}
            if "account_id" in table.c:
                given["account_id"] = account_id
            for key in table.foreign_keys:
                parents = written.get(key.column.table.name)
                if parents:
                    given[key.parent.name] = parents[0][key.column.name]
            row = await insert(session, table, **given)
            written.setdefault(table.name, []).append(row)
            markers |= {str(v) for k, v in row.items() if k in ("id", "team_id", "secret_hash", "token_hash")}
        connection = written["azure_connections"][0]["id"]
        team = written["slack_workspaces"][0]["team_id"]
        run = written["scan_runs"][0]["id"]
        for payload in (
            {"connection_id": connection},
            {"run_id": run},
            {"account_id": account_id, "team_id": team},
        ):
            job = await jobs.enqueue(
                session, "scans.connection", payload
            )  # on PostgreSQL, procrastinate's too
            markers.add(job.id)
        for name in (INSTALLATIONS_TABLE, BOTS_TABLE):  # Bolt's, as its OAuth flow stores them
            await insert(session, BOLT_METADATA.tables[name], team_id=team)
    return markers


async def every_row(db) -> dict[str, list[tuple]]:
    """Every row of every table in the database (reflected: ours, Bolt's, procrastinate's, Alembic's)."""

    def reflect(connection):
        metadata = MetaData()
        metadata.reflect(connection)
        return metadata

    async with db() as session:
        connection = await session.connection()
        metadata = await connection.run_sync(reflect)
        return {
            name: [tuple(row) for row in (await session.exec(select(table))).all()]
            for name, table in metadata.tables.items()
        }


def naming(rows: dict[str, list[tuple]], markers: set[str]) -> dict[str, list[tuple]]:
    """The rows holding any of `markers` in any value (JSON values included, as their text)."""
    found = {}
    for table, table_rows in rows.items():
        hits = [row for row in table_rows if any(m in str(value) for value in row for m in markers)]
        if hits:
            found[table] = hits
    return found


async def test_deleting_an_account_leaves_no_row_of_it_in_any_table(db, http):
    alice = await new_caller(db, http, "Acme Corp", "alice@acme.test")
    other = await new_caller(db, http, "Other Corp", "olga@other.test")
    gone_markers = await seed_every_owned_table(db, alice.account_id)
    kept_markers = await seed_every_owned_table(db, other.account_id)
    before = await every_row(db)
    assert set(naming(before, gone_markers)) >= set(ownership(alice.account_id)) | {
        "jobs",
        INSTALLATIONS_TABLE,
    }

    refused = (await alice.graphql(DELETE, name="Acme"))["data"]["deleteAccount"]
    assert refused["__typename"] == "InvalidInputError" and "Acme Corp" in refused["message"]
    assert await every_row(db) == before  # a wrong confirmation changes nothing

    done = (await alice.graphql(DELETE, name="Acme Corp"))["data"]["deleteAccount"]
    assert done["__typename"] == "DeleteAccountSuccess" and done["accountId"] == alice.account_id

    after = await every_row(db)
    left = naming(after, gone_markers)
    assert set(left) == {"account_deletions"}, left  # only the audit record kept outside the account
    for table, rows in naming(before, kept_markers).items():
        assert naming({table: after[table]}, kept_markers)[table] == rows, (
            f"the other account lost rows of {table}"
        )
    async with db() as session:
        record = (await session.exec(select(AccountDeletion))).scalars().one()
    assert (record.deleted_account_id, record.account_name, record.deleted_by) == (
        alice.account_id,
        "Acme Corp",
        "alice@acme.test",
    )
    assert (
        record.rows["findings"] == 1
        and record.rows["jobs"] == 3
        and done["rows"] == sum(record.rows.values())
    )
    # The deleted account's token no longer works.
    response = await alice.client.post(
        "/graphql", json={"query": "{ __typename }"}, headers={"Authorization": f"Bearer {alice.token}"}
    )
    assert response.status_code == 401


async def run_cli(argv: list[str], typed: str, monkeypatch, capsys) -> tuple[int, str, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(typed + "\n"))
    code = await asyncio.to_thread(main, argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


async def test_cli_deletes_only_after_the_name_is_typed(db, http, database_url, monkeypatch, capsys):
    acme = await new_caller(db, http, "Acme Corp", "alice@acme.test")
    markers = await seed_every_owned_table(db, acme.account_id)
    monkeypatch.setenv("PANOPTICA_DATABASE_URL", database_url)
    before = await every_row(db)

    code, _, err = await run_cli(["accounts", "delete", acme.account_id], "Acme", monkeypatch, capsys)
    assert code == 2 and "Acme Corp" in err
    assert await every_row(db) == before

    code, _, err = await run_cli(["accounts", "delete", "no-such-account"], "x", monkeypatch, capsys)
    assert code == 2 and "no account no-such-account" in err

    code, out, _ = await run_cli(["accounts", "delete", acme.account_id], "Acme Corp", monkeypatch, capsys)
    assert code == 0 and f"account {acme.account_id} (Acme Corp) deleted" in out
    assert set(naming(await every_row(db), markers)) == {"account_deletions"}
    async with db() as session:
        record = (await session.exec(select(AccountDeletion))).scalars().one()
    assert record.deleted_by == "cli"


async def test_a_console_member_cannot_delete_the_account(app, settings, db, world):
    """Only the owner (an API token) may: a member signed in to the console gets FORBIDDEN, nothing goes."""
    account_id = await new_account(db, world, "Acme Corp", ADMIN, "marker")
    member = await console_sign_in(app, settings, ADMIN)
    query = 'mutation { deleteAccount(confirmName: "Acme Corp") { __typename ... on UserError { code } } }'
    response = await gql(member, query, csrf=await csrf_of(member))
    assert response.json()["data"]["deleteAccount"] == {"__typename": "ForbiddenError", "code": "FORBIDDEN"}
    async with db() as session:
        assert await session.get(Account, account_id) is not None
