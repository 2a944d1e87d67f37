"""Slack workspaces linked to accounts: link codes, who may change things, subscriptions, idempotency."""

from __future__ import annotations

import hashlib
import secrets
import time
import weakref
from datetime import timedelta

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.audit.service import record
from core.db.columns import utcnow
from core.discovery.models import AzureRepository
from core.errors import DomainError, InvalidInput
from core.ownership import owned_by
from core.slack.models import (
    SlackAdmin,
    SlackConnectOrigin,
    SlackDelivery,
    SlackLinkCode,
    SlackSubscription,
    SlackWorkspace,
)

CODE_LIFETIME = timedelta(minutes=15)
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: typed by people


class SlackError(DomainError):
    """A user-facing refusal (the message is shown in Slack as is)."""

    code = "SLACK_REFUSED"


def code_hash(code: str) -> str:
    return hashlib.sha256(code.strip().upper().encode()).hexdigest()


async def create_link_code(session: AsyncSession, account_id: str, user_email: str) -> str:
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(10))
    code = f"{raw[:5]}-{raw[5:]}"
    session.add(
        SlackLinkCode(
            code_hash=code_hash(code),
            account_id=account_id,
            created_by=user_email,
            expires_at=utcnow() + CODE_LIFETIME,
        )
    )
    record(session, account_id, user_email, "slack.link_code.created")
    return code


