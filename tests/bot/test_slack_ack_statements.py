"""What a slash command's acknowledgement costs the database, counted with SQLAlchemy's cursor events:
the workspace's account is cached (after the first command), a write command is one INSERT of its job (ON
CONFLICT for the dedupe key), a retried delivery of it inserts nothing, and install or uninstall forgets the
cached workspace."""

from __future__ import annotations

import contextlib
from urllib.parse import urlencode

from sqlalchemy import event
from sqlmodel import select

from core.jobs.models import Job
from core.slack import service as slack
from tests.bot.slack_harness import ADMIN, SECURITY, TEAM, text_of


async def acknowledged(bot, text: str, trigger_id: str):
    """A slash command's request and its acknowledgement only (no job run after it)."""
    form = {
        "command": "/panoptica",
        "text": text,
        "team_id": TEAM,
        "team_domain": "contoso",
        "user_id": ADMIN,
        "channel_id": SECURITY,
        "response_url": "",
        "trigger_id": trigger_id,
    }
    return await bot.post(urlencode(form), "application/x-www-form-urlencoded")


@contextlib.contextmanager
def counted(bot):
    statements: list[str] = []
    engine = bot.app.state.services.engine.sync_engine

    def note(_conn, _cursor, statement, *_args) -> None:
        statements.append(" ".join(statement.split()).upper())

    event.listen(engine, "before_cursor_execute", note)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", note)


async def test_a_write_command_is_acknowledged_with_one_insert(bot):
    await bot.link()
    await bot.command("subscriptions")  # the workspace's account is now known to this API process
    with counted(bot) as statements:
        response = await acknowledged(bot, "subscribe", "trigger-1")
    assert response.status_code == 200 and "Working on it" in text_of(response)
    # One statement, the whole acknowledgement's SQL: the job's INSERT (ON CONFLICT for the dedupe key), on
    # PostgreSQL with procrastinate's defer of the inserted row in the same statement (distributed workers).
    assert len(statements) == 1, statements
    postgres = bot.app.state.services.engine.dialect.name == "postgresql"
    assert "INSERT INTO JOBS" in statements[0] and "ON CONFLICT" in statements[0], statements
    assert ("PROCRASTINATE_DEFER_JOBS_V1" in statements[0]) == postgres, statements
    async with bot.db() as session:
        jobs = (await session.exec(select(Job).where(Job.kind == "slack.command"))).all()
    assert [j.payload["command"] for j in jobs if j.payload["command"] != "link"] == ["subscribe"]


async def test_a_retried_command_inserts_no_second_job(bot):
    await bot.link()
    await acknowledged(bot, "connect azure contoso", "same-trigger")
    with counted(bot) as statements:
        response = await acknowledged(bot, "connect azure contoso", "same-trigger")
    assert "Working on it" in text_of(response)
    assert len(statements) == 1  # the INSERT that found the dedupe key taken: no SELECT, no savepoint
    async with bot.db() as session:
        jobs = (await session.exec(select(Job).where(Job.kind == "slack.command"))).all()
    assert [j.payload["command"] for j in jobs if j.payload["command"] != "link"] == ["connect"]


async def test_a_read_command_costs_only_its_own_queries(bot):
    await bot.link()
    await bot.command("subscriptions")
    with counted(bot) as statements:
        response = await acknowledged(bot, "subscriptions", "trigger-2")
    assert response.status_code == 200
    assert len(statements) == 1 and "FROM SLACK_SUBSCRIPTIONS" in statements[0], statements
    assert not any("SLACK_WORKSPACES" in s for s in statements)


async def test_uninstalling_forgets_the_cached_workspace(bot):
    await bot.link()
    await bot.command("subscriptions")
    async with bot.app.state.services.sessions() as session:
        await slack.record_uninstall(session, TEAM)
        await session.commit()
    with counted(bot) as statements:
        await acknowledged(bot, "subscriptions", "trigger-3")
    assert any("FROM SLACK_WORKSPACES" in s for s in statements)  # looked up again


async def test_a_cached_workspace_is_trusted_for_a_bounded_time(bot, monkeypatch):
    # Another process may delete the account (and so the link): a cached link is looked up again once
    # TEAM_CACHE_SECONDS have passed (here none), where within them it costs nothing (the test above).
    monkeypatch.setattr(slack, "TEAM_CACHE_SECONDS", 0.0)
    await bot.link()
    await acknowledged(bot, "subscriptions", "trigger-4")
    with counted(bot) as statements:
        await acknowledged(bot, "subscriptions", "trigger-5")
    assert any("FROM SLACK_WORKSPACES" in s for s in statements), statements
