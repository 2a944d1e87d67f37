"""Without the `sandbox` extra, the commands that start the emulator say in one line what to install.

The installed `panoptica` runs in a subprocess with a `trustme` ahead of site-packages that fails to import as an
absent package does, so the emulator's packages are missing as they are from `pip install panoptica-azure`.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

PANOPTICA = str(Path(sys.executable).with_name("panoptica"))
ABSENT = 'raise ModuleNotFoundError("No module named \'trustme\'", name="trustme")\n'


@pytest.mark.parametrize("command", [["sandbox"], ["serve", "--sandbox"]])
def test_the_emulator_without_its_extra_names_what_to_install(tmp_path, command):
    hidden = tmp_path / "hidden"
    (hidden / "trustme").mkdir(parents=True)
    (hidden / "trustme" / "__init__.py").write_text(ABSENT)
    (tmp_path / "tmp").mkdir()
    home = tmp_path / "home"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "TMPDIR": str(tmp_path / "tmp"),
        "PYTHONPATH": str(hidden),
        "PANOPTICA_HOME": str(home),
    }
    result = subprocess.run(
        [PANOPTICA, *command], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [
        "panoptica: the emulator needs trustme (the sandbox extra), which is not installed: "
        "pip install 'panoptica-azure[sandbox]' (from a clone: make run, or pip install -e '.[sandbox]')"
    ]
    assert result.stdout == ""  # nothing started: no emulator, no token, no port
    assert not home.exists() and list((tmp_path / "tmp").iterdir()) == []


def test_with_the_extra_nothing_is_missing():
    import sandbox

    assert sandbox.missing_packages() == []
