"""Secrets: detect-secrets' typed and keyword detectors, plus our Azure detectors (none of the public engines
finds Azure DevOps PATs).

The value never leaves this module: a finding carries the HMAC of the value under the service's key (its
identity, so the same secret is one finding however it moves) and a redacted preview. Entropy-only plugins
are off: on infrastructure repositories they flag hashes, digests and lockfile integrity strings far more
often than secrets; typed and keyword detectors find real credentials with little noise.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from pathlib import Path

from detect_secrets import SecretsCollection
from detect_secrets.settings import transient_settings

from core.scans.scanner import RawFinding, Rule, ScanContext, redacted_preview, secret_hash

REMEDIATION = (
    "Revoke the credential now (it is in the repository's history), issue a new one, and load it from a secret "
    "store (Azure Key Vault, a secret pipeline variable) instead of the repository."
)


def secret_rule(rule_id: str, title: str, severity: str) -> Rule:
    return Rule(
        rule_id, title, severity, "SECRET", f"A {title.lower()} committed to the repository.", REMEDIATION
    )


@dataclass(frozen=True)
class Detector:
    rule: Rule
    pattern: re.Pattern
    group: int = 0  # which group is the secret
    context: re.Pattern | None = None  # the line must also match this (keyword context)


OUR_DETECTORS = (
    Detector(
        secret_rule("SECRET-AZURE-DEVOPS-PAT", "Azure DevOps personal access token", "CRITICAL"),
        re.compile(r"(?<![A-Za-z0-9])([a-z2-7]{52})(?![A-Za-z0-9])"),
        1,
        re.compile(r"(?i)(pat\b|token|password|passwd|pwd|azure_devops_ext_pat|@dev\.azure\.com|basic\s)"),
    ),
    # The newer format: 84 characters with the "AZDO" signature at positions 77 to 80.
    Detector(
        secret_rule("SECRET-AZURE-DEVOPS-PAT", "Azure DevOps personal access token", "CRITICAL"),
        re.compile(r"(?<![A-Za-z0-9])([A-Za-z0-9]{76}AZDO[A-Za-z0-9]{4})(?![A-Za-z0-9])"),
        1,
    ),
    Detector(
        secret_rule("SECRET-AZURE-STORAGE-KEY", "Azure storage account key", "CRITICAL"),
        re.compile(r"(?i)AccountKey\s*=\s*([A-Za-z0-9/+]{86}==)"),
        1,
    ),
    Detector(
        secret_rule("SECRET-AZURE-SAS-TOKEN", "Azure shared access signature", "HIGH"),
        re.compile(r"[?&]sv=\d{4}-\d{2}-\d{2}[^\s\"']*?&sig=([A-Za-z0-9%/+=]{20,})"),
        1,
    ),
    Detector(
        secret_rule("SECRET-CONNECTION-STRING-PASSWORD", "Password in a connection string", "HIGH"),
        re.compile(r"(?i)(?:^|;|\s|\")(?:password|pwd)\s*=\s*([^;\"'\s]{4,})"),
        1,
        re.compile(r";"),
    ),
    # detect-secrets finds AWS access key ids, but an unquoted secret key in a .env file escapes its keyword rule.
    Detector(
        secret_rule("SECRET-AWS-SECRET-KEY", "AWS secret access key", "CRITICAL"),
        re.compile(r"(?i)aws_?secret_?access_?key\s*[=:]\s*[\"']?([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+])"),
        1,
    ),
)

# detect-secrets' types: one table to our rules and severities.
DETECT_SECRETS_RULES = {
    "AWS Access Key": secret_rule("SECRET-AWS-ACCESS-KEY", "AWS access key", "CRITICAL"),
    "Azure Storage Account access key": OUR_DETECTORS[2].rule,
    "Private Key": secret_rule("SECRET-PRIVATE-KEY", "Private key", "CRITICAL"),
    "GitHub Token": secret_rule("SECRET-GITHUB-TOKEN", "GitHub token", "HIGH"),
    "GitLab Token": secret_rule("SECRET-GITLAB-TOKEN", "GitLab token", "HIGH"),
    "Slack Token": secret_rule("SECRET-SLACK-TOKEN", "Slack token", "HIGH"),
    "Stripe Access Key": secret_rule("SECRET-STRIPE-KEY", "Stripe key", "HIGH"),
    "Basic Auth Credentials": secret_rule("SECRET-BASIC-AUTH", "Credentials in a URL", "HIGH"),
    "JSON Web Token": secret_rule("SECRET-JWT", "JSON web token", "MEDIUM"),
    "Secret Keyword": secret_rule("SECRET-KEYWORD", "Secret assigned to a secret-looking name", "MEDIUM"),
}
OTHER_TYPED = "HIGH"
PLUGINS = [
    {"name": name}
    for name in (
        "ArtifactoryDetector",
        "AWSKeyDetector",
        "AzureStorageKeyDetector",
        "BasicAuthDetector",
        "CloudantDetector",
        "DiscordBotTokenDetector",
        "GitHubTokenDetector",
        "GitLabTokenDetector",
        "IbmCloudIamDetector",
        "IbmCosHmacDetector",
        "JwtTokenDetector",
        "KeywordDetector",
        "MailchimpDetector",
        "NpmDetector",
        "OpenAIDetector",
        "PrivateKeyDetector",
        "PypiTokenDetector",
        "SendGridDetector",
        "SlackDetector",
        "SoftlayerDetector",
        "SquareOAuthDetector",
        "StripeDetector",
        "TelegramBotTokenDetector",
        "TwilioKeyDetector",
    )
]
SEVERITY_RANK = {"CRITICAL": 0, "HIGH": 1, "MEDIUM": 2, "LOW": 3, "INFO": 4}
MAX_FILE_BYTES = 2 * 1024 * 1024
SKIP_DIRECTORIES = {".git", "node_modules", ".venv", "vendor"}


class SecretsScanner:
    name = "secrets"
    version = "1"
    rules = (*{d.rule.id: d.rule for d in OUR_DETECTORS}.values(), *DETECT_SECRETS_RULES.values())

    async def scan(self, context: ScanContext) -> list[RawFinding]:
        return await asyncio.to_thread(scan_tree, context.root, context.secret_key)


def candidate_files(root: Path) -> list[Path]:
    files = []
    for path in sorted(root.rglob("*")):
        if any(part in SKIP_DIRECTORIES for part in path.relative_to(root).parts):
            continue
        if path.is_file() and not path.is_symlink() and path.stat().st_size <= MAX_FILE_BYTES:
            files.append(path)
    return files


def is_text(path: Path) -> bool:
    with open(path, "rb") as handle:
        return b"\0" not in handle.read(8192)


def scan_tree(root: Path, key: bytes) -> list[RawFinding]:
    hits: dict[tuple[str, int, str], tuple[Rule, str]] = {}  # (path, line, value hash) -> best rule, value
    files = [p for p in candidate_files(root) if is_text(p)]
    for path in files:
        relative = path.relative_to(root).as_posix()
        for line_number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            for rule, value in azure_hits(line):
                keep(hits, relative, line_number, rule, value, key)
    for relative, line_number, rule, value in detect_secrets_hits(root, files):
        keep(hits, relative, line_number, rule, value, key)
    return to_findings(hits, key)


def azure_hits(line: str):
    for detector in OUR_DETECTORS:
        if detector.context is not None and not detector.context.search(line):
            continue
        for match in detector.pattern.finditer(line):
            yield detector.rule, match.group(detector.group)


def detect_secrets_hits(root: Path, files: list[Path]):
    with transient_settings({"plugins_used": PLUGINS}):
        collection = SecretsCollection(root=str(root))
        for path in files:
            collection.scan_file(str(path.relative_to(root)))
    for filename, secret in collection:
        if not secret.secret_value:
            continue
        rule = DETECT_SECRETS_RULES.get(secret.type) or secret_rule(
            "SECRET-" + re.sub(r"[^A-Z0-9]+", "-", secret.type.upper()).strip("-"), secret.type, OTHER_TYPED
        )
        yield Path(filename).as_posix(), secret.line_number, rule, secret.secret_value


def keep(hits: dict, relative: str, line: int, rule: Rule, value: str, key: bytes) -> None:
    """One finding per secret and line: the most specific (most severe) detector wins."""
    value_hash = secret_hash(key, value)
    same_line = [k for k in hits if k[0] == relative and k[1] == line]
    for existing in same_line:
        existing_rule, existing_value = hits[existing]
        overlapping = value in existing_value or existing_value in value
        if overlapping and SEVERITY_RANK[existing_rule.severity] <= SEVERITY_RANK[rule.severity]:
            return
        if overlapping:
            del hits[existing]
    hits[(relative, line, value_hash)] = (rule, value)


def to_findings(hits: dict, key: bytes) -> list[RawFinding]:
    findings, seen = [], set()
    for (relative, line, value_hash), (rule, value) in sorted(hits.items()):
        if (relative, rule.id, value_hash) in seen:  # the same secret twice in a file: one finding
            continue
        seen.add((relative, rule.id, value_hash))
        findings.append(
            RawFinding(
                rule,
                relative,
                line,
                message=f"{rule.title} ({redacted_preview(value)}).",
                identity=value_hash,
                secret_hash=value_hash,
                preview=redacted_preview(value),
            )
        )
    return findings


SCANNER = SecretsScanner()
