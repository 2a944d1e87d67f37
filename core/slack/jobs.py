"""Slack's part of the job registry: which Slack API failures are worth another attempt, and the Slack job that
core enqueues (`slack.scan_outcome`, from `core/slack/feedback.py`) whose handler lives in `bot/jobs.py`."""

from __future__ import annotations

from slack_sdk.errors import SlackApiError

from core.jobs.registry import Registry
from core.slack.payloads import WATCH_SCAN


def slack_may_pass(error: SlackApiError) -> bool:
    status = getattr(error.response, "status_code", 0) or 0
    return status >= 500 or status == 429  # an outage or a rate limit; a refusal (4xx) stays one


def register(registry: Registry) -> None:
    registry.transient(SlackApiError, slack_may_pass)
    registry.enqueues(WATCH_SCAN, by="core.slack.feedback")
