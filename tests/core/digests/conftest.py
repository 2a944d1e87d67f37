"""Digest fixtures: services over the real database, settings pointing the Slack client at the emulator, an
account linked to the emulator's workspace, and a fake clock that records the waits instead of waiting."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest
from pydantic import SecretStr
from sqlmodel import select

from api.wiring import build_registry
from core.accounts.service import create_account
from core.db import session_scope
from core.db.columns import utcnow
from core.digests.delivery import Clock
from core.digests.models import DigestOutbox
from core.jobs.registry import Registry
from core.slack.models import SlackSubscription, SlackWorkspace
from sandbox.slack import calls

CHANNELS = {
    "C0SECURITY": {"name": "security", "is_member": True},
    "C0PLATFORM": {"name": "platform", "is_member": True},
    "C0OUTSIDE": {"name": "outside", "is_member": False},
    "C0OLD": {"name": "old", "is_member": True, "is_archived": True},
}


@dataclass
class DigestServices:
    """What the digest code uses of `core.services.Services`."""

    settings: object
    engine: object
    sessions: object
    woken: list = field(default_factory=list)
    jobs: Registry = field(default_factory=build_registry)

    def wake_jobs(self) -> None:
        self.woken.append(True)


class FakeClock(Clock):
    """Virtual time: `sleep` records the wait and moves the clock instead of waiting."""

    def __init__(self) -> None:
        self.start = utcnow()
        self.t = 0.0
        self.sleeps: list[float] = []

    def now(self) -> datetime:
        return self.start + timedelta(seconds=self.t)

    def monotonic(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 6))
        self.t += seconds
        await asyncio.sleep(0)


@pytest.fixture
def slack_settings(settings, sandbox, world):
    world.slack.channels = {key: dict(value) for key, value in CHANNELS.items()}
    return settings.model_copy(
        update={
            "slack_api_url": sandbox.slack_api_url,
            "slack_bot_token": SecretStr(world.slack.bot_token),
            "public_url": "https://panoptica.example",
        }
    )


@pytest.fixture
def services(slack_settings, engine, db) -> DigestServices:
    return DigestServices(slack_settings, engine, db)


@pytest.fixture
async def account(db, world):
    async with session_scope(db) as session:
        account = await create_account(session, "Contoso")
        session.add(SlackWorkspace(team_id=world.slack.team_id, account_id=account.id, linked_by="U0ADMIN"))
    return account


async def subscribe(db, account, channel_id: str, organization: str = "", project: str = "", **kw):
    async with session_scope(db) as session:
        subscription = SlackSubscription(
            account_id=account.id,
            team_id=kw.pop("team_id", "T0DEMO"),
            channel_id=channel_id,
            organization=organization,
            project=project,
            created_by="U0ADMIN",
            **kw,
        )
        session.add(subscription)
    return subscription


async def outbox(db) -> list[DigestOutbox]:
    async with db() as session:
        rows = await session.exec(select(DigestOutbox).order_by(DigestOutbox.created_at, DigestOutbox.id))
        return list(rows.all())


def posts(sandbox, ok: bool | None = True) -> list[dict]:
    return [c for c in calls(sandbox.context, "chat.postMessage") if ok is None or c["ok"] is ok]


def slack_statuses(sandbox, status: int) -> int:
    return sum(
        1
        for r in sandbox.context.requests
        if r.host == "slack" and r.path.endswith("chat.postMessage") and r.status == status
    )


def simple_render(summary) -> dict:
    return {"text": f"digest {summary.day} {summary.scope.label}", "blocks": []}


Render = Callable[[object], dict]
