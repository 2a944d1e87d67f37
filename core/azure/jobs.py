"""What the job runner needs to know about Azure: which of our Azure errors another attempt may cure."""

from __future__ import annotations

from core.azure.errors import AzureError
from core.jobs.registry import Registry


def register(registry: Registry) -> None:
    # Each AzureError says itself whether it may pass (throttling, an outage) or not (a refusal, consent).
    registry.transient(AzureError, lambda error: error.retryable)
