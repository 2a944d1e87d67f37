"""The Repositories search: a case-insensitive substring of a repository's name or its project's, by index.

PostgreSQL answers `lower(name) LIKE '%...%'` from the trigram (pg_trgm) indexes of migration 0016 as it is.
SQLite cannot index LIKE '%...%', so there the FTS5 trigram table of migration 0016 (kept in step by triggers)
first finds the candidates, the repositories whose name or project holds the search (one statement, at most
CANDIDATES of them); the page then reads those rows by primary key, and the same LIKE decides, so the results
are exactly the unindexed search's (FTS5 folds case more widely than SQLite's ASCII-only LIKE, never less).
A search with more candidates than that, or under three characters (no trigram), reads the account's rows in
name order as before: a search that common fills a page long before the scan ends.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, column, false, literal_column, select, table
from sqlmodel import col

from core.discovery.models import AzureRepository
from core.pagination import matches_search

TRIGRAM = 3
CANDIDATES = 1000
SEARCH_TABLE = table("azure_repositories_search", column("rowid"))
SEARCH_KEYS = table("azure_repositories_search_keys", column("key"), column("repository_id"))
# The FTS5 table's own name as a column: `azure_repositories_search MATCH ...` searches every column.
SEARCH_TABLE_COLUMN = literal_column("azure_repositories_search")


@dataclass(frozen=True)
class Search:
    condition: ColumnElement[bool]  # on AzureRepository
    by_candidates: bool  # the rows are read by primary key (SQLite), not from the account's index


async def repository_search(session, search: str) -> Search:
    """The condition on AzureRepository for `search` (refused when longer than 200 characters)."""
    exact = matches_search(search, AzureRepository.name, AzureRepository.project_name)
    if session.bind.dialect.name != "sqlite" or len(search) < TRIGRAM:
        return Search(exact, by_candidates=False)
    candidates = [row[0] for row in (await session.exec(candidates_query(search))).all()]
    if len(candidates) > CANDIDATES:
        return Search(exact, by_candidates=False)
    if not candidates:
        return Search(false(), by_candidates=True)
    return Search(col(AzureRepository.id).in_(candidates) & exact, by_candidates=True)


def candidates_query(search: str):
    """Every account's repositories whose name or project name holds `search`, case-folded, from the FTS5
    index (the page's own conditions scope them to the caller's account)."""
    return (
        select(SEARCH_KEYS.c.repository_id)
        .join(SEARCH_TABLE, SEARCH_TABLE.c.rowid == SEARCH_KEYS.c.key)
        .where(SEARCH_TABLE_COLUMN.op("MATCH")(fts_phrase(search)))
        .limit(CANDIDATES + 1)
    )


def fts_phrase(search: str) -> str:
    """An FTS5 phrase: the text in double quotes (doubled inside), so no character is query syntax."""
    return '"' + search.replace('"', '""') + '"'
