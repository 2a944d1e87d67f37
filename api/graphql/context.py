"""Per-request GraphQL context: the authenticated principal, the process's services, and DataLoaders.

Every loader is made per request (its cache dies with the request) and reads only the caller's account. Each
one turns the per-row fields of a page (a finding's repository, a repository's connection, findings, scan runs
and counts) into one statement for the whole page, so a page of 100 costs what a page of 25 does.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from strawberry.dataloader import DataLoader

from api.graphql.errors import BadArgument
from core import nodes
from core.accounts.service import Principal
from core.connections import queries as connection_queries
from core.discovery.models import AzureRepository
from core.findings import service as findings
from core.pagination import InvalidInput
from core.services import Services


def page_key(key: tuple) -> tuple:
    return key[:4]  # the core filter (last) is derived from the filter key


def count_key(key: tuple) -> tuple:
    return key[:2]


@dataclass
class Context:
    principal: Principal
    services: Services
    request: Any = None
    response: Any = None

    @property
    def sessions(self):
        return self.services.sessions

    @property
    def account_id(self) -> str:
        return self.principal.account_id

    @cached_property
    def finding_counts(self) -> DataLoader:
        """Per request: one grouped statement for all repositories of a page."""

        async def load(repository_ids: list[str]) -> list[dict[str, int]]:
            async with self.sessions() as session:
                counts = await findings.counts_by_repository(session, repository_ids)
            return [counts.get(repository_id, {}) for repository_id in repository_ids]

        return DataLoader(load_fn=load)

    @cached_property
    def repositories(self) -> DataLoader:
        """Repository rows by id (the caller's only; another account's id loads None)."""

        async def load(ids: list[str]) -> list:
            async with self.sessions() as session:
                found = await nodes.rows_by_id(session, AzureRepository, self.account_id, ids)
            return [found.get(i) for i in ids]

        return DataLoader(load_fn=load)

    @cached_property
    def connections(self) -> DataLoader:
        """AzureConnection objects by id: an account has few, so the first load reads them all (three statements)."""
        from api.graphql.types import AzureConnection

        async def load(ids: list[str]) -> list:
            async with self.sessions() as session:
                views = await connection_queries.list_connections(session, self.account_id)
            by_id = {v.connection.id: AzureConnection.from_view(v) for v in views}
            return [by_id.get(i) for i in ids]

        return DataLoader(load_fn=load)

    # --- a repository's pages ------------------------------------------------------------------------------

    @cached_property
    def finding_pages(self) -> DataLoader:
        """(repository id, first, after, filter) -> that repository's page; one statement per distinct
        (first, after, filter), i.e. one for a page of repositories that all ask the same."""

        async def load(keys: list[tuple]) -> list:
            return await self.grouped_pages(keys, findings.findings_by_repository)

        return DataLoader(load_fn=load, cache_key_fn=page_key)

    @cached_property
    def finding_totals(self) -> DataLoader:
        async def load(keys: list[tuple]) -> list:
            return await self.grouped_counts(keys, findings.finding_counts_by_repository)

        return DataLoader(load_fn=load, cache_key_fn=count_key)

    @cached_property
    def scan_run_pages(self) -> DataLoader:
        async def load(keys: list[tuple]) -> list:
            async def batch(session, account_id, ids, _flt, first, after):
                return await findings.scan_runs_by_repository(session, account_id, ids, first, after)

            return await self.grouped_pages(keys, batch)

        return DataLoader(load_fn=load, cache_key_fn=page_key)

    @cached_property
    def scan_run_totals(self) -> DataLoader:
        async def load(keys: list[tuple]) -> list:
            async def batch(session, account_id, ids, _flt):
                return await findings.scan_run_counts_by_repository(session, account_id, ids)

            return await self.grouped_counts(keys, batch)

        return DataLoader(load_fn=load, cache_key_fn=count_key)

    async def grouped_pages(self, keys: list[tuple], batch) -> list:
        """keys: (repository id, first, after, filter key, core filter)."""
        groups: dict[tuple, list[str]] = {}
        for repository_id, first, after, flt_key, _ in keys:
            groups.setdefault((first, after, flt_key), []).append(repository_id)
        filters = {key[3]: key[4] for key in keys}
        pages: dict[tuple, Any] = {}
        async with self.sessions() as session:
            for (first, after, flt_key), ids in groups.items():
                try:
                    found = await batch(session, self.account_id, ids, filters[flt_key], first, after)
                except InvalidInput as error:
                    found = {i: BadArgument(str(error)) for i in ids}
                for repository_id, page in found.items():
                    pages[(repository_id, first, after, flt_key)] = page
        return [pages[key[:4]] for key in keys]

    async def grouped_counts(self, keys: list[tuple], batch) -> list:
        """keys: (repository id, filter key, core filter)."""
        groups: dict[Any, list[str]] = {}
        for repository_id, flt_key, _ in keys:
            groups.setdefault(flt_key, []).append(repository_id)
        filters = {key[1]: key[2] for key in keys}
        counts: dict[tuple, Any] = {}
        async with self.sessions() as session:
            for flt_key, ids in groups.items():
                found = await batch(session, self.account_id, ids, filters[flt_key])
                for repository_id, count in found.items():
                    counts[(repository_id, flt_key)] = count
        return [counts[key[:2]] for key in keys]

    async def repository_findings(self, repository_id: str, first, after, flt):
        from api.graphql.types import Finding, to_connection

        core = flt.to_core() if flt else findings.FindingFilter()
        flt_key = flt.key() if flt else None
        page = await self.finding_pages.load((repository_id, first, after, flt_key, core))

        async def count():
            return await self.finding_totals.load((repository_id, flt_key, core))

        return to_connection(page, Finding.from_row, after, count)

    async def repository_scan_runs(self, repository_id: str, first, after):
        from api.graphql.types import ScanRun, to_connection

        page = await self.scan_run_pages.load((repository_id, first, after, None, None))

        async def count():
            return await self.scan_run_totals.load((repository_id, None, None))

        return to_connection(page, ScanRun.from_row, after, count)

    def __getitem__(self, key: str) -> Any:
        # Strawberry's integrations read context["request"] / context["response"].
        return getattr(self, key)
