"""Scanners that run as a subprocess from a virtualenv of their own (checkov, semgrep): where the executable is,
and which version it is, read from the virtualenv's package metadata (never by running the tool)."""

from __future__ import annotations

import functools
import os
import re
from pathlib import Path

from core.scans.scanner import ScanContext


def tool_bin(context: ScanContext | None, option: str, variable: str, default: Path) -> Path:
    """The executable: the scan's option (e.g. `checkov_bin`), else the environment variable, else the default."""
    configured = (context.options.get(option) if context else None) or os.environ.get(variable)
    return Path(configured) if configured else default


@functools.lru_cache(maxsize=16)
def installed_version(binary: Path, package: str) -> str:
    """`package`'s version in the virtualenv the executable belongs to; "unknown" when it is not there."""
    venv = binary.resolve().parent.parent
    for info in sorted(venv.glob(f"lib/python*/site-packages/{package}-*.dist-info")):
        match = re.fullmatch(rf"{re.escape(package)}-(.+)\.dist-info", info.name)
        if match:
            return match.group(1)
    return "unknown"
