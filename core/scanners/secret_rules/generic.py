"""A literal credential assigned to a credential-named key, in any of the syntaxes configuration and code use:
`KEY=value` (.env, shell `export`, INI, Java properties), `key: value` (YAML, JSON, JS objects), `key => value`
(PHP, Ruby), `key := value` (Go), `$key = '…'`, `['key'] = '…'`, XML attributes (`password="…"`), elements
(`<password>…</password>`, Maven `settings.xml`) and .NET `<add key="…Password" value="…"/>`.

The name decides that a value *could* be a credential (`base.credential_name`: `DB_PASSWORD`, `apiKey`,
`oauth_token`, not `token_url`, `secretName`, `author`); the value's shape decides that it is one
(`base.credential_shaped`: not a word, number, path, URL, reference, template or placeholder, and random enough).
MEDIUM, and the least specific of our detectors (45): a typed detector, detect-secrets' typed plugins and its
keyword plugin (40) keep the same value when they find it too.
"""

from __future__ import annotations

import re

from core.scanners.azure_detectors import Detector
from core.scanners.secret_rules.base import (
    Judged,
    credential_name,
    credential_shaped,
    name_before,
    secret_rule,
)

GENERIC = secret_rule(
    "SECRET-GENERIC-CREDENTIAL",
    "Credential assigned to a credential-named key",
    "MEDIUM",
    "A literal, random-looking value assigned to a name such as password, secret, token or api_key is most "
    "likely that credential; anyone who can read the repository can use it.",
    "https://cwe.mitre.org/data/definitions/798.html",
)

# The credential word starts the match (so the regex engine scans for it rather than trying a name at every
# position); the rest of the name is read backward by the judge. Every repetition is bounded.
ASSIGNMENT = re.compile(
    # The lookahead of two letters lets `re` skip positions in C: 3.6x faster on source code than without.
    r"(?=[PpSsTtKkAaCc][AaWwEeOoUuRr])(?i:pass|pwd|secret|token|key|auth|credential|creds)"
    r"(?P<tail>[A-Za-z0-9_.-]{0,40})"
    r"[\"'`]?\]?"  # a quoted key (JSON, YAML, PHP arrays) or an index: ['password']
    r"[ \t]{0,8}(?:=>|:=|\?=|=(?![=~])|:(?![:/]))[ \t]{0,8}"
    r"(?P<q>[\"'`])?"
    r"(?P<secret>(?(q)(?:(?!(?P=q))[^\n\\]|\\[^\n]){1,256}|[^\s\"'`,;<>]{1,256}))"
    r"(?(q)(?P=q))"
)
ELEMENT = re.compile(r"<(?P<name>[A-Za-z_][\w.:-]*)>(?P<secret>[^<>\s]+)</(?P=name)>")
APP_SETTING = re.compile(
    r"<add[ \t]+key[ \t]*=[ \t]*\"(?P<name>[^\"\n]+)\"[ \t]+value[ \t]*=[ \t]*\"(?P<secret>[^\"\n]+)\""
)
HINTS = ("pass", "pwd", "secret", "token", "key", "auth", "credential", "creds")


# What may follow an unquoted value on its line: nothing, a comment, a delimiter. Anything else is prose or code
# (`:param token: OAuth2 token.`, `password: bytes) -> None`).
UNQUOTED_END = re.compile(r"[ \t]*(?:$|\r|#|//|;|,|&|\)|\]|\})")


# After a quoted value: a concatenation or formatting makes it a fragment (`"dop_v1_" + suffix`, `"%s" % x`).
FRAGMENT = re.compile(r"[ \t]*(?:\+|%[ \t(]|\.[A-Za-z_])")


def assignment(match: re.Match) -> bool:
    text, start = match.string, match.start()
    name = name_before(text, start) + text[start : match.end("tail")]
    quoted = match.group("q") is not None
    if not quoted and not UNQUOTED_END.match(text, match.end()):
        return False
    if quoted and FRAGMENT.match(text, match.end()):
        return False
    return credential_name(name) and credential_shaped(match.group("secret"), quoted)


def named(match: re.Match) -> bool:
    name = match.group("name").rpartition(":")[2]  # an XML namespace prefix is not part of the name
    return credential_name(name) and credential_shaped(match.group("secret"), True)


DETECTORS: tuple[Detector, ...] = (
    Judged("generic-assignment", GENERIC, ASSIGNMENT, hints=HINTS, specificity=45, judge=assignment),
    Judged("generic-xml-element", GENERIC, ELEMENT, hints=HINTS, specificity=45, judge=named),
    Judged("generic-app-setting", GENERIC, APP_SETTING, hints=("<add",), specificity=45, judge=named),
)
