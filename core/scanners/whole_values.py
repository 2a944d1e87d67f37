"""The whole credential behind each detect-secrets report, re-read at our boundary.

detect-secrets reports, for a regex plugin, what its pattern matched or, when the pattern has capturing groups,
every non-empty group. Its GitHub pattern `(ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9_]{36}` therefore reports `ghp`: every
GitHub token had one keyed hash and the preview `ghp… (3 chars)`, so distinct tokens merged wherever findings are
keyed by their secret. A finding's value must be the credential as it would be used, so each report of an enabled
plugin goes through this module's table, keyed by plugin class, before it becomes a finding. detect-secrets
itself is not changed: its plugins and filters still decide *that* a line holds a secret; this decides *what*.

Audit of detect-secrets 1.5's plugins (what a report holds -> what the finding's value is):

| Plugin | Reported | Value |
|---|---|---|
| AWSKeyDetector | the key id (whole match); the secret key (its group: the 40 characters) | as reported |
| ArtifactoryDetector | the token with the delimiter matched on each side (`"AKC…"`, `=AKC…`) | the token |
| AzureStorageKeyDetector | `AccountKey=` and the key | the key |
| BasicAuthDetector | the password of `scheme://user:password@` (its group) | as reported |
| CloudantDetector, IbmCloudIamDetector, IbmCosHmacDetector, SoftlayerDetector | their group: the key | as reported |
| DiscordBotTokenDetector | whole match, last part cut at 27 characters (current tokens have 38) | the whole token |
| GitHubTokenDetector | group 1: the prefix `ghp`, `gho`, ... | the whole token |
| GitLabTokenDetector | group 1 of `glpat-…`: the prefix; of `glcbt-…`: `64_` or nothing, then filtered out | the whole token (`glcbt` tokens are found by `secrets.RECOVERED`) |
| JwtTokenDetector | `header.payload.` (its last part is lazy, so it matches nothing: no signature) | the whole token |
| KeywordDetector | the assigned value; an unquoted one keeps an inline `# comment` and a trailing `;` | the value without them |
| MailchimpDetector, PypiTokenDetector, SendGridDetector, SquareOAuthDetector, TwilioKeyDetector | whole match | as reported |
| SlackDetector | whole match, but a rotating token's `xoxe.` prefix is outside it (`xoxe.xoxp-1-…`) | the whole token |
| NpmDetector | `npm_` and the rest of the line (`.+`) | the token |
| OpenAIDetector | 20 characters after the `T3BlbkFJ` marker (project keys have more) | the whole key |
| PrivateKeyDetector | the header words, `BEGIN RSA PRIVATE KEY` | the whole block, header to footer |
| StripeDetector | `sk_live_` and 24 characters (current keys have 99) | the whole key |
| TelegramBotTokenDetector | the last 8-10 digits of the bot id and 35 characters | the whole token |
| Base64HighEntropyString, HexHighEntropyString | the quoted literal | as reported |

A plugin enabled in `secrets.py` without a row here is reported as is; the table-driven test
(tests/core/scanners/test_secret_values.py) fails for it until it has a row and a sample.

Extensions walk over the token's own alphabet in Python, from the plugin's match (linear, whatever the line).
detect-secrets' YAML transformer reports a block scalar (`key: |`) on the key's line: when the reported line
holds no match, the more-indented lines below it are read. A finding keeps detect-secrets' line.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache

Lines = Sequence[str]


@dataclass(frozen=True)
class Whole:
    value: str  # the whole credential
    raw: str  # as written on the line (an escaped key, a quoted token), for overlaps with other detectors
    # Where `raw` starts on the reported line: -1 when not known here (the caller looks it up), -2 when it is on a
    # line below (a YAML block scalar), so it has no place on the reported line.
    column: int = -1


# (reported value, the file's lines, detect-secrets' 1-based line number) -> the whole values
Reread = Callable[[str, Lines, int], list[Whole]]

NEWLINES = re.compile(r"\r\n|\r|\n")


def split_lines(text: str) -> list[str]:
    """The file's lines as detect-secrets numbers them (it reads in text mode: universal newlines)."""
    return NEWLINES.split(text)


def as_reported(reported: str, lines: Lines, number: int) -> list[Whole]:
    return [Whole(reported, reported)]


def trimmed(trim: Callable[[str], str]) -> Reread:
    def reread(reported: str, lines: Lines, number: int) -> list[Whole]:
        value = trim(reported)
        return [Whole(value, value)] if value else []

    return reread


def block_window(lines: Lines, number: int, limit: int = 400):
    """The reported line, then (for a YAML block scalar reported on its key) the more-indented lines below it."""
    if not 0 < number <= len(lines):
        return
    first = lines[number - 1]
    yield first
    indent = len(first) - len(first.lstrip())
    for line in lines[number : number + limit]:
        if line.strip() and len(line) - len(line.lstrip()) <= indent:
            return
        yield line


def occurrences(line: str, reported: str) -> list[int]:
    """Where the reported value starts on the line, in order."""
    found, start = [], line.find(reported)
    while reported and start >= 0:
        found.append(start)
        start = line.find(reported, start + 1)
    return found


