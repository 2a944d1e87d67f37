"""The digests' jobs: the daily schedule, the delivery passes, and the daily build (enqueued here, built by the
Slack surface, `bot/digests.py`, which renders the messages)."""

from __future__ import annotations

from core.digests import delivery, schedule
from core.digests.payloads import BUILD_DIGESTS, DELIVER_DIGESTS
from core.jobs.registry import Registry


def register(registry: Registry) -> None:
    registry.add(DELIVER_DIGESTS, delivery.deliver_job)
    registry.enqueues(BUILD_DIGESTS, by="core.digests.schedule")
    registry.tick("digests", schedule.tick)
