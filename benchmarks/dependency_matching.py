"""Dependency inventory and advisory matching at scale: 5,000 dependencies against a 50,000-advisory OSV export.

    .venv/bin/python benchmarks/dependency_matching.py [--dependencies 5000] [--advisories 50000]

Generates, in a temporary directory, a repository with an npm `package-lock.json`, a `requirements.txt` and a
`Cargo.lock` (the dependencies split across them), and per-ecosystem OSV `all.zip` exports (a tenth of the
advisories name packages of the repository, the rest other packages, with ranges and explicit version lists).
Imports the exports into a temporary SQLite database (`panoptica osv import`'s code), then times separately:
- inventory: `core.dependencies.inventory.inventory` over the repository;
- matching: the imported source's bulk lookup plus `match` for every (dependency, candidate) pair.
Prints times, counts and matches found, each beside its floor: for the inventory, reading and parsing the three
files with the standard library alone (json, tomllib, lines), nothing resolved; for matching, the bulk lookup
alone. No peer runs here: osv-scanner, the free tool that does this, is a Go binary no registry we reach
ships. Figures only, no assertions.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.db import create_engine, session_factory  # noqa: E402
from core.db.migrate import upgrade_engine  # noqa: E402
from core.dependencies.advisories import ImportedAdvisories  # noqa: E402
from core.dependencies.inventory import inventory  # noqa: E402
from core.dependencies.osv_import import import_exports  # noqa: E402
from core.scanners.dependencies import findings_for  # noqa: E402

ECOSYSTEMS = ("npm", "PyPI", "crates.io")


def version(rng: random.Random) -> str:
    return f"{rng.randint(0, 9)}.{rng.randint(0, 30)}.{rng.randint(0, 30)}"


def write_repository(root: Path, count: int, rng: random.Random) -> dict[str, list[tuple[str, str]]]:
    per = count // 3
    packages = {
        "npm": [(f"pkg-{i}", version(rng)) for i in range(count - 2 * per)],
        "PyPI": [(f"py-lib-{i}", version(rng)) for i in range(per)],
        "crates.io": [(f"crate_{i}", version(rng)) for i in range(per)],
    }
    lock = {"name": "bench", "version": "1.0.0", "lockfileVersion": 3, "requires": True, "packages": {"": {}}}
    lock["packages"][""] = {"name": "bench", "version": "1.0.0", "dependencies": dict(packages["npm"][:50])}
    for name, ver in packages["npm"]:
        lock["packages"][f"node_modules/{name}"] = {"version": ver}
    (root / "package-lock.json").write_text(json.dumps(lock, indent=2))
    (root / "requirements.txt").write_text("".join(f"{n}=={v}\n" for n, v in packages["PyPI"]))
    cargo = ["version = 3\n"]
    source = 'source = "registry+https://github.com/rust-lang/crates.io-index"'
    cargo += [f'\n[[package]]\nname = "{n}"\nversion = "{v}"\n{source}\n' for n, v in packages["crates.io"]]
    (root / "Cargo.lock").write_text("".join(cargo))
    return packages


def write_exports(directory: Path, count: int, packages, rng: random.Random) -> list[Path]:
    paths = []
    per = count // len(ECOSYSTEMS)
    for ecosystem in ECOSYSTEMS:
        path = directory / f"{ecosystem}-all.zip"
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            for i in range(per):
                # A tenth of the advisories are about the repository's packages.
                name = rng.choice(packages[ecosystem])[0] if i % 10 == 0 else f"other-{ecosystem}-{i}"
                affected = {
                    "package": {"ecosystem": ecosystem, "name": name},
                    "ranges": [
                        {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": version(rng)}]}
                    ],
                    "versions": [version(rng) for _ in range(3)],
                }
                record = {
                    "id": f"BENCH-{ecosystem}-{i}",
                    "modified": "2024-01-01T00:00:00Z",
                    "summary": f"Generated advisory {i}",
                    "affected": [affected],
                    "database_specific": {"severity": "HIGH"},
                }
                archive.writestr(f"BENCH-{ecosystem}-{i}.json", json.dumps(record))
        paths.append(path)
    return paths


def parse_floor(repo: Path) -> float:
    """Seconds to read and parse the repository's manifests with the standard library, nothing resolved."""
    started = time.perf_counter()
    json.loads((repo / "package-lock.json").read_bytes())
    [line.split("==") for line in (repo / "requirements.txt").read_text().splitlines()]
    tomllib.loads((repo / "Cargo.lock").read_text())
    return time.perf_counter() - started


async def run(dependencies: int, advisories: int) -> None:
    rng = random.Random(7)
    work = Path(tempfile.mkdtemp(prefix="panoptica-bench-deps-"))
    repo = work / "repo"
    repo.mkdir()
    packages = write_repository(repo, dependencies, rng)
    exports = write_exports(work, advisories, packages, rng)
    engine = create_engine(f"sqlite+aiosqlite:///{work}/bench.db")
    await upgrade_engine(engine)

    started = time.perf_counter()
    summary = await import_exports(engine, exports)
    imported = time.perf_counter() - started
    print(f"import:    {summary.describe()} in {imported:.2f} s")

    started = time.perf_counter()
    deps, problems = inventory(repo)
    took = time.perf_counter() - started
    floor = min(parse_floor(repo) for _ in range(3))
    print(
        f"inventory: {len(deps)} dependencies ({len(problems)} problems) in {took:.2f} s; floor {floor:.3f} s "
        f"(the three files parsed by the standard library alone), {took / max(floor, 1e-9):.1f}x"
    )

    started = time.perf_counter()
    candidates = await ImportedAdvisories(session_factory(engine)).advisories_for(deps)
    looked_up = time.perf_counter() - started
    findings = findings_for(deps, candidates)
    matched = time.perf_counter() - started
    pairs = sum(len(c) for c in candidates.values())
    print(
        f"matching:  {len(deps)} dependencies x {summary.advisories} advisories: {pairs} candidate pairs "
        f"looked up in {looked_up:.2f} s, {len(findings)} matches, {matched:.2f} s in all; floor: the lookup "
        f"alone, {looked_up:.2f} s ({matched / max(looked_up, 1e-9):.1f}x)"
    )
    await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dependencies", type=int, default=5000)
    parser.add_argument("--advisories", type=int, default=50000)
    args = parser.parse_args()
    asyncio.run(run(args.dependencies, args.advisories))


if __name__ == "__main__":
    main()
