"""Secrets: detect-secrets' typed and keyword detectors, plus our Azure detectors (`azure_detectors.py`; none of
the public engines finds Azure DevOps PATs).

The value never leaves this module: a finding carries the HMAC of the value under the service's key (its
identity, so the same secret is one finding however it moves within a file) and a redacted preview; the message
names the rule and the value's length only. The value is the whole credential as it would be used (the full token,
key or block, the password itself), for every detector: detect-secrets reports a capturing group where its
patterns have one (`ghp` for every GitHub token), so each of its reports is re-read by `whole_values.py` (the
audit table of its plugins is there). The same value in two files is one secret (one hash) in two findings. Nothing here logs a value, and detect-secrets' own logger (which would
print skipped values at INFO) is filtered to WARNING and above.

Noise control:
- Entropy-only plugins (Base64/Hex High Entropy String) are off by default: on infrastructure repositories they
  flag image digests, lockfile integrity hashes, Terraform provider hashes and test vectors far more often than
  secrets (the demo's pinned `@sha256:` images alone would fire). `context.options["secrets_entropy"] = True`
  turns them on with limits well above detect-secrets' defaults (base64 5.0 instead of 4.5, hex 4.0 instead of
  3.0), reported as MEDIUM (scanning.md §7). `IPPublicDetector` is off: an IP address is not a credential.
- detect-secrets' heuristic filters stay on (templated values, `$VAR`, indirect references, UUIDs, sequential
  strings, lock files). Its inline `pragma: allowlist secret` is *not* honoured, and neither do our detectors
  honour it: suppression is a reviewed lifecycle decision in the console, not something any committer can do.
- Our legacy-PAT detector needs keyword context on the line; free-form passwords skip placeholders.
- One finding per value and line: when two detectors find overlapping values on a line, the more specific one
  (our typed detectors, our connection-string password, detect-secrets' typed plugins, JWT, basic auth,
  keywords, entropy)
  is kept. The same value twice in a file under one rule is one finding (its first line).

Speed: detect-secrets spends ~1-2 ms per line, so a file is handed to it only when one of its enabled plugins'
own patterns (or a keyword name) occurs in the file (`worth_detect_secrets`); our detectors run as whole-file
regexes. See benchmarks/secrets_throughput.py.

The walk skips `.git` and vendored/dependency directories, symbolic links, files above `MAX_FILE_BYTES`, known
binary extensions and files with a NUL byte in their first 8 KiB (UTF-16 text with a BOM is decoded, not skipped).
It runs in a worker thread and stops with `ScannerError` past `context.timeout_seconds`.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
import os
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from detect_secrets.core import scan as detect_secrets_scan
from detect_secrets.settings import transient_settings

from core.scanners import azure_detectors, secret_catalog
from core.scanners.azure_detectors import Detector, secret_rule
from core.scanners.secret_catalog import DETECTORS
from core.scanners.whole_values import split_lines, whole_values
from core.scans.scanner import RawFinding, Rule, ScanContext, ScannerError, redacted_preview, secret_hash

# detect-secrets logs skipped values at INFO ("Skipping <value> due to …"): drop its records below WARNING whatever
# level anyone sets on its logger later.
logging.getLogger("detect-secrets").addFilter(lambda record: record.levelno >= logging.WARNING)

MAX_FILE_BYTES = 2 * 1024 * 1024
SKIP_DIRECTORIES = {
    ".git",
    ".hg",
    ".svn",
    "node_modules",
    ".venv",
    "venv",
    "vendor",
    "__pycache__",
    ".terraform",
}
BINARY_SUFFIXES = {
    *(".png", ".jpg", ".jpeg", ".gif", ".bmp", ".ico", ".webp", ".tif", ".tiff", ".psd"),
    *(".zip", ".gz", ".tgz", ".bz2", ".xz", ".7z", ".rar", ".tar", ".jar", ".war", ".nupkg", ".whl"),
    *(".exe", ".dll", ".so", ".dylib", ".o", ".a", ".lib", ".pyc", ".class", ".wasm"),
    *(".pdf", ".woff", ".woff2", ".ttf", ".otf", ".eot", ".mp3", ".mp4", ".mov", ".avi", ".webm"),
}


@dataclass(frozen=True)
class Mapped:
    """A detect-secrets type as one of our rules, with its specificity for same-line deduplication."""

    rule: Rule
    specificity: int


def typed(rule_id: str, title: str, severity: str, why: str) -> Mapped:
    return Mapped(secret_rule(rule_id, title, severity, why), 10)


CLOUD = "It grants access to a cloud account or service until it is revoked."
SAAS = "It grants API access to a third-party service in the owner's name until it is revoked."

# detect-secrets' secret types -> our rules and severities (scanning.md §7: credentials granting cloud or SCM
# access are CRITICAL or HIGH, generic keyword/entropy hits MEDIUM). One table; unknown types fall back to HIGH.
DETECT_SECRETS_TYPES: dict[str, Mapped] = {
    "Azure Storage Account access key": Mapped(azure_detectors.STORAGE_KEY, 10),
    "AWS Access Key": typed("SECRET-AWS-ACCESS-KEY", "AWS access key", "CRITICAL", CLOUD),
    "Private Key": typed(
        "SECRET-PRIVATE-KEY",
        "Private key",
        "CRITICAL",
        "A private key impersonates its owner (TLS, SSH, signing).",
    ),
    "GitHub Token": typed("SECRET-GITHUB-TOKEN", "GitHub token", "CRITICAL", CLOUD),
    "GitLab Token": typed("SECRET-GITLAB-TOKEN", "GitLab token", "CRITICAL", CLOUD),
    "Artifactory Credentials": typed("SECRET-ARTIFACTORY", "Artifactory credentials", "HIGH", SAAS),
    "Cloudant Credentials": typed("SECRET-CLOUDANT", "Cloudant credentials", "HIGH", CLOUD),
    "Discord Bot Token": typed("SECRET-DISCORD-BOT-TOKEN", "Discord bot token", "HIGH", SAAS),
    "IBM Cloud IAM Key": typed("SECRET-IBM-CLOUD-IAM-KEY", "IBM Cloud IAM key", "CRITICAL", CLOUD),
    "IBM COS HMAC Credentials": typed("SECRET-IBM-COS-HMAC", "IBM COS HMAC credentials", "HIGH", CLOUD),
    "Mailchimp Access Key": typed("SECRET-MAILCHIMP-KEY", "Mailchimp access key", "HIGH", SAAS),
    "NPM tokens": typed("SECRET-NPM-TOKEN", "npm token", "HIGH", SAAS),
    "OpenAI Token": typed("SECRET-OPENAI-KEY", "OpenAI API key", "HIGH", SAAS),
    "PyPI Token": typed("SECRET-PYPI-TOKEN", "PyPI token", "HIGH", SAAS),
    "SendGrid API Key": typed("SECRET-SENDGRID-KEY", "SendGrid API key", "HIGH", SAAS),
    "Slack Token": typed("SECRET-SLACK-TOKEN", "Slack token", "HIGH", SAAS),
    "SoftLayer Credentials": typed("SECRET-SOFTLAYER", "SoftLayer credentials", "HIGH", CLOUD),
    "Square OAuth Secret": typed("SECRET-SQUARE-OAUTH", "Square OAuth secret", "HIGH", SAAS),
    "Stripe Access Key": typed("SECRET-STRIPE-KEY", "Stripe key", "HIGH", SAAS),
    "Telegram Bot Token": typed("SECRET-TELEGRAM-BOT-TOKEN", "Telegram bot token", "HIGH", SAAS),
    "Twilio API Key": typed("SECRET-TWILIO-KEY", "Twilio API key", "HIGH", SAAS),
    "JSON Web Token": Mapped(
        secret_rule(
            "SECRET-JWT",
            "JSON web token",
            "MEDIUM",
            "A bearer token: valid for whoever holds it until it expires.",
        ),
        11,
    ),
    "Basic Auth Credentials": Mapped(
        secret_rule(
            "SECRET-BASIC-AUTH", "Credentials in a URL", "HIGH", "A user name and password in a URL."
        ),
        30,
    ),
    "Secret Keyword": Mapped(
        secret_rule(
            "SECRET-KEYWORD",
            "Secret assigned to a secret-looking name",
            "MEDIUM",
            "A literal value assigned to a name such as password, secret or api_key.",
        ),
        40,
    ),
    "Base64 High Entropy String": Mapped(
        secret_rule("SECRET-HIGH-ENTROPY", "High-entropy string", "MEDIUM", "A random-looking literal."), 50
    ),
    "Hex High Entropy String": Mapped(
        secret_rule("SECRET-HIGH-ENTROPY", "High-entropy string", "MEDIUM", "A random-looking literal."), 50
    ),
}
# detect-secrets' GitLab pattern for CI build tokens, `glcbt-([0-9a-fA-F]{2}_)?[A-Za-z0-9_\-]{20,50}`, reports its
# optional group: `64_` or nothing, which its own filters then drop (no letter), so it never reports such a token.
# Found here instead, whole, under the same rule.
RECOVERED: tuple[Detector, ...] = (
    Detector(
        "gitlab-ci-build-token",
        DETECT_SECRETS_TYPES["GitLab Token"].rule,
        re.compile(
            r"(?<![A-Za-z0-9_-])(?P<secret>glcbt-(?:[0-9a-fA-F]{2}_)?[A-Za-z0-9_-]{20,50})(?![A-Za-z0-9_-])"
        ),
        hints=("glcbt-",),
        specificity=10,
    ),
)
OUR_DETECTORS: tuple[Detector, ...] = (*DETECTORS, *RECOVERED)

TYPED_PLUGINS = (
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
ENTROPY_PLUGINS = (
    {"name": "Base64HighEntropyString", "limit": 5.0},
    {"name": "HexHighEntropyString", "limit": 4.0},
)
FILTERS = [  # detect-secrets' defaults minus the inline allowlist pragma (see the module docstring)
    {"path": f"detect_secrets.filters.heuristic.{name}"}
    for name in (
        "is_sequential_string",
        "is_potential_uuid",
        "is_likely_id_string",
        "is_templated_secret",
        "is_prefixed_with_dollar_sign",
        "is_indirect_reference",
        "is_lock_file",
        "is_not_alphanumeric_string",
        "is_swagger_file",
    )
]


def plugin_prefilter() -> tuple[re.Pattern, tuple[re.Pattern, ...]]:
    """Whole-file patterns that every finding of the enabled typed/keyword plugins needs: their own denylist
    regexes (made multi-line) and the keyword plugin's key names. detect-secrets costs ~1-2 ms per line (it
    inspects every filter and plugin call's signature), so files matching none of these are not handed to it:
    for line-based regexes this is exact; only values that its YAML transformer decodes (`!!binary`) could be
    missed."""
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class
    from detect_secrets.plugins.keyword import DENYLIST

    patterns = []
    for plugin in get_mapping_from_secret_type_to_class().values():
        if plugin.__name__ in TYPED_PLUGINS:
            for regex in getattr(plugin, "denylist", None) or ():
                patterns.append(re.compile(regex.pattern, regex.flags | re.MULTILINE))
    # The keyword names are lowercase: searched case-sensitively in the lowercased text (20x faster in CPython
    # than an IGNORECASE alternation).
    return re.compile("|".join(DENYLIST)), tuple(patterns)


KEYWORD_PREFILTER, PREFILTER = plugin_prefilter()


def enabled_plugins(entropy: bool) -> list[dict]:
    """detect-secrets' plugins as its settings name them: the typed and keyword ones, the entropy ones on demand."""
    return [{"name": name} for name in TYPED_PLUGINS] + (list(ENTROPY_PLUGINS) if entropy else [])


