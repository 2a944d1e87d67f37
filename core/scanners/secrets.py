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
  turns them on with per-charset limits that random tokens do reach (`ENTROPY_LIMITS`: base64 4.5, hex 3.5; the
  former hex limit, 4.0, is the most a 16-symbol alphabet can reach, so it never fired), reported as MEDIUM
  (scanning.md §7). `IPPublicDetector` is off: an IP address is not a credential.
- detect-secrets' heuristic filters stay on (templated values, `$VAR`, indirect references, UUIDs, sequential
  strings, lock files), its indirect-reference one as our linear equivalent (`secret_filters.py`). Its inline
  `pragma: allowlist secret` is *not* honoured, and neither do our detectors honour it: suppression is a reviewed
  lifecycle decision in the console, not something any committer can do.
- Our legacy-PAT detector needs keyword context on the line; free-form passwords skip placeholders.
- One finding per value and line: when two detectors find overlapping values on a line, the more specific one
  (our typed detectors, our connection-string password, detect-secrets' typed plugins, JWT, basic auth,
  keywords, entropy)
  is kept. The same value twice in a file under one rule is one finding (its first line).

Speed (benchmarks/secrets_throughput.py): one multi-pattern pass per file (`multi_pattern.py`: Hyperscan, or `re`
without it, same findings) says which of our detectors and which detect-secrets plugins may match; only those run.
Files no plugin can report on are not handed to detect-secrets, and in those that are, each line (or window of a
long line, `units`) is analysed only by the plugins whose patterns may match it (`detect_secrets_file`):
detect-secrets spends ~1-2 ms per line and plugin call, and most lines of a candidate file need none. Nothing here
names a detector or plugin: the gates are built from `secret_catalog.DETECTORS` and detect-secrets' plugin classes,
whatever they are. No input makes the work super-linear: our filter replaces upstream's cubic one, detect-secrets'
regexes never see more than `WINDOW` characters at once, and Hyperscan is linear by construction (our own
detectors' patterns stay Python regexes, run only on files where they may match). `workers` (option
`secrets_workers`, default 1: the service runs `scan_concurrency` scans at once on its cores) deals the files to
processes; below `PARALLEL_MIN_FILES` one.

