"""Deleting an account completely: every row that belongs to it, found by walking the schema.

A row belongs to an account when its table has an `account_id` column naming it, or when one of its foreign
keys points at a row that belongs to it (a project of its connection, the history of its repository, the
digest messages of its subscription...), walked from `SQLModel.metadata`, so a table added later is covered
without changing this module. Three kinds of rows hold the account only inside a value, and are named here:
jobs (their JSON payload names its account, connection, run, repository or Slack team), Slack's installation
tables (Bolt's, by the account's Slack teams) and, on PostgreSQL, procrastinate's rows of those jobs.

Tables are emptied children first, in batches of `retention_batch_size` rows, one transaction per batch, so
the deletion never holds long locks. The last transaction deletes the account row itself and writes the
audit record, which is kept outside the account (`account_deletions`): who deleted which account, when, and
how many rows went from each table. Disconnecting one organization (core/connections/flows.py) is unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, Table, delete, or_, select
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col

from core.accounts.models import Account
from core.db import session_scope
from core.db.columns import utcnow
from core.db.models import SQLModel
from core.errors import InvalidInput, NotFound
from core.jobs.models import Job
from core.retention.models import AccountDeletion
from core.retention.service import PROCRASTINATE_JOBS, Context, TableResult, delete_batches, primary_key
from core.settings import Settings
from core.slack import service as slack
from core.slack.models import SlackWorkspace
from core.slack.stores import BOLT_METADATA, BOTS_TABLE, INSTALLATIONS_TABLE

# Never "belonging" to an account: the record of deletions itself.
NOT_OWNED = frozenset({AccountDeletion.__tablename__})
# Job payload keys that name something of an account, and the table whose ids they hold.
PAYLOAD_REFERENCES = {
    "account_id": "accounts",
    "connection_id": "azure_connections",
    "repository_id": "azure_repositories",
    "run_id": ("scan_runs", "posture_runs"),
    "team_id": "slack_workspaces",
}


class ConfirmationMismatch(InvalidInput):
    """The name typed to confirm is not the account's name: nothing was deleted."""

    code = "CONFIRMATION_MISMATCH"


@dataclass
class AccountDeleted:
    account_id: str
    name: str
    tables: list[TableResult] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(t.rows for t in self.tables)


def ownership(account_id: str) -> dict[str, ColumnElement[bool]]:
    """For every table holding rows of the account: the WHERE clause that selects exactly those rows."""
    tables = SQLModel.metadata.tables
    owned: dict[str, ColumnElement[bool] | None] = {}

    def clause(table: Table):
        if table.name in owned:
            return owned[table.name]
        if table.name == Account.__tablename__:
            owned[table.name] = table.c.id == account_id
            return owned[table.name]
        terms = []
        if "account_id" in table.c and table.name not in NOT_OWNED:
            terms.append(table.c.account_id == account_id)
        for key in table.foreign_keys:
            parent = key.column.table
            if parent is table or parent.name in NOT_OWNED:
                continue
            if parent.name == Account.__tablename__:
                if key.parent.name != "account_id":  # account_id is the term above
                    terms.append(key.parent == account_id)
                continue
            parent_clause = clause(parent)
            if parent_clause is not None:
                terms.append(key.parent.in_(select(key.column).where(parent_clause)))
        owned[table.name] = or_(*terms) if terms else None
        return owned[table.name]

    for table in tables.values():
        clause(table)
    return {name: where for name, where in owned.items() if where is not None}


def job_clause(owned: dict[str, ColumnElement[bool]]):
    """Jobs whose payload names the account or one of its rows."""
    tables = SQLModel.metadata.tables
    terms = []
    for key, targets in PAYLOAD_REFERENCES.items():
        for target in (targets,) if isinstance(targets, str) else targets:
            table = tables[target]
            ids = select(primary_key(table)).where(owned[target])
            terms.append(Job.payload[key].as_string().in_(ids))
    return or_(*terms)


def slack_install_clause(table: Table, account_id: str):
    teams = select(col(SlackWorkspace.team_id)).where(col(SlackWorkspace.account_id) == account_id)
    return table.c.team_id.in_(teams)


async def delete_account(
    sessions: async_sessionmaker, settings: Settings, account_id: str, confirm_name: str, actor: str
) -> AccountDeleted:
    """Delete the account and every row of it. Raises NotFound (no such account) or ConfirmationMismatch
    (`confirm_name` is not its name, compared exactly after trimming spaces); both change nothing."""
    async with sessions() as session:
        account = await session.get(Account, account_id)
    if account is None:
        raise NotFound("account", f"no account {account_id}")
    if confirm_name.strip() != account.name:
        raise ConfirmationMismatch(
            f"the confirmation is not the account's name: type {account.name!r} exactly; nothing was deleted."
        )
    async with sessions() as session:
        teams = list(
            (
                await session.exec(
                    select(col(SlackWorkspace.team_id)).where(col(SlackWorkspace.account_id) == account_id)
                )
            ).scalars()
        )
    context = Context(sessions, settings, utcnow(), dry_run=False)
    owned = ownership(account_id)
    done = AccountDeleted(account_id, account.name)
    for table, where in value_references(owned, account_id, dialect=await dialect_of(sessions)):
        done.tables.append(
            await delete_batches(context, TableResult(table.name, "owned"), table, primary_key(table), where)
        )
    for table in reversed(SQLModel.metadata.sorted_tables):
        if table.name in owned and table.name != Account.__tablename__:
            result = TableResult(table.name, "owned")
            done.tables.append(
                await delete_batches(context, result, table, primary_key(table), owned[table.name])
            )
    async with session_scope(sessions) as session:
        # Anything written for the account while the batches ran goes with it (foreign keys cascade).
        gone = (await session.exec(delete(Account).where(col(Account.id) == account_id))).rowcount
        done.tables.append(TableResult(Account.__tablename__, "owned", rows=gone, statements=1))
        session.add(
            AccountDeletion(
                deleted_account_id=account_id,
                account_name=account.name,
                deleted_by=actor,
                rows={t.table: t.rows for t in done.tables if t.rows},
            )
        )
        for team_id in teams:  # this process's cache of team -> account (core/slack/service.py)
            slack.forget_workspace(session, team_id)
    return done


async def dialect_of(sessions: async_sessionmaker) -> str:
    async with sessions() as session:
        return session.bind.dialect.name


def value_references(
    owned: dict[str, ColumnElement[bool]], account_id: str, dialect: str
) -> list[tuple[Table, ColumnElement[bool]]]:
    """The rows naming the account only in a value, deleted first (their clauses read the owned tables)."""
    jobs = job_clause(owned)
    found = []
    if dialect == "postgresql":
        table = PROCRASTINATE_JOBS
        found.append((table, table.c.args["job_id"].astext.in_(select(col(Job.id)).where(jobs))))
    found.append((Job.__table__, jobs))
    for name in (INSTALLATIONS_TABLE, BOTS_TABLE):
        table = BOLT_METADATA.tables[name]
        found.append((table, slack_install_clause(table, account_id)))
    return found


def render(done: AccountDeleted) -> str:
    lines = [f"account {done.account_id} ({done.name}) deleted: {done.rows} rows"]
    lines += [f"  {t.table:<24} {t.rows:>8}" for t in done.tables if t.rows]
    return "\n".join(lines)
