"""Our severities for checkov's checks: open-source checkov reports `severity: null` (they come from the Prisma
platform), so one table decides, documented here (reference: scanning.md §7, "checkov (open source)").

The table is ordered and the first matching row wins: explicit check ids first, then families recognised by
words in the check's name, then MEDIUM. Change anything here → bump REVISION: it is part of the scanner's
version, so every repository is rescanned with the new severities.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

REVISION = "1"
DEFAULT = "MEDIUM"


@dataclass(frozen=True)
class Row:
    severity: str
    why: str
    ids: frozenset[str] = frozenset()
    words: re.Pattern | None = None  # searched in the check's name, case-insensitively

    def matches(self, check_id: str, name: str) -> bool:
        return check_id in self.ids or bool(self.words and self.words.search(name))


def words(pattern: str) -> re.Pattern:
    return re.compile(pattern, re.IGNORECASE)


TABLE: tuple[Row, ...] = (
    # Explicit ids: where a family word would say otherwise, or the check matters enough to be pinned.
    Row(
        "HIGH",
        "management ports open to the internet (SSH, RDP)",
        ids=frozenset({"CKV_AZURE_9", "CKV_AZURE_10"}),
    ),
    Row("HIGH", "plaintext HTTP accepted by a storage account", ids=frozenset({"CKV_AZURE_3"})),
    Row("MEDIUM", "TLS below 1.2: weak, not off", ids=frozenset({"CKV_AZURE_44"})),
    Row(
        "MEDIUM",
        "container runs as root (no USER / root admitted)",
        ids=frozenset({"CKV_DOCKER_3", "CKV_K8S_23"}),
    ),
    Row(
        "LOW",
        "image not pinned by digest (a fixed tag is already required by other checks)",
        ids=frozenset({"CKV_K8S_43"}),
    ),
    # Families, by words in the check's name.
    Row("MEDIUM", "mutable image tags (:latest or none)", words=words(r"\blatest\b|\bblank\b")),
    Row(
        "MEDIUM",
        "customer-managed keys: encryption is on, the key choice is hardening",
        words=words(r"customer[- ](managed|supplied)|\bCMK\b|\bCSEK\b|\bKMS\b|encryption set"),
    ),
    Row(
        "HIGH",
        "privileged containers, privilege escalation, host namespaces",
        words=words(r"privileged|privilege ?escalation|\bhost ?(PID|IPC|network)\b|hostPath"),
    ),
    Row(
        "HIGH",
        "public network exposure",
        words=words(r"\bpublic(ly)?\b|\banonymous\b|\binternet\b|0\.0\.0\.0|\bworld\b"),
    ),
    Row(
        "HIGH", "encryption off (at rest or in transit)", words=words(r"\bencrypt|\bHTTPS\b|\bTLS\b|\bSSL\b")
    ),
    Row(
        "HIGH",
        "hard-coded credentials",
        words=words(r"hard[- ]?coded|\bcredentials?\b.*\b(exist|present|exposed)"),
    ),
    Row("LOW", "resource requests and limits", words=words(r"\b(CPU|memory)\b.*\b(limits?|requests?)\b")),
    Row("LOW", "health probes and HEALTHCHECK", words=words(r"\bprobe\b|HEALTHCHECK")),
    Row(
        "LOW",
        "logging, monitoring, retention",
        words=words(r"\blogging\b|\blogs?\b|\bmonitor|\bdiagnostic|\bretention\b"),
    ),
)


DEFAULT_ROW = Row(DEFAULT, "no row of the table matched: the default")


def classify(check_id: str, name: str) -> Row:
    """The first row that matches the check (its id, or words in its name); the default row otherwise."""
    return next((row for row in TABLE if row.matches(check_id, name)), DEFAULT_ROW)


def severity(check_id: str, name: str) -> str:
    return classify(check_id, name).severity
