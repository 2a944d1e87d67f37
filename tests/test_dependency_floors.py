"""pyproject.toml's dependencies as the house keeps them: every one has a floor, the emulator's own packages are
the `sandbox` extra (and the service never imports them), and `make` checks the floors in a virtualenv of their own.
"""

from __future__ import annotations

import ast
import re
import subprocess
import tomllib
from pathlib import Path

import sandbox

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def requirements(group: str | None = None) -> list[str]:
    return PROJECT["dependencies"] if group is None else PROJECT["optional-dependencies"][group]


def name(requirement: str) -> str:
    """The distribution's normalized name (PEP 503), before any extras, version or marker."""
    match = re.match(r"[A-Za-z0-9._-]+", requirement)
    assert match, requirement
    return re.sub(r"[-_.]+", "-", match.group()).lower()


def test_every_direct_dependency_has_a_floor():
    for group in (None, *PROJECT["optional-dependencies"]):
        for requirement in requirements(group):
            assert re.search(r">=\s*\d", requirement.split(";")[0]), (group, requirement)


def test_the_sandbox_extra_is_what_the_emulator_alone_imports():
    extra = {name(requirement) for requirement in requirements("sandbox")}
    assert extra == set(sandbox.EXTRA_MODULES.values())
    assert not extra & {name(requirement) for requirement in requirements()}  # not in the service's as well
    for package in ("core", "api", "bot"):
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for module in names:
                    assert module.split(".")[0] not in sandbox.EXTRA_MODULES, f"{path}: imports {module}"


def plan(target: str) -> list[str]:
    # -B: as on a fresh clone (every prerequisite rebuilt); -n: print the commands, run nothing.
    return subprocess.run(
        ["make", "-n", "-B", target], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.splitlines()


def test_make_installs_both_extras_and_test_floors_runs_the_suite_at_the_floors():
    assert any("pip install" in line and "-e '.[dev,sandbox]'" in line for line in plan("run"))
    floors = plan("test-floors")
    install = next(i for i, line in enumerate(floors) if "--resolution lowest-direct" in line)
    assert floors[install] == (
        ".venv/bin/uv pip install --python .venv-floors/bin/python --resolution lowest-direct -e '.[dev,sandbox]'"
    )
    assert "rm -rf .venv-floors" in floors[:install]  # a pyproject change rebuilds it from nothing
    assert any(line.endswith(".venv-floors/bin/python -m pytest -q") for line in floors[install:])
    assert "make test-floors" in (ROOT / ".ci" / "run").read_text()
