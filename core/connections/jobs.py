"""The job core/connections enqueues: the Slack follow-up of a consent started from Slack (its handler is in
`bot/jobs.py`; the registry's start-up check makes sure a process has it)."""

from __future__ import annotations

from core.jobs.registry import Registry

CONSENT_FOLLOWUP = "slack.consent_followup"


def register(registry: Registry) -> None:
    registry.enqueues(CONSENT_FOLLOWUP, by="core.connections.service")
