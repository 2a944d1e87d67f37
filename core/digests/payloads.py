"""The digests' job kinds and their payloads: the day's build (handled by the Slack surface, which renders the
messages) and a delivery pass."""

from __future__ import annotations

from dataclasses import dataclass

from core.jobs.registry import JobKind


@dataclass(frozen=True)
class BuildDigests:
    day: str  # the UTC day, "2026-12-01"


@dataclass(frozen=True)
class DeliverDigests:
    """A delivery pass takes no arguments: it sends whatever the outbox holds that is due."""


BUILD_DIGESTS = JobKind("digests.build", BuildDigests, max_attempts=10)
DELIVER_DIGESTS = JobKind("digests.deliver", DeliverDigests, max_attempts=3)