The walk skips `.git` and vendored/dependency directories, symbolic links, files above `MAX_FILE_BYTES` (each a LOW
`SECRET-FILE-NOT-SCANNED` finding, so the gap is visible), known binary extensions and files with a NUL byte in
their first 8 KiB (UTF-16 text with a BOM is decoded, not skipped). Generated and minified text is *not* skipped:
gitleaks skips nothing either, and a key compiled into a bundle is still a leaked key. It costs a linear pass like
any text (detect-secrets sees only the windows where a plugin may report), so nothing is lost to a content
heuristic. It runs in a worker thread and stops with `ScannerError` past `context.timeout_seconds`.
"""

from __future__ import annotations

import asyncio
import bisect
import functools
import logging
import os
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from detect_secrets.settings import transient_settings

from core.scanners import azure_detectors, secret_catalog
from core.scanners.azure_detectors import Detector, secret_rule
from core.scanners.multi_pattern import MultiPattern
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
# Shannon entropy per character is at most log2 of the alphabet (hex: 4.0, reached only by a string using all 16
# symbols equally) and of the length. Measured on random strings: hex of 32 characters has a median of 3.62
# (1st percentile 3.26), of 40 characters 3.70 (3.39); base64 of 32 characters 4.56 (4.23), of 40 characters
# 4.78 (4.47). So hex 3.5 fires on most random hex tokens of 32 characters and more, base64 4.5 (detect-secrets'
# own default) on most random base64 of 40 and more; English words, repeated and sequential strings stay below.
ENTROPY_LIMITS = {"Base64HighEntropyString": 4.5, "HexHighEntropyString": 3.5}
ENTROPY_PLUGINS = tuple({"name": name, "limit": limit} for name, limit in ENTROPY_LIMITS.items())
# detect-secrets' defaults minus the inline allowlist pragma (see the module docstring), and with its
# `is_indirect_reference` (cubic on runs of spaces) replaced by our linear equivalent (`secret_filters.py`).
FILTERS = [
    *(
        {"path": f"detect_secrets.filters.heuristic.{name}"}
        for name in (
            "is_sequential_string",
            "is_potential_uuid",
            "is_likely_id_string",
            "is_templated_secret",
            "is_prefixed_with_dollar_sign",
            "is_lock_file",
            "is_not_alphanumeric_string",
            "is_swagger_file",
        )
    ),
    {"path": "core.scanners.secret_filters.is_indirect_reference"},
]


def plugin_patterns(plugin: type) -> tuple[re.Pattern, ...] | None:
    """Patterns one of which a line must match for the plugin to report anything on it; None: not known (the
    plugin then runs on every line handed to detect-secrets). Regex plugins: their denylist. The keyword plugin:
    every regex of its per-file-type tables (a superset of the ones it picks for any one file). Entropy plugins:
    their quoted-string regex."""
    from detect_secrets.plugins import keyword
    from detect_secrets.plugins.high_entropy_strings import HighEntropyStringsPlugin

    if plugin.__name__ == "KeywordDetector":
        tables = [*keyword.REGEX_BY_FILETYPE.values(), keyword.QUOTES_REQUIRED_DENYLIST_REGEX_TO_GROUP]
        return tuple({regex: None for table in tables for regex in table})
    if issubclass(plugin, HighEntropyStringsPlugin):
        # The base class takes a charset and a limit; its concrete plugins (base64, hex) take no argument.
        return (plugin().regex,)  # pyright: ignore[reportCallIssue]
    denylist = getattr(plugin, "denylist", None)
    return tuple(denylist) if denylist else None


def plugin_classes(names) -> dict[str, type]:
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class

    return {p.__name__: p for p in get_mapping_from_secret_type_to_class().values() if p.__name__ in names}


@dataclass
class Gates:
    """The prefilter, built once per process (Hyperscan compiles in about a second) from whatever detectors
    and plugins exist: nothing here names one.
    - `file`: over a whole file, our detectors' patterns (entry i is `OUR_DETECTORS[i]`), then every enabled
      detect-secrets plugin's patterns made multi-line (the keyword plugin by its key names alone: its regexes
      are matched on lines its YAML/INI transformers may have rewritten, its names survive that; as before,
      only a value its YAML transformer decodes, `!!binary`, could pass unseen);
    - `line`: over one line (or window) detect-secrets would analyse, which of its plugins may report on it."""

    file: MultiPattern
    file_plugins: tuple[str, ...]  # the plugin of each `file` entry past our detectors
    line: MultiPattern
    line_plugins: tuple[str, ...]
    unknown: frozenset[str]  # plugins without known patterns: every line is theirs

    def our_detectors(self, possible: set[int]) -> list[Detector]:
        return [OUR_DETECTORS[i] for i in sorted(possible) if i < len(OUR_DETECTORS)]

    def file_plugin_names(self, possible: set[int]) -> set[str]:
        offset = len(OUR_DETECTORS)
        return {self.file_plugins[i - offset] for i in possible if i >= offset} | self.unknown

    def line_plugin_names(self, text: str) -> set[str]:
        return {self.line_plugins[i] for i in self.line.possible(text)} | self.unknown


GATES_LOCK = threading.Lock()  # concurrent first scans compile the gates once, not once each


def gates(entropy: bool, engine: str = "auto") -> Gates:
    with GATES_LOCK:
        return built_gates(entropy, engine)


@functools.cache
def built_gates(entropy: bool, engine: str) -> Gates:
    from detect_secrets.plugins.keyword import DENYLIST

    names = [plugin["name"] for plugin in enabled_plugins(entropy)]
    classes = plugin_classes(names)
    file_patterns: list[re.Pattern] = [detector.pattern for detector in OUR_DETECTORS]
    file_plugins: list[str] = []
    line_patterns: list[re.Pattern] = []
    line_plugins: list[str] = []
    unknown = set(names) - set(classes)
    for name, plugin in classes.items():
        patterns = plugin_patterns(plugin)
        if patterns is None:
            unknown.add(name)
            continue
        line_patterns += patterns
        line_plugins += [name] * len(patterns)
        if name == "KeywordDetector":
            patterns = (re.compile("|".join(DENYLIST), re.IGNORECASE),)
        file_patterns += [re.compile(p.pattern, p.flags | re.MULTILINE) for p in patterns]
        file_plugins += [name] * len(patterns)
    return Gates(
        MultiPattern(file_patterns, engine, confirmed=range(len(OUR_DETECTORS))),
        tuple(file_plugins),
        MultiPattern(line_patterns, engine),
        tuple(line_plugins),
        frozenset(unknown),
    )


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


# detect-secrets keeps its settings in a process-wide singleton that `transient_settings` swaps in and out:
# two scans in two threads would restore each other's settings mid-scan. Its work is serialized here.
DETECT_SECRETS_LOCK = threading.Lock()

# Complete or say so: a file the scanner does not read is a finding of its own, not a silent gap.
NOT_SCANNED = Rule(
    "SECRET-FILE-NOT-SCANNED",
    "File too large to scan for secrets",
    "LOW",
    "SECRET",
    f"Files above {MAX_FILE_BYTES // (1024 * 1024)} MiB are not read by the secrets scanner, so a credential in "
    "this one would go unreported.",
    "Keep generated bundles, data dumps and release artifacts out of the repository (a package feed, Git LFS or a "
    "build artifact); if the file must stay, review it for credentials.",
)

RULES: tuple[Rule, ...] = tuple(
    {
        rule.id: rule
        for rule in (
            NOT_SCANNED,
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
    # 4: the detectors of `secret_rules/` (provider, file and generic credentials), entropy limits that can fire,
    # the multi-pattern prefilter and windows of long lines, oversized files reported; a version-2 finding still carries over (its legacy
    # value is computed as before), a version-3 one keeps its identity (the whole value's hash is unchanged).
    version = "4"
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
            workers=max(1, int(context.options.get("secrets_workers", 1))),
        )


def candidate_files(root: Path, oversized: list[tuple[str, int]] | None = None) -> Iterator[Path]:
    """Regular files under root, in a stable order, without skipped directories, links or oversized files (those
    are added to `oversized`, with their size)."""
    for directory, subdirectories, names in os.walk(root):
        subdirectories[:] = sorted(d for d in subdirectories if d not in SKIP_DIRECTORIES)
        for name in sorted(names):
            path = Path(directory, name)
            if path.suffix.lower() in BINARY_SUFFIXES or path.is_symlink():
                continue
            try:
                if not path.is_file():
                    continue
                size = path.stat().st_size
                if size <= MAX_FILE_BYTES:
                    yield path
                elif oversized is not None:
                    oversized.append((path.relative_to(root).as_posix(), size))
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


@dataclass
class Stats:
    """What a scan read and what it handed to detect-secrets (the work its tests bound, rather than the clock)."""

    files: int = 0  # files read as text
    bytes: int = 0
    detect_secrets_files: int = 0  # files detect-secrets read
    units: int = 0  # lines or windows of long lines analysed by detect-secrets
    unit_chars: int = 0
    longest_unit: int = 0
    plugin_calls: int = 0  # plugin x unit analyses


def scan_tree(
    root: Path,
    key: bytes,
    *,
    entropy: bool = False,
    deadline: float | None = None,
    stats: Stats | None = None,
    engine: str = "auto",
    workers: int = 1,
) -> list[RawFinding]:
    """`engine`: the prefilter's (`auto`: Hyperscan when installed; `re`: the pure-Python fallback). `workers`:
    processes scanning disjoint shares of the files (1: this thread alone)."""
    oversized: list[tuple[str, int]] = []
    relatives = [path.relative_to(root).as_posix() for path in candidate_files(root, oversized)]
    stats = Stats() if stats is None else stats
    if workers > 1 and len(relatives) >= PARALLEL_MIN_FILES:
        hits = scan_in_processes(root, relatives, entropy, deadline, stats, engine, workers)
    else:
        hits = scan_files(root, relatives, entropy, deadline, stats, engine)
    return to_findings(deduplicate(hits), key) + [
        RawFinding(
            NOT_SCANNED,
            relative,
            message=f"Not scanned for secrets: {size / (1024 * 1024):.1f} MiB, above the "
            f"{MAX_FILE_BYTES // (1024 * 1024)} MiB limit.",
            identity="not-scanned:too-large",
        )
        for relative, size in oversized
    ]


# Below this many files a second process costs more than it saves (each worker starts, imports detect-secrets and
# compiles the prefilter: about 2 s).
PARALLEL_MIN_FILES = 200


def scan_share(root: Path, relatives: list[str], entropy: bool, deadline: float | None, engine: str):
    """One worker's share (in its own process: detect-secrets' settings and lock are per process)."""
    stats = Stats()
    return scan_files(root, relatives, entropy, deadline, stats, engine), stats


def scan_in_processes(
    root: Path,
    relatives: list[str],
    entropy: bool,
    deadline: float | None,
    stats: Stats,
    engine: str,
    workers: int,
) -> list[Hit]:
    """The files dealt round-robin (large and small files mix) to `workers` fresh processes ("forkserver": never a
    fork of a threaded server). Hits are per file, so the union is what one process finds; a worker's
    ScannerError (its share timed out) is the scan's."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    shares = [relatives[n::workers] for n in range(workers)]
    hits: list[Hit] = []
    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = [
            pool.submit(scan_share, root, share, entropy, deadline, engine) for share in shares if share
        ]
        for future in futures:
            try:
                share_hits, share_stats = future.result()
            except BrokenProcessPool as error:
                raise ScannerError("a secrets worker process ended before its share was scanned") from error
            hits += share_hits
            for name, value in vars(share_stats).items():
                merged = max if name == "longest_unit" else (lambda a, b: a + b)
                setattr(stats, name, merged(getattr(stats, name), value))
    return hits


