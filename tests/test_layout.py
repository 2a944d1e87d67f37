"""`core` is the domain: it never imports the surfaces (`api`, `bot`) or the emulator (`sandbox`)."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = {"api", "bot", "sandbox"}


def imported_top_levels(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_core_imports_no_surface_nor_sandbox():
    offenders = {}
    for path in (ROOT / "core").rglob("*.py"):
        bad = imported_top_levels(path) & FORBIDDEN
        if bad:
            offenders[str(path.relative_to(ROOT))] = bad
    assert offenders == {}


def test_surfaces_do_not_import_the_sandbox():
    for package in ("api", "bot"):
        for path in (ROOT / package).rglob("*.py"):
            if path == ROOT / "api" / "cli.py":
                continue  # the command line starts the emulator on request (`serve --sandbox`, `sandbox`)
            assert "sandbox" not in imported_top_levels(path), path
