"""The posture evaluation of a connection, as a job."""

from __future__ import annotations

from core.jobs.registry import Registry
from core.posture import evaluate
from core.posture.payloads import EVALUATE_POSTURE


def register(registry: Registry) -> None:
    registry.add(EVALUATE_POSTURE, evaluate.posture_job)
