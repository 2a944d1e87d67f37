"""Per-request GraphQL context: the authenticated principal and the process's services."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.accounts.service import Principal
from core.services import Services


@dataclass
class Context:
    principal: Principal
    services: Services
    request: Any = None
    response: Any = None

    @property
    def sessions(self):
        return self.services.sessions

    def __getitem__(self, key: str) -> Any:
        # Strawberry's integrations read context["request"] / context["response"].
        return getattr(self, key)
