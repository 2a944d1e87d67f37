"""The job core/connections enqueues: the Slack follow-up of a consent started from Slack (its kind is Slack's,
core/slack/payloads.py; its handler is in bot/jobs.py; the registry's start-up check makes sure a process has it).

A domain event ("consent granted", the Slack side subscribing) would let core/connections not name a Slack job at
all; the job is enqueued in the consent's own transaction, so that event would need the registry threaded into
the consent flow. Until then the kind is named here and the check covers it."""

from __future__ import annotations

from core.jobs.registry import Registry
from core.slack.payloads import CONSENT_FOLLOWUP


def register(registry: Registry) -> None:
    registry.enqueues(CONSENT_FOLLOWUP, by="core.connections.service")
