"""Per-request GraphQL context: the authenticated principal and the ways to reach the database."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.accounts.service import Principal


@dataclass
class Context:
    principal: Principal
    sessions: Any  # async_sessionmaker[AsyncSession]
    settings: Any
    services: Any  # the app's long-lived services (Azure client, token provider, jobs)
    request: Any = None
    response: Any = None

    def __getitem__(self, key: str) -> Any:
        # Strawberry's integrations read context["request"] / context["response"].
        return getattr(self, key)
