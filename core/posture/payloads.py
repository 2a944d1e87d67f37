"""The posture evaluation's job kind and its payload."""

from __future__ import annotations

from dataclasses import dataclass

from core.jobs.registry import JobKind


@dataclass(frozen=True)
class EvaluatePosture:
    run_id: str


EVALUATE_POSTURE = JobKind("posture.connection", EvaluatePosture, queue="long", max_attempts=3)