def scan_files(
    root: Path,
    relatives: list[str],
    entropy: bool,
    deadline: float | None,
    stats: Stats,
    engine: str = "auto",
) -> list[Hit]:
    """Our detectors on every file, detect-secrets on the files where one of its plugins may report."""
    hits: list[Hit] = []
    candidates: list[str] = []  # files detect-secrets could find something in
    gate = gates(entropy, engine)
    for relative in relatives:
        if deadline is not None and time.monotonic() > deadline:
            raise ScannerError(f"secrets scan timed out after {stats.files} files")
        text = read_text(root / relative)
        if text is None:
            continue
        stats.files += 1
        stats.bytes += len(text)
        possible = gate.file.possible(text)
        if entropy or gate.file_plugin_names(possible):
            candidates.append(relative)
        hits.extend(our_hits(relative, text, detectors=gate.our_detectors(possible)))
    hits.extend(detect_secrets_hits(root, candidates, entropy, deadline, stats=stats, engine=engine))
    return hits


def our_hits(
    relative: str, text: str, lowered: str | None = None, detectors: list[Detector] | None = None
) -> Iterator[Hit]:
    """Our detectors' hits in `text`: those the prefilter says may match (`detectors`), or all of them."""
    lowered = text.lower() if lowered is None else lowered
    line_starts: list[int] | None = None
    for detector in (
        gates(False).our_detectors(gates(False).file.possible(text)) if detectors is None else detectors
    ):
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


