"""The Slack job kinds and their payloads. Core enqueues two of them (`slack.scan_outcome` from
core/slack/feedback.py, `slack.consent_followup` from core/connections/service.py); the Slack surface
(bot/app.py) enqueues the commands and the connection checks; bot/jobs.py handles them all.

Each payload carries who to answer (team, user, channel, response_url while it is fresh): the stored JSON is
these fields by name, as before they were typed, so a queued job survives an upgrade."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from core.jobs.registry import JobKind


@dataclass(frozen=True)
class SlackCommand:
    """A `/panoptica` write command, answered later by its job."""

    team_id: str
    user_id: str
    channel_id: str
    response_url: str
    issued_at: str
    command: str
    args: dict[str, Any] = field(default_factory=dict)
    account_id: str | None = None  # None only for `link`, which links the workspace to an account
    team_domain: str = ""


@dataclass(frozen=True)
class CheckConnection:
    """The "Check again" button under a consent follow-up."""

    team_id: str
    user_id: str
    channel_id: str
    response_url: str
    issued_at: str
    connection_id: str


@dataclass(frozen=True)
class WatchScan:
    """One look at a scan asked for from Slack: report its outcome to the person once it ended."""

    run_id: str
    watch_started: str
    looks: int
    account_id: str | None = ""
    team_id: str = ""
    user_id: str = ""
    channel_id: str = ""
    response_url: str = ""
    issued_at: str = ""


@dataclass(frozen=True)
class ConsentFollowup:
    """Consent granted for a connection started from Slack: tell that person what comes next."""

    connection_id: str


SLACK_COMMAND = JobKind("slack.command", SlackCommand)
CHECK_CONNECTION = JobKind("slack.check_connection", CheckConnection)
WATCH_SCAN = JobKind("slack.scan_outcome", WatchScan)
CONSENT_FOLLOWUP = JobKind("slack.consent_followup", ConsentFollowup)