def plugin_class_names() -> dict[str, str]:
    """detect-secrets' secret type -> the plugin class that reports it (the key of `whole_values.WHOLE_VALUES`)."""
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class

    return {
        secret_type: plugin.__name__
        for secret_type, plugin in get_mapping_from_secret_type_to_class().items()
    }


def worth_detect_secrets(text: str, lowered: str) -> bool:
    return bool(KEYWORD_PREFILTER.search(lowered)) or any(pattern.search(text) for pattern in PREFILTER)


# detect-secrets keeps its settings in a process-wide singleton that `transient_settings` swaps in and out:
# two scans in two threads would restore each other's settings mid-scan. Its work is serialized here.
DETECT_SECRETS_LOCK = threading.Lock()

RULES: tuple[Rule, ...] = tuple(
    {
        rule.id: rule
        for rule in (
            *secret_catalog.RULES,
            *(d.rule for d in RECOVERED),
            *(m.rule for m in DETECT_SECRETS_TYPES.values()),
        )
    }.values()
)


@dataclass(frozen=True)
class Hit:
    path: str
    line: int
    rule: Rule
    value: str  # the whole credential
    specificity: int
    source: str = ""  # our detector's name or detect-secrets' plugin class
    raw: str = ""  # the value as written on its line when that differs (an escaped key): for overlaps
    column: int = -1  # where the value (`raw` if any) starts on its line; -1: not on it (a YAML block scalar)
    # What scanner version 2 took as the value when it was less than the whole credential (`ghp`, a key's header
    # words, a SAS signature): the identity of the findings it stored, which version 3 carries over.
    legacy: str = ""