def extended(
    plugin: str,
    left: str = "",
    right: str = "",
    tidy: Callable[[str], str] = lambda v: v,
    prefix: str = "",
) -> Reread:
    """The plugin's own matches on the line, widened over `left`/`right` characters (and a `prefix` written right
    before the match): a token is the whole run of its alphabet, not the length a pattern stops at. Only matches
    over a reported value count (when the reported value is on the line; a transformed YAML line may not be)."""
    left_chars, right_chars = frozenset(left), frozenset(right)

    def reread(reported: str, lines: Lines, number: int) -> list[Whole]:
        patterns = plugin_patterns(plugin)
        for offset, line in enumerate(block_window(lines, number)):
            spans = set()
            for pattern in patterns:
                for match in pattern.finditer(line):
                    start, end = match.span()
                    while start > 0 and line[start - 1] in left_chars:
                        start -= 1
                    if prefix and line.endswith(prefix, 0, start):
                        start -= len(prefix)
                    while end < len(line) and line[end] in right_chars:
                        end += 1
                    spans.add((start, end))
            starts = occurrences(line, reported)
            if starts:  # the occurrence starting last before a span's end is the one that can overlap it
                spans = {
                    s
                    for s in spans
                    if (i := bisect_left(starts, s[1]) - 1) >= 0 and starts[i] + len(reported) > s[0]
                }
            kept: list[tuple[int, int]] = []
            for start, end in sorted(spans, key=lambda s: (s[0], -s[1])):
                if not kept or end > kept[-1][1]:  # drop a span inside the previous one
                    kept.append((start, end))
            if kept:
                return [
                    Whole(tidy(line[start:end]), line[start:end], start if offset == 0 else -2)
                    for start, end in kept
                ]
        # detect-secrets found it but its pattern does not match the text as we read it (a line its YAML
        # transformer rewrote): keep what it reported rather than lose the finding.
        return as_reported(reported, lines, number)

    return reread


@cache
def plugin_patterns(name: str) -> tuple[re.Pattern, ...]:
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class

    for plugin in get_mapping_from_secret_type_to_class().values():
        if plugin.__name__ == name:
            return tuple(getattr(plugin, "denylist", None) or ())
    return ()


def jwt_tidy(token: str) -> str:
    """A signed token followed by a full stop: the stop is prose, not a fourth part."""
    parts = token.split(".")
    while len(parts) > 3 and parts[-1] == "":
        parts.pop()
    return ".".join(parts)


INLINE_COMMENT = re.compile(r"\s+#.*$")


def keyword_value(reported: str, lines: Lines, number: int) -> list[Whole]:
    """An unquoted value ends before an inline comment and a statement's `;` (`.env`, shell, YAML, INI)."""
    line = lines[number - 1] if 0 < number <= len(lines) else ""
    at = line.find(reported)
    value = reported
    if at >= 0 and not (at > 0 and line[at - 1] in "'\"`"):
        value = INLINE_COMMENT.sub("", value).rstrip()
        value = value[:-1].rstrip() if value.endswith(";") else value
    return [Whole(value, reported)] if value else []


NPM_TOKEN = re.compile(r"npm_[A-Za-z0-9]+")


def npm_token(reported: str) -> str:
    if not reported.startswith("npm_"):
        return reported.strip()
    match = NPM_TOKEN.match(reported)
    return match.group(0) if match else ""  # `npm_${NPM_TOKEN}`: a template, not a token


# --- private keys ---------------------------------------------------------------------------------------------

PEM_BEGIN = re.compile(r"-{4,5} ?BEGIN ([A-Z0-9]+(?: [A-Z0-9]+)*) ?-{4,5}")
PUTTY_BEGIN = re.compile(r"PuTTY-User-Key-File-\d+:")
PUTTY_END = re.compile(r"^\s*Private-(?:MAC|Hash):")
ESCAPED_NEWLINE = re.compile(r"\\r\\n|\\n|\\r")
BODY_LINE = re.compile(r"^[A-Za-z0-9+/=]+$|^[A-Za-z-]+: ")
KEY_MATERIAL = re.compile(r"[A-Za-z0-9+/]")
MIN_KEY_MATERIAL = 16  # base64 characters between header and footer; `...` in documentation has none
MAX_KEY_LINES = 400


def clean(part: str) -> str:
    """A body line without what embeds it: indentation, quotes, an escaped newline, a continuation, a comma."""
    part = part.strip().strip("\"'")
    part = ESCAPED_NEWLINE.sub("", part).rstrip("\\,").strip().strip("\"'")
    return part


def footer_pattern(label: str) -> re.Pattern:
    return re.compile(rf"-{{4,5}} ?END {re.escape(label)} ?-{{4,5}}")


