"""Our SAST rule pack for Semgrep: `rules/semgrep/<language>/CODE-<LANG>-<NNN>.yaml`, one rule per file, each with
its annotated test target beside it (`semgrep --test`, tests/core/scanners/test_semgrep_rules.py).

The rules are ours, written from the CWE and OWASP descriptions and each language's documented dangerous APIs (the
registry's rules are under a license that forbids our use). Each rule is a self-describing unit: its `metadata`
carries the title, CWE ids, OWASP Top 10 2021 category, our severity and the documented reason for it, the
rationale, a remediation with a safe example and references. This module reads that metadata into `SastRule`s
(what findings, SARIF and the console show) and a digest of the whole pack (part of the scanner's version, so a
changed pack rescans every repository).
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from pathlib import Path

import yaml

from core.scans.scanner import Rule
from core.severity import ORDER, Severity

ROOT = Path(__file__).resolve().parents[2]
RULES_DIR = ROOT / "rules" / "semgrep"
CATEGORY = "CODE"
# The file extensions semgrep selects for each language of the pack (what "every file was scanned" means).
LANGUAGES = {
    "csharp": ("cs",),
    "java": ("java",),
    "javascript": ("js", "jsx", "mjs", "cjs"),
    # semgrep 1.185 selects neither .mts nor .cts as TypeScript (checked): they are not counted as scanned.
    "typescript": ("ts", "tsx"),
    "python": ("py", "pyi"),
    "go": ("go",),
}
# Semgrep's own severity for ours (its legacy scale), so its output agrees with the metadata.
SEMGREP_SEVERITY = {
    Severity.CRITICAL: "ERROR",
    Severity.HIGH: "ERROR",
    Severity.MEDIUM: "WARNING",
    Severity.LOW: "INFO",
    Severity.INFO: "INFO",
}
REQUIRED = ("title", "cwe", "owasp", "severity", "severity_reason", "rationale", "remediation", "references")


class RulePackError(Exception):
    """A rule file of the pack is malformed: the pack is ours, so this is a bug, never a user's input."""


@dataclass(frozen=True)
class SastRule:
    id: str
    languages: tuple[str, ...]
    title: str
    cwe: tuple[str, ...]  # "CWE-89"
    owasp: str  # "A03:2021 - Injection"
    severity: str
    severity_reason: str
    rationale: str
    remediation: str
    references: tuple[str, ...]
    source: str  # the rule file, relative to the repository

    @property
    def rule(self) -> Rule:
        return Rule(
            id=self.id,
            title=self.title,
            severity=self.severity,
            category=CATEGORY,
            rationale=(
                f"{self.rationale} ({', '.join(self.cwe)}; OWASP {self.owasp}.) "
                f"Severity {self.severity}: {self.severity_reason}"
            ),
            remediation=self.remediation,
            help_uri=self.references[0] if self.references else "",
        )


def rule_files(directory: Path = RULES_DIR) -> list[Path]:
    return sorted(p for p in directory.rglob("*.yaml") if p.is_file())


def parse_rule(path: Path) -> SastRule:
    document = yaml.safe_load(path.read_text())
    rules = document.get("rules") if isinstance(document, dict) else None
    if not isinstance(rules, list) or len(rules) != 1:
        raise RulePackError(f"{path.name}: one rule per file")
    rule = rules[0]
    meta = rule.get("metadata") or {}
    missing = [name for name in REQUIRED if not meta.get(name)]
    if missing:
        raise RulePackError(f"{rule.get('id')}: metadata lacks {', '.join(missing)}")
    if rule["id"] != path.stem:
        raise RulePackError(f"{path.name}: the file is named after its rule id ({rule['id']})")
    if meta["severity"] not in ORDER or rule.get("severity") != SEMGREP_SEVERITY[meta["severity"]]:
        raise RulePackError(f"{rule['id']}: severity {meta['severity']} needs semgrep severity "
                            f"{SEMGREP_SEVERITY.get(meta['severity'])}")  # fmt: skip
    cwe = meta["cwe"] if isinstance(meta["cwe"], list) else [meta["cwe"]]
    return SastRule(
        id=rule["id"],
        languages=tuple(rule.get("languages") or ()),
        title=str(meta["title"]),
        cwe=tuple(str(c).split(":")[0].strip() for c in cwe),
        owasp=str(meta["owasp"]),
        severity=meta["severity"],
        severity_reason=str(meta["severity_reason"]).strip(),
        rationale=" ".join(str(meta["rationale"]).split()),
        remediation=str(meta["remediation"]).strip(),
        references=tuple(str(r) for r in meta["references"]),
        source=path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else str(path),
    )


@functools.lru_cache(maxsize=4)
def catalog(directory: Path = RULES_DIR) -> dict[str, SastRule]:
    found: dict[str, SastRule] = {}
    for path in rule_files(directory):
        rule = parse_rule(path)
        if rule.id in found:
            raise RulePackError(f"{rule.id}: defined twice")
        found[rule.id] = rule
    return found


@functools.lru_cache(maxsize=4)
def digest(directory: Path = RULES_DIR) -> str:
    """The pack's content: every rule file's name and bytes (its tests are not rules: they do not count)."""
    hashed = hashlib.sha256()
    for path in rule_files(directory):
        hashed.update(path.relative_to(directory).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return hashed.hexdigest()[:12]


def extensions(directory: Path = RULES_DIR) -> frozenset[str]:
    """The file extensions the pack's rules apply to."""
    languages = {language for rule in catalog(directory).values() for language in rule.languages}
    return frozenset(ext for language in languages for ext in LANGUAGES.get(language, ()))


def cwe_of(rule_id: str) -> tuple[str, ...]:
    """A rule's CWE ids ("CWE-89"); none for a rule that is not in the pack."""
    rule = catalog().get(rule_id)
    return rule.cwe if rule else ()


def owasp_of(rule_id: str) -> str:
    rule = catalog().get(rule_id)
    return rule.owasp if rule else ""
