"""Where advisories come from: an imported OSV export when there is one, else the OSV API, else nothing.

One interface, `await source.advisories_for(deps)` → {(ecosystem, name, version): [OSV record, ...]}: the
candidate records for each dependency; `core.dependencies.matching.match` decides whether each one affects it
(the API's answer is already matched, the export's is by package only; matching again costs little and makes
both sources give the same findings).

- `ImportedAdvisories`: `osv_advisories` looked up through `osv_affected` by (ecosystem, normalized name), in
  bulk IN queries.
- `OsvApiAdvisories`: querybatch results cached per UTC day per (ecosystem, name, version) and full records cached
  by (id, modified), both in the database, so OSV is asked once a day per package and each record fetched once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from sqlalchemy import delete, tuple_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, select

from core.db import session_scope
from core.dependencies.matching import normalize_name
from core.dependencies.models import OsvAdvisory, OsvAffected, OsvQuery, OsvRecord
from core.dependencies.osv_client import OsvClient, OsvUnavailable
from core.dependencies.package import Dependency
from core.scans.scanner import ScannerError
from core.settings import Settings

Key = tuple[str, str, str]
CHUNK = 500  # IN-list size: well under SQLite's and asyncpg's parameter limits


def keys_of(deps: Iterable[Dependency]) -> list[Key]:
    """Distinct (ecosystem, name, version) of the pinned dependencies (unpinned ones cannot be matched)."""
    return sorted({(d.ecosystem, d.name, d.version) for d in deps if d.version})


def chunks(items: Sequence, size: int = CHUNK):
    for start in range(0, len(items), size):
        yield items[start : start + size]


async def insert_ignoring_duplicates(session, model, rows: list[dict]) -> None:
    """Insert rows; a row another scan inserted meanwhile is left as it is (same content by construction)."""
    if not rows:
        return
    dialect = session.bind.dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    for part in chunks(rows, 200):
        await session.exec(insert(model).values(list(part)).on_conflict_do_nothing())


class ImportedAdvisories:
    def __init__(self, sessions) -> None:
        self.sessions = sessions

    async def advisories_for(self, deps: Iterable[Dependency]) -> dict[Key, list[dict]]:
        keys = keys_of(deps)
        by_package: dict[tuple[str, str], list[Key]] = defaultdict(list)
        for key in keys:
            by_package[(key[0], normalize_name(key[0], key[1]))].append(key)
        ids_by_package: dict[tuple[str, str], list[str]] = defaultdict(list)
        records: dict[str, dict] = {}
        async with self.sessions() as session:
            for part in chunks(sorted(by_package)):
                query = select(OsvAffected.ecosystem, OsvAffected.name, OsvAffected.advisory_id).where(
                    tuple_(col(OsvAffected.ecosystem), col(OsvAffected.name)).in_(part)
                )
                for ecosystem, name, advisory_id in (await session.exec(query)).all():
                    ids_by_package[(ecosystem, name)].append(advisory_id)
            wanted = sorted({i for ids in ids_by_package.values() for i in ids})
            for part in chunks(wanted):
                query = select(OsvAdvisory.id, OsvAdvisory.record).where(col(OsvAdvisory.id).in_(part))
                records.update((await session.exec(query)).all())
        found: dict[Key, list[dict]] = {}
        for package, package_keys in by_package.items():
            candidates = [records[i] for i in ids_by_package.get(package, []) if i in records]
            for key in package_keys:
                found[key] = candidates
        return found


class OsvApiAdvisories:
    def __init__(self, settings: Settings, sessions) -> None:
        self.settings = settings
        self.sessions = sessions

    async def advisories_for(self, deps: Iterable[Dependency]) -> dict[Key, list[dict]]:
        keys = keys_of(deps)
        if not keys:
            return {}
        today = datetime.now(UTC).date()
        try:
            async with OsvClient(self.settings) as client:
                vulns = await self._queries(client, keys, today)
                records = await self._records(
                    client, {(v["id"], v["modified"]) for vs in vulns.values() for v in vs}
                )
        except OsvUnavailable as error:
            raise ScannerError(str(error)) from None
        return {
            key: [
                records[(v["id"], v["modified"])]
                for v in vulns.get(key, [])
                if (v["id"], v["modified"]) in records
            ]
            for key in keys
        }

    async def _queries(self, client: OsvClient, keys: list[Key], today) -> dict[Key, list[dict]]:
        cached: dict[Key, list[dict]] = {}
        async with self.sessions() as session:
            for part in chunks(keys):
                query = select(OsvQuery).where(
                    OsvQuery.day == today,
                    tuple_(col(OsvQuery.ecosystem), col(OsvQuery.name), col(OsvQuery.version)).in_(part),
                )
                for row in (await session.exec(query)).all():
                    cached[(row.ecosystem, row.name, row.version)] = row.vulns
        missing = [k for k in keys if k not in cached]
        if missing:
            answers = await client.query(missing)
            rows = [
                {"ecosystem": e, "name": n, "version": v, "day": today, "vulns": vulns}
                for (e, n, v), vulns in zip(missing, answers, strict=True)
            ]
            async with session_scope(self.sessions) as session:
                # Earlier days' answers are never read again.
                await session.exec(delete(OsvQuery).where(col(OsvQuery.day) < today))
                await insert_ignoring_duplicates(session, OsvQuery, rows)
            cached.update(zip(missing, answers, strict=True))
        return cached

    async def _records(self, client: OsvClient, wanted: set[tuple[str, str]]) -> dict[tuple[str, str], dict]:
        found: dict[tuple[str, str], dict] = {}
        async with self.sessions() as session:
            for part in chunks(sorted(wanted)):
                query = select(OsvRecord.id, OsvRecord.modified, OsvRecord.record).where(
                    tuple_(col(OsvRecord.id), col(OsvRecord.modified)).in_(part)
                )
                for advisory_id, modified, record in (await session.exec(query)).all():
                    found[(advisory_id, modified)] = record
        missing = sorted(
            {advisory_id for advisory_id, modified in wanted if (advisory_id, modified) not in found}
        )
        if missing:
            fetched = await client.records(missing)
            rows = [
                {
                    "id": r["id"],
                    "modified": r.get("modified", ""),
                    "record": r,
                    "fetched_at": datetime.now(UTC),
                }
                for r in fetched
            ]
            async with session_scope(self.sessions) as session:
                await insert_ignoring_duplicates(session, OsvRecord, rows)
            for record in fetched:
                found[(record["id"], record.get("modified", ""))] = record
                # The record changed between the query and the fetch: it is still the one to use.
                for advisory_id, modified in wanted:
                    if advisory_id == record["id"]:
                        found.setdefault((advisory_id, modified), record)
        return found


class NoAdvisories:
    """`PANOPTICA_OSV_URL=off` and nothing imported: inventory only."""

    async def advisories_for(self, deps: Iterable[Dependency]) -> dict[Key, list[dict]]:
        return {}


class Advisories:
    """The service's source, chosen at each use: an import that appears later takes over at the next scan."""

    def __init__(self, settings: Settings, sessions) -> None:
        self.settings = settings
        self.sessions = sessions

    async def source(self):
        async with self.sessions() as session:
            imported = (await session.exec(select(OsvAdvisory.id).limit(1))).first()
        if imported:
            return ImportedAdvisories(self.sessions)
        if self.settings.osv_url == "off":
            return NoAdvisories()
        return OsvApiAdvisories(self.settings, self.sessions)

    async def advisories_for(self, deps: Iterable[Dependency]) -> dict[Key, list[dict]]:
        return await (await self.source()).advisories_for(deps)