class SecretsScanner:
    name = "secrets"
    # 3: whole values (see whole_values.py); the change makes every repository rescan once, and the lifecycle
    # carries each version-2 finding over to its whole value (core/findings/lifecycle.py, `carried_over`).
    version = "3"
    rules = RULES

    async def scan(self, context: ScanContext) -> list[RawFinding]:
        if not context.root.is_dir():
            raise ScannerError(f"the repository directory {context.root.name!r} does not exist")
        return await asyncio.to_thread(
            scan_tree,
            context.root,
            context.secret_key,
            entropy=bool(context.options.get("secrets_entropy")),
            deadline=time.monotonic() + context.timeout_seconds,
        )


def candidate_files(root: Path) -> Iterator[Path]:
    """Regular files under root, in a stable order, without skipped directories, links or oversized files."""
    for directory, subdirectories, names in os.walk(root):
        subdirectories[:] = sorted(d for d in subdirectories if d not in SKIP_DIRECTORIES)
        for name in sorted(names):
            path = Path(directory, name)
            if path.suffix.lower() in BINARY_SUFFIXES or path.is_symlink():
                continue
            try:
                if path.is_file() and path.stat().st_size <= MAX_FILE_BYTES:
                    yield path
            except OSError:
                continue


def read_text(path: Path) -> str | None:
    """The file as text, or None when it is binary or unreadable."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")
    if b"\0" in data[:8192]:
        return None
    return data.decode("utf-8", errors="replace")


def scan_tree(
    root: Path, key: bytes, *, entropy: bool = False, deadline: float | None = None
) -> list[RawFinding]:
    hits: list[Hit] = []
    candidates: list[str] = []  # files detect-secrets could find something in
    scanned = 0
    for path in candidate_files(root):
        if deadline is not None and time.monotonic() > deadline:
            raise ScannerError(f"secrets scan timed out after {scanned} files")
        text = read_text(path)
        if text is None:
            continue
        scanned += 1
        relative, lowered = path.relative_to(root).as_posix(), text.lower()
        if entropy or worth_detect_secrets(text, lowered):
            candidates.append(relative)
        hits.extend(our_hits(relative, text, lowered))
    hits.extend(detect_secrets_hits(root, candidates, entropy, deadline))
    return to_findings(deduplicate(hits), key)


def our_hits(relative: str, text: str, lowered: str | None = None) -> Iterator[Hit]:
    lowered = text.lower() if lowered is None else lowered
    line_starts: list[int] | None = None
    for detector in OUR_DETECTORS:
        if detector.hints and not any(hint in lowered for hint in detector.hints):
            continue
        for match in detector.pattern.finditer(text):
            value = detector.value(text, match)
            start = text.rfind("\n", 0, match.start()) + 1
            end = text.find("\n", match.end())
            line_text = text[start : end if end >= 0 else len(text)]
            if detector.context is not None and not detector.context.search(line_text):
                continue
            if not detector.accepts(value):
                continue
            if line_starts is None:
                line_starts = [0, *(m.end() for m in re.finditer("\n", text))]
            line = bisect.bisect_right(line_starts, match.start())
            group, (value_start, value_end) = match.group("secret"), detector.span(text, match)
            yield Hit(
                relative,
                line,
                detector.rule,
                value,
                detector.specificity,
                detector.name,
                raw=text[value_start:value_end] if text[value_start:value_end] != value else "",
                column=value_start - start,
                legacy=group if group != value else "",
            )


def detect_secrets_hits(
    root: Path,
    relatives: list[str],
    entropy: bool,
    deadline: float | None,
    plugins: list[dict] | None = None,
) -> Iterator[Hit]:
    """detect-secrets' reports, each re-read as the whole credential(s) on its line (`whole_values`)."""
    plugins = enabled_plugins(entropy) if plugins is None else plugins
    reports: list[tuple[str, str, int, str]] = []
    with DETECT_SECRETS_LOCK, transient_settings({"plugins_used": plugins, "filters_used": FILTERS}):
        for relative in relatives:
            if deadline is not None and time.monotonic() > deadline:
                raise ScannerError("secrets scan timed out in detect-secrets")
            # Every report of every line: a SecretsCollection keeps one line per (type, value) and file, so two
            # GitHub tokens on two lines, both reported as `ghp`, would leave the second one unread.
            for secret in detect_secrets_scan.scan_file(str(root / relative)):
                if secret.secret_value:
                    reports.append((relative, secret.type, secret.line_number, secret.secret_value))
    classes = plugin_class_names()
    lines: dict[str, list[str]] = {}
    for relative, secret_type, number, reported in reports:
        mapped = DETECT_SECRETS_TYPES.get(secret_type) or typed(
            "SECRET-" + re.sub(r"[^A-Z0-9]+", "-", secret_type.upper()).strip("-"),
            secret_type,
            "HIGH",
            "A credential recognised by detect-secrets.",
        )
        if relative not in lines:
            text = read_text(root / relative)
            lines[relative] = split_lines(text) if text is not None else []
        plugin = classes.get(secret_type, "")
        line = lines[relative][number - 1] if 0 < number <= len(lines[relative]) else ""
        for whole in whole_values(plugin, reported, lines[relative], number):
            column = line.find(whole.raw) if whole.column == -1 else max(whole.column, -1)
            yield Hit(
                relative,
                number,
                mapped.rule,
                whole.value,
                mapped.specificity,
                plugin,
                raw=whole.raw if whole.raw != whole.value else "",
                column=column,
                legacy=reported if reported != whole.value else "",
            )


