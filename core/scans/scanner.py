"""The scanner plugin interface: every scanner turns an extracted repository into normalized findings.

A scanner is a module in `core/scanners/` exposing `SCANNER` (found by convention, see `all_scanners`).
Its `version` changes whenever its rules change, so an unchanged commit is rescanned only then. Secrets never
leave a scanner: a finding carries a keyed hash and a redacted preview, never the value or a snippet.
"""

from __future__ import annotations

import hashlib
import hmac
import importlib
import pkgutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from core.severity import ORDER

SEVERITIES = ORDER  # most severe first (core/severity.py); the name older importers use
CATEGORIES = ("SECRET", "IAC", "PIPELINE", "DEPENDENCY", "POSTURE", "CODE")


@dataclass(frozen=True)
class Rule:
    """A self-describing check: what it finds, how bad, why it matters, how to fix it."""

    id: str
    title: str
    severity: str
    category: str
    rationale: str = ""
    remediation: str = ""
    help_uri: str = ""


@dataclass(frozen=True)
class RawFinding:
    rule: Rule
    path: str  # repository-relative, POSIX separators, no leading "/"
    line: int | None = None
    end_line: int | None = None
    message: str = ""  # what was found here; never contains a secret
    # What makes this finding itself across scans and line shifts (e.g. the resource name, the normalized
    # line content, or for secrets the keyed hash); hashed into the stored fingerprint.
    identity: str = ""
    secret_hash: str | None = None  # HMAC-SHA256 of the secret under the service's key
    preview: str | None = None  # e.g. "AKIA… (40 chars)"
    # The identity an earlier scanner version gave this finding when it differs (secrets: the hash of a value cut
    # short, see core/scanners/whole_values.py); the lifecycle carries such a finding over to `identity`.
    previous_identity: str = ""
    # Other (rule id, identity) pairs this finding may be stored under, tried in order after `previous_identity`
    # (dependencies: every record id of the vulnerability's alias group, whichever one named it before).
    previous_keys: tuple[tuple[str, str], ...] = ()


@dataclass
class ScanContext:
    root: Path  # the extracted repository (read only)
    secret_key: bytes  # the service's key for secret hashes
    timeout_seconds: float = 300.0
    # A bound on a scanner's subprocess, resident memory summed over its processes (checkov: core/scanners/
    # checkov.py; 800 generated IaC files peaked at 0.87 GiB resident).
    memory_limit_bytes: int = 2 * 1024 * 1024 * 1024
    options: dict = field(default_factory=dict)
    # Where the dependencies scanner gets OSV advisories (core.dependencies.advisories.Advisories); None: none.
    advisories: object | None = None


class ScannerError(Exception):
    """The scanner could not run or its output was unusable; the run is PARTIAL with this reason."""


class Scanner(Protocol):
    name: str
    version: str
    rules: tuple[Rule, ...]

    async def scan(self, context: ScanContext) -> list[RawFinding]: ...


def secret_hash(key: bytes, value: str) -> str:
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def redacted_preview(value: str) -> str:
    """The real first characters and the real length: enough to recognise a secret, never enough to use it. At
    most 4 characters and at most a quarter of the value, so a short password shows fewer (8 characters: 2)."""
    shown = min(4, len(value) // 4)
    return f"{value[:shown]}… ({len(value)} char{'' if len(value) == 1 else 's'})"


def fingerprint(rule_id: str, path: str, identity: str) -> str:
    """Stable across scans and line shifts: rule, file and what was found, not the line number."""
    return hashlib.sha256(f"{rule_id}\0{path}\0{identity}".encode()).hexdigest()


def enabled_scanners(names: str) -> list[Scanner]:
    """The scanners named in PANOPTICA_SCANNERS (all when empty); an unknown name is an error, not a skip."""
    scanners = all_scanners()
    wanted = {n.strip() for n in names.split(",") if n.strip()}
    unknown = wanted - {s.name for s in scanners}
    if unknown:
        raise ValueError(f"unknown scanner(s) in PANOPTICA_SCANNERS: {', '.join(sorted(unknown))}")
    return [s for s in scanners if not wanted or s.name in wanted]


def all_scanners() -> list[Scanner]:
    import core.scanners as package

    found = []
    for module in pkgutil.iter_modules(package.__path__):
        loaded = importlib.import_module(f"{package.__name__}.{module.name}")
        if hasattr(loaded, "SCANNER"):
            found.append(loaded.SCANNER)
    return sorted(found, key=lambda s: s.name)