async def link_workspace(session: AsyncSession, code: str, team_id: str, team_name: str, user_id: str) -> str:
    """Consume a code (single use, conditional update) and link the workspace. Returns the account id."""
    now = utcnow()
    claimed = await session.exec(
        update(SlackLinkCode)
        .where(
            col(SlackLinkCode.code_hash) == code_hash(code),
            col(SlackLinkCode.used_at).is_(None),
            col(SlackLinkCode.expires_at) > now,
        )
        .values(used_at=now, used_by_team=team_id)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        raise SlackError(
            "That link code is invalid, expired or already used. Create a new one in the console."
        )
    link = (await session.exec(select(SlackLinkCode).where(SlackLinkCode.code_hash == code_hash(code)))).one()
    forget_workspace(session, team_id)  # installed or linked: look it up again
    existing = await session.get(SlackWorkspace, team_id)
    if existing is not None and existing.account_id != link.account_id:
        raise SlackError("This workspace is already linked to another Panoptica account.")
    if existing is None:
        session.add(
            SlackWorkspace(
                team_id=team_id, account_id=link.account_id, team_name=team_name[:200], linked_by=user_id
            )
        )
    record(
        session,
        link.account_id,
        f"slack:{user_id}",
        "slack.workspace.linked",
        team_name[:200],
        team_id=team_id,
    )
    return link.account_id


# team id -> (account id, until when), per database engine (each app has its own), so that a slash command's
# acknowledgement costs no statement to find its account. Only links are cached, and for TEAM_CACHE_SECONDS:
# a link never moves to another account (link_workspace refuses), but deleting the account (possibly in
# another process: `panoptica accounts delete`) removes it, and a later link may name a new account, so
# another API process's cached link is trusted for a minute at most. A workspace not linked yet is looked up
# every time, so a new link is seen at once. Linking, uninstalling and deleting here forget the team at once.
TEAM_ACCOUNTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
TEAM_CACHE_SIZE = 10_000
TEAM_CACHE_SECONDS = 60.0


def _team_cache(session: AsyncSession) -> dict[str, tuple[str, float]]:
    engine = session.bind.sync_engine if session.bind is not None else None
    if engine is None:
        return {}
    return TEAM_ACCOUNTS.setdefault(engine, {})


def cached_workspace_account(engine: AsyncEngine, team_id: str) -> str | None:
    """The linked account when this process has it cached (and not expired): no session needed. None says
    nothing: look it up with `workspace_account`."""
    cached = TEAM_ACCOUNTS.get(engine.sync_engine, {}).get(team_id)
    return cached[0] if cached is not None and cached[1] > time.monotonic() else None


def forget_workspace(session: AsyncSession, team_id: str) -> None:
    _team_cache(session).pop(team_id, None)


async def workspace_account(session: AsyncSession, team_id: str) -> str | None:
    cache = _team_cache(session)
    cached = cache.get(team_id)
    if cached is not None and cached[1] > time.monotonic():
        return cached[0]
    workspace = await session.get(SlackWorkspace, team_id)
    if workspace is None:
        cache.pop(team_id, None)
        return None
    if len(cache) >= TEAM_CACHE_SIZE:
        cache.clear()
    cache[team_id] = (workspace.account_id, time.monotonic() + TEAM_CACHE_SECONDS)
    return workspace.account_id


async def is_allowed_admin(session: AsyncSession, account_id: str, user_id: str) -> bool:
    return await session.get(SlackAdmin, (account_id, user_id)) is not None


async def list_admins(session: AsyncSession, account_id: str) -> list[str]:
    rows = await session.exec(select(SlackAdmin.slack_user_id).where(owned_by(SlackAdmin, account_id)))
    return sorted(rows.all())


async def set_admins(session: AsyncSession, account_id: str, actor: str, user_ids: list[str]) -> list[str]:
    cleaned = sorted({u.strip().upper() for u in user_ids})
    if len(cleaned) > 200 or any(
        not u.startswith(("U", "W")) or not u[1:].isalnum() or len(u) > 32 for u in cleaned
    ):
        raise InvalidInput("Slack user ids look like U012ABCDEF (at most 200)")
    await session.exec(delete(SlackAdmin).where(owned_by(SlackAdmin, account_id)))
    session.add_all(SlackAdmin(account_id=account_id, slack_user_id=u, added_by=actor) for u in cleaned)
    record(session, account_id, actor, "slack.admins.set", users=cleaned)
    return cleaned


async def first_delivery(session: AsyncSession, key: str) -> bool:
    """True the first time `key` is seen (an event id, an action on a message); False for a repeat."""
    try:
        async with session.begin_nested():
            session.add(SlackDelivery(key=key[:200]))
            await session.flush()
    except IntegrityError:
        return False
    return True


async def record_uninstall(session: AsyncSession, team_id: str) -> None:
    """The app was removed from a workspace: the linked account's audit log says so (the link stays, so a
    reinstall resumes where it was)."""
    forget_workspace(session, team_id)
    account_id = await workspace_account(session, team_id)
    forget_workspace(session, team_id)
    if account_id is not None:
        record(session, account_id, "slack", "slack.app_uninstalled", team_id)


async def remember_origin(
    session, connection_id: str, team_id: str, user_id: str, channel_id: str, response_url: str
) -> None:
    origin = await session.get(SlackConnectOrigin, connection_id) or SlackConnectOrigin(
        connection_id=connection_id, team_id=team_id, user_id=user_id, channel_id=channel_id
    )
    origin.team_id, origin.user_id, origin.channel_id = team_id, user_id, channel_id
    origin.response_url, origin.created_at = response_url[:1000], utcnow()
    session.add(origin)


async def subscribe(
    session,
    account_id: str,
    team_id: str,
    channel_id: str,
    organization: str,
    project: str,
    min_severity: str,
    user_id: str,
) -> SlackSubscription:
    query = select(SlackSubscription).where(
        SlackSubscription.team_id == team_id,
        SlackSubscription.channel_id == channel_id,
        SlackSubscription.organization == organization,
        SlackSubscription.project == project,
    )
    subscription = (await session.exec(query)).first() or SlackSubscription(
        account_id=account_id,
        team_id=team_id,
        channel_id=channel_id,
        organization=organization,
        project=project,
        created_by=user_id,
    )
    subscription.min_severity, subscription.disabled_at, subscription.disabled_reason = min_severity, None, ""
    session.add(subscription)
    record(
        session,
        account_id,
        f"slack:{user_id}",
        "slack.subscribed",
        channel_id,
        organization=organization,
        project=project,
        min_severity=min_severity,
    )
    return subscription


async def unsubscribe(
    session,
    account_id: str,
    team_id: str,
    channel_id: str,
    organization: str,
    project: str,
    everything: bool,
    user_id: str,
) -> int:
    conditions = [
        owned_by(SlackSubscription, account_id),
        col(SlackSubscription.team_id) == team_id,
        col(SlackSubscription.channel_id) == channel_id,
    ]
    if not everything:
        conditions += [
            col(SlackSubscription.organization) == organization,
            col(SlackSubscription.project) == project,
        ]
    result = await session.exec(delete(SlackSubscription).where(*conditions))
    record(
        session, account_id, f"slack:{user_id}", "slack.unsubscribed", channel_id, organization=organization
    )
    return result.rowcount


async def list_subscriptions(session, account_id: str, team_id: str) -> list[SlackSubscription]:
    query = (
        select(SlackSubscription)
        .where(owned_by(SlackSubscription, account_id), SlackSubscription.team_id == team_id)
        .order_by(SlackSubscription.channel_id, SlackSubscription.organization, SlackSubscription.project)
    )
    return list((await session.exec(query)).all())


async def may_change(session, account_id: str | None, user_id: str, user_info: dict) -> bool:
    """Workspace admins and owners (users.info), or the account's allow-list."""
    if user_info.get("is_admin") or user_info.get("is_owner") or user_info.get("is_primary_owner"):
        return True
    return account_id is not None and await is_allowed_admin(session, account_id, user_id)


async def find_repository(session, account_id: str, text: str):
    """A repository by name, `project/name` or web URL, for `/panoptica scan`."""
    key = text.strip().strip("<>").split("|")[0].rstrip("/")
    name = key.rsplit("/_git/", 1)[-1] if "/_git/" in key else key.rsplit("/", 1)[-1]
    project = key.rsplit("/", 1)[0].rsplit("/", 1)[-1] if "/" in key and "/_git/" not in key else None
    query = select(AzureRepository).where(
        owned_by(AzureRepository, account_id),
        AzureRepository.name == name,
        col(AzureRepository.removed_at).is_(None),
    )
    if project:
        query = query.where(AzureRepository.project_name == project)
    return list((await session.exec(query)).all())