def contains_either(hit: Hit, other: Hit) -> bool:
    forms, others = {hit.value, hit.raw} - {""}, {other.value, other.raw} - {""}
    return any(a in b or b in a for a in forms for b in others)


class LineHits:
    """The hits kept on one line. Those placed on it (a column) overlap by position, found by bisection among
    the kept ones (disjoint by construction), so a minified line with thousands of tokens costs n log n, not n².
    A hit without a place (a YAML block scalar's value, read below its key) overlaps by containment."""

    def __init__(self) -> None:
        self.kept: list[Hit] = []
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.unplaced: list[Hit] = []

    def overlaps(self, hit: Hit) -> bool:
        if any(contains_either(hit, other) for other in self.unplaced):
            return True
        if hit.column < 0:
            return any(contains_either(hit, other) for other in self.kept)
        start, end = hit.column, hit.column + len(hit.raw or hit.value)
        at = bisect.bisect_right(self.starts, start)
        return (at > 0 and self.ends[at - 1] > start) or (at < len(self.starts) and self.starts[at] < end)

    def add(self, hit: Hit) -> None:
        self.kept.append(hit)
        if hit.column < 0:
            self.unplaced.append(hit)
            return
        at = bisect.bisect_right(self.starts, hit.column)
        self.starts.insert(at, hit.column)
        self.ends.insert(at, hit.column + len(hit.raw or hit.value))


