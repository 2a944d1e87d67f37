"""Advisories read straight from OSV exports on disk, with no database: `panoptica scan --advisories PATH`.

The same files `panoptica osv import` stores (a per-ecosystem `all.zip`, or a folder of OSV JSON), read with the
same limits and checks (core/dependencies/osv_import.py), but only when the dependencies scanner asks, and only
the records that name one of the scanned packages are kept: a whole npm export never sits in memory. The answer
has the shape of `ImportedAdvisories` (candidates by package; core.dependencies.matching decides), so a local scan
and the service give the same dependency findings from the same export.
"""

from __future__ import annotations

import asyncio
import zipfile
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

from core.dependencies.advisories import Key, keys_of
from core.dependencies.matching import normalize_name
from core.dependencies.osv_import import ImportRefused, Limits, index_rows, members, parse_record
from core.dependencies.package import Dependency
from core.scans.scanner import ScannerError


def unusable_export(path: Path) -> str | None:
    """Why `path` cannot be an OSV export (checked before a scan starts), or None."""
    if path.is_dir():
        return None
    if not path.exists():
        return f"{path}: no such file or folder"
    if not path.is_file() or not zipfile.is_zipfile(path):
        return f"{path}: not an OSV export (a zip file or a folder of OSV JSON)"
    return None


class ExportAdvisories:
    def __init__(self, paths: Iterable[Path], limits: Limits | None = None) -> None:
        self.paths = [Path(p) for p in paths]
        self.limits = limits or Limits()

    async def advisories_for(self, deps: Iterable[Dependency]) -> dict[Key, list[dict]]:
        keys = keys_of(deps)
        if not keys:
            return {}
        try:
            return await asyncio.to_thread(self._read, keys)
        except ImportRefused as error:  # a broken export: the dependency result would be incomplete
            raise ScannerError(f"the OSV export is unusable: {error}") from None

    def _read(self, keys: list[Key]) -> dict[Key, list[dict]]:
        by_package: dict[tuple[str, str], list[Key]] = defaultdict(list)
        for key in keys:
            by_package[(key[0], normalize_name(key[0], key[1]))].append(key)
        records: dict[str, dict] = {}  # id -> record; the newest `modified` wins, as in `osv import`
        budget = {"members": 0, "bytes": 0}
        for path in self.paths:
            for label, raw in members(path, self.limits, budget):
                record = parse_record(label, raw)
                if not any((e, n) in by_package for e, n, _ in index_rows(record)):
                    continue
                current = records.get(record["id"])
                if current is None or str(record.get("modified", "")) >= str(current.get("modified", "")):
                    records[record["id"]] = record
        candidates: dict[tuple[str, str], list[dict]] = defaultdict(list)
        for record in sorted(records.values(), key=lambda r: r["id"]):
            for ecosystem, name, _ in sorted(index_rows(record)):  # each package once per record
                if (ecosystem, name) in by_package:
                    candidates[(ecosystem, name)].append(record)
        return {key: candidates.get(package, []) for package, pkeys in by_package.items() for key in pkeys}
