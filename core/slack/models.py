"""Slack workspaces linked to accounts, who may change things, subscriptions, and deduplication."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field

from core.db.columns import new_id, timestamp, utcnow
from core.db.table import TableModel


class SlackWorkspace(TableModel, table=True):
    """A Slack workspace (team) linked to one account with `/panoptica link CODE`."""

    __tablename__ = "slack_workspaces"

    team_id: str = Field(primary_key=True, max_length=32)
    account_id: str = Field(foreign_key="accounts.id", index=True, max_length=36, ondelete="CASCADE")
    team_name: str = Field(default="", max_length=200)
    linked_by: str = Field(max_length=32)  # Slack user id
    linked_at: datetime = Field(default_factory=utcnow, sa_column=timestamp())


class SlackLinkCode(TableModel, table=True):
    """One-time code from GraphQL `createSlackLinkCode`, valid 15 minutes; only its hash is stored."""

    __tablename__ = "slack_link_codes"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    code_hash: str = Field(max_length=64, unique=True)
    account_id: str = Field(foreign_key="accounts.id", index=True, max_length=36, ondelete="CASCADE")
    created_by: str = Field(max_length=320)
    created_at: datetime = Field(default_factory=utcnow, sa_column=timestamp())
    expires_at: datetime = Field(sa_column=timestamp())
    used_at: datetime | None = Field(default=None, sa_column=timestamp(nullable=True))
    used_by_team: str | None = Field(default=None, max_length=32)


class SlackAdmin(TableModel, table=True):
    """Slack users allowed to change things, besides the workspace's admins and owners."""

    __tablename__ = "slack_admins"

    account_id: str = Field(foreign_key="accounts.id", primary_key=True, max_length=36, ondelete="CASCADE")
    slack_user_id: str = Field(primary_key=True, max_length=32)
    added_by: str = Field(max_length=320)
    added_at: datetime = Field(default_factory=utcnow, sa_column=timestamp())


class SlackSubscription(TableModel, table=True):
    """Where a daily digest goes: a channel, an optional organization/project scope, a severity threshold."""

    __tablename__ = "slack_subscriptions"
    __table_args__ = (UniqueConstraint("team_id", "channel_id", "organization", "project"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    account_id: str = Field(foreign_key="accounts.id", index=True, max_length=36, ondelete="CASCADE")
    team_id: str = Field(max_length=32)
    channel_id: str = Field(max_length=32)
    organization: str = Field(default="", max_length=50)  # "" = every connected organization
    project: str = Field(default="", max_length=64)  # "" = every project
    min_severity: str = Field(default="HIGH", max_length=10)
    created_by: str = Field(max_length=32)
    created_at: datetime = Field(default_factory=utcnow, sa_column=timestamp())
    disabled_at: datetime | None = Field(default=None, sa_column=timestamp(nullable=True))
    disabled_reason: str = Field(default="", max_length=200)


class SlackConnectOrigin(TableModel, table=True):
    """Who started a connection from Slack, so the consent callback can follow up with them."""

    __tablename__ = "slack_connect_origins"

    connection_id: str = Field(
        foreign_key="azure_connections.id", primary_key=True, max_length=36, ondelete="CASCADE"
    )
    team_id: str = Field(max_length=32)
    user_id: str = Field(max_length=32)
    channel_id: str = Field(max_length=32)
    response_url: str = Field(default="", max_length=1000)
    created_at: datetime = Field(default_factory=utcnow, sa_column=timestamp())


class SlackDelivery(TableModel, table=True):
    """Idempotency of inbound Slack deliveries: an event id, or an action on a message, is handled once."""

    __tablename__ = "slack_deliveries"

    key: str = Field(primary_key=True, max_length=200)
    received_at: datetime = Field(default_factory=utcnow, sa_column=timestamp())
