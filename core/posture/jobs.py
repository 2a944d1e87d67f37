"""The posture evaluation of a connection, as a job."""

from __future__ import annotations

from core.jobs.registry import Registry
from core.posture import evaluate


def register(registry: Registry) -> None:
    registry.add(evaluate.JOB, evaluate.posture_job)