# Lines up to LONG_LINE characters go to detect-secrets whole; a longer one (minified code, a one-line JSON
# bundle, a markdown table row) in windows of WINDOW characters overlapping by OVERLAP, and only the windows where
# one of its plugins may report. Its Python regexes then never see more than WINDOW characters at once, so their
# worst case is bounded per window and the work is linear in the line. A detect-secrets match longer than OVERLAP
# across a window edge would be missed; our detectors and the whole-value re-read see the whole line.
LONG_LINE = 4096
WINDOW = 2048
OVERLAP = 512


def units(line: str) -> Iterator[str]:
    if len(line) <= LONG_LINE:
        yield line
        return
    for start in range(0, len(line) - OVERLAP, WINDOW - OVERLAP):
        yield line[start : start + WINDOW]


def detect_secrets_file(filename: str, gate: Gates, stats: Stats) -> list:
    """detect-secrets' `scan_file`, but each line (or window) analysed only by the plugins whose patterns may
    match it. Same reader and transformers, same filters, same code snippets, same two passes (the eager
    transformers only when the first found nothing): lines no plugin can report on are not analysed at all,
    which is where its ~1-2 ms per line went."""
    from detect_secrets.core.scan import _get_lines_from_file, _is_filtered_out, _scan_line
    from detect_secrets.settings import get_plugins
    from detect_secrets.util.code_snippet import get_code_snippet

    plugins = get_plugins()
    if _is_filtered_out(required_filter_parameters=["filename"], filename=filename):
        return []
    stats.detect_secrets_files += 1
    found: list = []
    try:
        for lines in _get_lines_from_file(filename):
            for number, raw in enumerate(lines, start=1):
                for unit in units(raw.rstrip()):
                    names = gate.line_plugin_names(unit)
                    selected = [p for p in plugins if type(p).__name__ in names]
                    if not selected:
                        continue
                    stats.units += 1
                    stats.unit_chars += len(unit)
                    stats.longest_unit = max(stats.longest_unit, len(unit))
                    context = get_code_snippet(lines=lines, line_number=number)
                    if _is_filtered_out(
                        required_filter_parameters=["line"], filename=filename, line=unit, context=context
                    ):
                        continue
                    for plugin in selected:
                        stats.plugin_calls += 1
                        found += [
                            secret
                            for secret in _scan_line(
                                plugin=plugin,
                                filename=filename,
                                line=unit,
                                line_number=number,
                                context=context,
                            )
                            if not _is_filtered_out(
                                required_filter_parameters=["context"],
                                filename=secret.filename,
                                secret=secret.secret_value,
                                plugin=plugin,
                                line=unit,
                                context=context,
                            )
                        ]
            if found:
                break
    except OSError:
        return found
    return found


def detect_secrets_hits(
    root: Path,
    relatives: list[str],
    entropy: bool,
    deadline: float | None,
    plugins: list[dict] | None = None,
    stats: Stats | None = None,
    engine: str = "auto",
) -> Iterator[Hit]:
    """detect-secrets' reports, each re-read as the whole credential(s) on its line (`whole_values`)."""
    plugins = enabled_plugins(entropy) if plugins is None else plugins
    stats = Stats() if stats is None else stats
    gate = gates(entropy or any(p["name"] in ENTROPY_LIMITS for p in plugins), engine)
    reports: list[tuple[str, str, int, str]] = []
    with DETECT_SECRETS_LOCK, transient_settings({"plugins_used": plugins, "filters_used": FILTERS}):
        for relative in relatives:
            if deadline is not None and time.monotonic() > deadline:
                raise ScannerError("secrets scan timed out in detect-secrets")
            # Every report of every line: a SecretsCollection keeps one line per (type, value) and file, so two
            # GitHub tokens on two lines, both reported as `ghp`, would leave the second one unread.
            for secret in detect_secrets_file(str(root / relative), gate, stats):
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