def pem_block(lines: Lines, index: int, begin: re.Match) -> Whole | None:
    line, header = lines[index], begin.group(0)
    footer = footer_pattern(begin.group(1))
    rest = line[begin.end() :]
    end = footer.search(rest)
    if end:  # one line: JSON or an .env with `\n` escapes, or a key flattened with spaces
        raw = line[begin.start() : begin.end() + end.end()]
        parts = [clean(p) for p in ESCAPED_NEWLINE.split(rest[: end.start()])]
        body, closing = [p for p in parts if p], end.group(0)
    else:
        raw = line[begin.start() :].strip()
        closing = None
        body = [clean(rest)]
        for following in lines[index + 1 : index + 1 + MAX_KEY_LINES]:
            end = footer.search(following)
            if end:
                before = clean(following[: end.start()])
                body += [before] if before else []
                closing = end.group(0)
                break
            body.append(clean(following))
        if closing is None:  # no footer: the body is the key-looking lines right after the header
            body = []
            for following in lines[index + 1 : index + 1 + MAX_KEY_LINES]:
                part = clean(following)
                if not BODY_LINE.match(part):
                    break
                body.append(part)
            closing = ""
        body = [p for p in body if p]
    if sum(len(KEY_MATERIAL.findall(p)) for p in body if not p.startswith(("Proc-Type:", "DEK-Info:"))) < (
        MIN_KEY_MATERIAL
    ):
        return None
    value = "\n".join([header, *body, *([closing] if closing else [])])
    return Whole(value, raw, begin.start())


def putty_block(lines: Lines, index: int, begin: re.Match) -> Whole | None:
    block = [lines[index][begin.start() :].strip()]
    for following in lines[index + 1 : index + 1 + MAX_KEY_LINES]:
        if not following.strip() and not PUTTY_END.match(block[-1]):
            break
        block.append(following.strip())
        if PUTTY_END.match(following):
            break
    body = block[1:]
    if sum(len(KEY_MATERIAL.findall(p)) for p in body if not p.startswith(("Encryption:", "Comment:"))) < (
        MIN_KEY_MATERIAL
    ):
        return None
    return Whole("\n".join(block), block[0], begin.start())


def private_key(reported: str, lines: Lines, number: int) -> list[Whole]:
    """Every key that starts on the reported line (or, for a YAML block scalar, in the lines it introduces)."""
    if not 0 < number <= len(lines):
        return []
    last = number - 1
    first = lines[last]
    indent = len(first) - len(first.lstrip())
    for index in range(last, min(len(lines), last + MAX_KEY_LINES)):
        line = lines[index]
        if index > last and line.strip() and len(line) - len(line.lstrip()) <= indent:
            break
        found = [pem_block(lines, index, m) for m in PEM_BEGIN.finditer(line)]
        found += [putty_block(lines, index, m) for m in PUTTY_BEGIN.finditer(line)]
        if found:
            return [
                whole if index == last else Whole(whole.value, whole.raw, -2)
                for whole in found
                if whole is not None
            ]
    return []


def strip_delimiters(reported: str) -> str:
    return reported.strip(" \t=:\"'")


def drop_prefix(prefix: str) -> Callable[[str], str]:
    return lambda reported: reported.removeprefix(prefix)


ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
URLSAFE = ALNUM + "_-"

WHOLE_VALUES: dict[str, Reread] = {
    "AWSKeyDetector": as_reported,
    "ArtifactoryDetector": trimmed(strip_delimiters),
    "AzureStorageKeyDetector": trimmed(drop_prefix("AccountKey=")),
    "BasicAuthDetector": as_reported,
    "CloudantDetector": as_reported,
    "DiscordBotTokenDetector": extended("DiscordBotTokenDetector", left=URLSAFE, right=URLSAFE),
    "GitHubTokenDetector": extended("GitHubTokenDetector", left=ALNUM + "_", right=ALNUM + "_"),
    "GitLabTokenDetector": extended("GitLabTokenDetector", right=URLSAFE),
    "IbmCloudIamDetector": as_reported,
    "IbmCosHmacDetector": as_reported,
    "JwtTokenDetector": extended("JwtTokenDetector", right=URLSAFE + "=+/.", tidy=jwt_tidy),
    "KeywordDetector": keyword_value,
    "MailchimpDetector": as_reported,
    "NpmDetector": trimmed(npm_token),
    "OpenAIDetector": extended("OpenAIDetector", right=URLSAFE),
    "PrivateKeyDetector": private_key,
    "PypiTokenDetector": as_reported,
    "SendGridDetector": as_reported,
    "SlackDetector": extended("SlackDetector", prefix="xoxe."),
    "SoftlayerDetector": as_reported,
    "SquareOAuthDetector": as_reported,
    "StripeDetector": extended("StripeDetector", right=ALNUM),
    "TelegramBotTokenDetector": extended("TelegramBotTokenDetector", left="0123456789", right=URLSAFE),
    "TwilioKeyDetector": as_reported,
    "Base64HighEntropyString": as_reported,
    "HexHighEntropyString": as_reported,
}


def whole_values(plugin: str, reported: str, lines: Lines, number: int) -> list[Whole]:
    return WHOLE_VALUES.get(plugin, as_reported)(reported, lines, number)
