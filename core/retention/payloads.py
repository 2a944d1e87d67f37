"""The retention prune's job kind and its payload."""

from __future__ import annotations

from dataclasses import dataclass

from core.jobs.registry import JobKind


@dataclass(frozen=True)
class Prune:
    hour: str  # "2026-12-01T14": the hour this prune is for (its dedupe key)


PRUNE = JobKind("retention.prune", Prune)
