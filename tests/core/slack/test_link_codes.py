"""Link codes (single use, 15 minutes, only a hash stored) and the allow-list of Slack admins."""

from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlmodel import select

from core.accounts import service as accounts
from core.db import session_scope
from core.slack import service as slack
from core.slack.models import SlackAdmin, SlackLinkCode, SlackWorkspace


async def new_account(db, name: str) -> str:
    async with session_scope(db) as session:
        return (await accounts.create_account(session, name)).id


async def new_code(db, account_id: str) -> str:
    async with session_scope(db) as session:
        return await slack.create_link_code(session, account_id, "alice@acme.test")


async def link(db, code: str, team_id: str = "T0DEMO") -> str:
    async with session_scope(db) as session:
        return await slack.link_workspace(session, code, team_id, "contoso", "U0ADMIN")


async def test_only_the_hash_is_stored_and_it_expires_in_15_minutes(db):
    account_id = await new_account(db, "Acme")
    code = await new_code(db, account_id)
    async with db() as session:
        row = (await session.exec(select(SlackLinkCode))).one()
    assert code not in repr(row.model_dump())
    assert row.code_hash == slack.code_hash(code) and len(row.code_hash) == 64
    assert row.expires_at - row.created_at == pytest.approx(timedelta(minutes=15), abs=timedelta(seconds=1))


async def test_a_code_links_once(db):
    account_id = await new_account(db, "Acme")
    code = await new_code(db, account_id)
    assert await link(db, code.lower()) == account_id  # typed in lower case still works
    with pytest.raises(slack.SlackError, match="already used"):
        await link(db, code, team_id="T0OTHER")
    async with db() as session:
        workspaces = (await session.exec(select(SlackWorkspace))).all()
        used = (await session.exec(select(SlackLinkCode))).one()
    assert [(w.team_id, w.account_id) for w in workspaces] == [("T0DEMO", account_id)]
    assert used.used_by_team == "T0DEMO" and used.used_at is not None


async def test_an_expired_code_is_refused_and_links_nothing(db):
    account_id = await new_account(db, "Acme")
    code = await new_code(db, account_id)
    async with session_scope(db) as session:
        row = (await session.exec(select(SlackLinkCode))).one()
        await session.exec(update(SlackLinkCode).values(expires_at=row.created_at - timedelta(minutes=1)))
    with pytest.raises(slack.SlackError, match="expired"):
        await link(db, code)
    async with db() as session:
        assert (await session.exec(select(SlackWorkspace))).all() == []
        assert (await session.exec(select(SlackLinkCode))).one().used_at is None


async def test_an_unknown_code_is_refused(db):
    await new_account(db, "Acme")
    with pytest.raises(slack.SlackError, match="invalid"):
        await link(db, "ABCDE-FGHJK")


async def test_a_workspace_linked_to_another_account_stays_linked_there(db):
    first, second = await new_account(db, "Acme"), await new_account(db, "Other")
    await link(db, await new_code(db, first))
    with pytest.raises(slack.SlackError, match="another Panoptica account"):
        await link(db, await new_code(db, second))
    async with db() as session:
        assert (await session.get(SlackWorkspace, "T0DEMO")).account_id == first


async def test_set_admins_normalises_and_replaces(db):
    account_id = await new_account(db, "Acme")
    async with session_scope(db) as session:
        assert await slack.set_admins(session, account_id, "alice", ["u0b", " U0A ", "U0B"]) == ["U0A", "U0B"]
    async with session_scope(db) as session:
        assert await slack.set_admins(session, account_id, "alice", ["W0C"]) == ["W0C"]
    async with db() as session:
        assert await slack.list_admins(session, account_id) == ["W0C"]


@pytest.mark.parametrize("bad", [["alice"], ["U0A", ""], ["U0A;DROP"], ["U" + "A" * 40]])
async def test_bad_admin_ids_change_nothing(db, bad):
    account_id = await new_account(db, "Acme")
    async with session_scope(db) as session:
        await slack.set_admins(session, account_id, "alice", ["U0KEEP"])
    with pytest.raises(ValueError, match="U012ABCDEF"):
        async with session_scope(db) as session:
            await slack.set_admins(session, account_id, "alice", bad)
    async with db() as session:
        assert (await session.exec(select(SlackAdmin.slack_user_id))).all() == ["U0KEEP"]


async def test_who_may_change_things(db):
    account_id = await new_account(db, "Acme")
    async with session_scope(db) as session:
        await slack.set_admins(session, account_id, "alice", ["U0LISTED"])
    async with db() as session:
        assert await slack.may_change(session, account_id, "U0ADMIN", {"is_admin": True})
        assert await slack.may_change(session, account_id, "U0OWNER", {"is_owner": True})
        assert await slack.may_change(session, account_id, "U0LISTED", {})
        assert not await slack.may_change(session, account_id, "U0MEMBER", {"is_admin": False})
        assert not await slack.may_change(session, None, "U0LISTED", {})  # unlinked: admins only


async def test_a_delivery_is_handled_once(db):
    async with session_scope(db) as session:
        assert await slack.first_delivery(session, "event:Ev1")
    async with session_scope(db) as session:
        assert not await slack.first_delivery(session, "event:Ev1")
        assert await slack.first_delivery(session, "event:Ev2")
