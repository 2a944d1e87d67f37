"""Per-request GraphQL context: the authenticated principal and the process's services."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from strawberry.dataloader import DataLoader

from core.accounts.service import Principal
from core.findings import service as findings
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

    @cached_property
    def finding_counts(self) -> DataLoader:
        """Per request: one grouped statement for all repositories of a page."""

        async def load(repository_ids: list[str]) -> list[dict[str, int]]:
            async with self.sessions() as session:
                counts = await findings.counts_by_repository(session, repository_ids)
            return [counts.get(repository_id, {}) for repository_id in repository_ids]

        return DataLoader(load_fn=load)

    def __getitem__(self, key: str) -> Any:
        # Strawberry's integrations read context["request"] / context["response"].
        return getattr(self, key)