def deduplicate(hits: list[Hit]) -> list[Hit]:
    """Per file and line, drop a hit that overlaps a more specific hit (ours before generic): the same
    characters of the line, or, for a value read off the line, the same value."""
    by_line: dict[tuple[str, int], LineHits] = {}
    for hit in sorted(hits, key=lambda h: (h.path, h.line, h.specificity, -len(h.value))):
        kept = by_line.setdefault((hit.path, hit.line), LineHits())
        if not kept.overlaps(hit):
            kept.add(hit)
    return [hit for kept in by_line.values() for hit in kept.kept]


def to_findings(hits: list[Hit], key: bytes) -> list[RawFinding]:
    findings, seen = [], set()
    for hit in sorted(hits, key=lambda h: (h.path, h.line, h.rule.id)):
        value_hash = secret_hash(key, hit.value)
        if (hit.path, hit.rule.id, value_hash) in seen:  # the same secret again in a file: one finding
            continue
        seen.add((hit.path, hit.rule.id, value_hash))
        preview = redacted_preview(hit.value)
        findings.append(
            RawFinding(
                hit.rule,
                hit.path,
                hit.line,
                message=f"{hit.rule.title}: a {len(hit.value)}-character value.",
                identity=value_hash,
                secret_hash=value_hash,
                preview=preview,
                previous_identity=secret_hash(key, hit.legacy) if hit.legacy else "",
            )
        )
    return findings


SCANNER = SecretsScanner()
