"""`panoptica osv import`: OSV exports stored in the database, for installs that cannot reach api.osv.dev.

Each PATH is a per-ecosystem `all.zip` as published at
`https://osv-vulnerabilities.storage.googleapis.com/<ECOSYSTEM>/all.zip` (one OSV JSON per member), or a folder of
OSV JSON files. An invocation replaces whatever was imported before, all or nothing (one transaction): import
every ecosystem you need in one command. The same id in several files is stored once, the newest `modified`
winning. Zips are read defensively: member count, per-member and total uncompressed sizes are capped (a zip bomb
is refused, whatever its headers claim), and a member that is not an OSV record refuses the whole import.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import delete, insert
from sqlalchemy.ext.asyncio import AsyncEngine

from core.dependencies.matching import normalize_name
from core.dependencies.models import OsvAdvisory, OsvAffected

MAX_MEMBERS = 1_000_000
MAX_MEMBER_BYTES = 16 * 1024 * 1024
MAX_TOTAL_BYTES = 8 * 1024 * 1024 * 1024
INSERT_CHUNK = 2000


class ImportRefused(Exception):
    """A file that is not an OSV export: nothing was imported."""


@dataclass
class ImportSummary:
    files: int = 0
    records: int = 0  # records read, duplicates included
    advisories: int = 0  # distinct ids stored
    packages: int = 0  # (ecosystem, package, advisory) index rows
    ecosystems: dict[str, int] = field(default_factory=dict)

    def describe(self) -> str:
        per = ", ".join(f"{e}: {n}" for e, n in sorted(self.ecosystems.items()))
        return (
            f"imported {self.advisories} advisories ({self.records} records read from {self.files} file(s), "
            f"{self.packages} package entries){'; ' + per if per else ''}"
        )


@dataclass
class Limits:
    members: int = MAX_MEMBERS
    member_bytes: int = MAX_MEMBER_BYTES
    total_bytes: int = MAX_TOTAL_BYTES


def read_exports(paths: list[Path], limits: Limits | None = None) -> tuple[dict[str, dict], int]:
    """{id: record} over every file (newest `modified` wins) and the number of records read."""
    limits = limits or Limits()
    budget = {"members": 0, "bytes": 0}
    records: dict[str, dict] = {}
    read = 0
    for path in paths:
        for label, raw in members(path, limits, budget):
            record = parse_record(label, raw)
            read += 1
            current = records.get(record["id"])
            if current is None or str(record.get("modified", "")) >= str(current.get("modified", "")):
                records[record["id"]] = record
    return records, read


def members(path: Path, limits: Limits, budget: dict):
    """(label, bytes) of each JSON document in a zip or a folder, within the limits."""
    if path.is_dir():
        for file in sorted(path.rglob("*.json")):
            yield str(file), take(file.name, file.read_bytes(), limits, budget)
        return
    if not path.is_file():
        raise ImportRefused(f"{path} does not exist")
    if not zipfile.is_zipfile(path):
        raise ImportRefused(f"{path} is not a zip file")
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                if info.is_dir():
                    continue
                with archive.open(info) as member:
                    # Read one byte more than allowed: the header's size may lie.
                    raw = member.read(limits.member_bytes + 1)
                yield (
                    f"{path.name}:{info.filename}",
                    take(f"{path.name}:{info.filename}", raw, limits, budget),
                )
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, OSError) as error:
        raise ImportRefused(f"{path} could not be read as a zip ({error})") from None


def take(label: str, raw: bytes, limits: Limits, budget: dict) -> bytes:
    budget["members"] += 1
    budget["bytes"] += len(raw)
    if len(raw) > limits.member_bytes:
        raise ImportRefused(f"{label} is larger than {limits.member_bytes} bytes uncompressed")
    if budget["members"] > limits.members:
        raise ImportRefused(f"more than {limits.members} files in the exports")
    if budget["bytes"] > limits.total_bytes:
        raise ImportRefused(f"the exports are larger than {limits.total_bytes} bytes uncompressed")
    return raw


def parse_record(label: str, raw: bytes) -> dict:
    try:
        record = json.loads(raw)
    except ValueError:
        raise ImportRefused(f"{label} is not JSON") from None
    if not isinstance(record, dict) or not isinstance(record.get("id"), str) or not record["id"]:
        raise ImportRefused(f"{label} is not an OSV record (no id)")
    if not isinstance(record.get("affected", []), list):
        raise ImportRefused(f"{label} is not an OSV record (affected is not a list)")
    return record


def index_rows(record: dict) -> set[tuple[str, str, str]]:
    rows = set()
    for affected in record.get("affected") or []:
        package = affected.get("package") if isinstance(affected, dict) else None
        if isinstance(package, dict) and package.get("ecosystem") and package.get("name"):
            ecosystem = str(package["ecosystem"]).split(":")[0]
            rows.add((ecosystem[:40], normalize_name(ecosystem, str(package["name"]))[:300], record["id"]))
    return rows


async def import_exports(
    engine: AsyncEngine, paths: list[Path], limits: Limits | None = None
) -> ImportSummary:
    records, read = read_exports(paths, limits)  # every file is read and checked before the database changes
    summary = ImportSummary(files=len(paths), records=read, advisories=len(records))
    advisories = [
        {"id": r["id"][:100], "modified": str(r.get("modified", ""))[:40], "record": r}
        for r in records.values()
    ]
    index = sorted({row for r in records.values() for row in index_rows(r)})
    summary.packages = len(index)
    for ecosystem in sorted({(e, i) for e, _, i in index}):
        summary.ecosystems[ecosystem[0]] = summary.ecosystems.get(ecosystem[0], 0) + 1
    async with engine.begin() as connection:
        await connection.execute(delete(OsvAffected))
        await connection.execute(delete(OsvAdvisory))
        for start in range(0, len(advisories), INSERT_CHUNK):
            await connection.execute(insert(OsvAdvisory), advisories[start : start + INSERT_CHUNK])
        rows = [{"ecosystem": e, "name": n, "advisory_id": i} for e, n, i in index]
        for start in range(0, len(rows), INSERT_CHUNK):
            await connection.execute(insert(OsvAffected), rows[start : start + INSERT_CHUNK])
    return summary
