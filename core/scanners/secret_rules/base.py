"""What every rule module here shares: the rule constructor, a detector that judges its whole match, and the
shapes of credential values (entropy, placeholders, references, credential-like names).

A `Judged` detector is a plain `Detector` (azure_detectors.py) whose `span` asks `judge(match)` first: a match the
judge refuses (a name that is not a credential's, a placeholder, a reference) has an empty span, hence an empty
value, which `accepts` refuses. So the secrets scanner needs nothing beyond the `Detector` interface: `value`,
`span`, `accepts`, `hints`, `context`, `specificity`.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from core.scanners.azure_detectors import REMEDIATION, Detector, looks_like_placeholder
from core.scans.scanner import Rule


def secret_rule(
    rule_id: str, title: str, severity: str, why: str, source: str, remediation: str = REMEDIATION
) -> Rule:
    """A rule of ours: `source` is where the credential's format is documented (its help_uri)."""
    return Rule(rule_id, title, severity, "SECRET", why, remediation, source)


def peer_rule(rule_id: str, title: str, severity: str, why: str) -> Rule:
    """A rule detect-secrets already reports (`secrets.DETECT_SECRETS_TYPES`), built with the same fields so that
    our detector and its plugin finding the same value are one finding under one rule (a test holds them equal)."""
    return Rule(rule_id, title, severity, "SECRET", why, REMEDIATION, "")


SAAS = "It grants API access to a third-party service in the owner's name until it is revoked."


@dataclass(frozen=True)
class Judged(Detector):
    judge: Callable[[re.Match], bool] | None = None  # the whole match, groups and all: is this a credential?

    def span(self, text: str, match: re.Match) -> tuple[int, int]:
        if self.judge is not None and not self.judge(match):
            return match.start(), match.start()  # no value: refused
        return match.span("secret")

    def accepts(self, value: str) -> bool:
        return bool(value) and super().accepts(value)


# --- shapes of values -----------------------------------------------------------------------------------------


def shannon(value: str) -> float:
    counts, n = Counter(value), len(value)
    return -sum(c / n * math.log2(c / n) for c in counts.values()) if n else 0.0


def classes(value: str) -> int:
    """How many of lower case, upper case, digits and other characters the value uses."""
    return sum(
        (
            any(c.islower() for c in value),
            any(c.isupper() for c in value),
            any(c.isdigit() for c in value),
            any(not c.isalnum() for c in value),
        )
    )


# Templating and secret-store references, in any language or tool: `${VAR}`, `$(var)`, `{{ var }}`, `%(x)s`,
# `%VAR%`, `<%= %>`, `#{x}`, `@Value`, Ansible `!vault`, SOPS `ENC[`, AWS/Azure/Vault references.
TEMPLATED = re.compile(
    r"\$\{|\$\(|\{\{|\}\}|%\(|%\{|<%|#\{|^\$[A-Za-z_]|^%[A-Za-z_][\w]*%$|^@|^!|ENC\[|ENC\(|"
    r"(?i:arn:aws|secretsmanager|keyvault|vault:|ssm:|sops:|ref\+|secretref|valuefrom)"
)
# Values people write where a credential goes in documentation, samples and test fixtures.
DUMMY = re.compile(
    r"(?i)example|sample|placeholder|dummy|fake|mock|test|changeme|change_me|changeit|replace|insert|"
    r"your[_-]|yourpass|\bfoo|foobar|xxx|\*\*\*|\.\.\.|redacted|hidden|masked|secret|passw|token|"
    r"api_?key|qwerty|12345|abcdef|lorem|todo|fixme|none|null|undefined|required|optional|here\b|tiger"
)
PATH_START = re.compile(r"^(?:/|\./|\.\./|~/|[A-Za-z]:\\|file:)")
PATH_END = re.compile(
    r"\.(?:txt|json|ya?ml|pem|key|crt|cer|p12|pfx|jks|env|ini|cfg|conf|properties|xml|sh|ps1|py|js|ts)$",
    re.IGNORECASE,
)


def is_path(value: str) -> bool:
    """`/etc/ssl/key.pem`, `./secrets`, `C:\\keys\\app`: a file name, or a path start with two separators or words
    (a base64 key may start with `/` too)."""
    if PATH_END.search(value):
        return True
    return bool(PATH_START.match(value)) and (value.count("/") + value.count("\\") >= 2 or wordy(value))


REFERENCE = re.compile(r"^[A-Za-z_$][\w$]*(?:(?:\.|->|::)[A-Za-z_$][\w$]*)*(?:\(|\[|\.|->)")
NUMBERISH = re.compile(r"^[\d.:,_+-]+$|^\d{4}-\d{2}-\d{2}|^0x[0-9a-fA-F]+$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
SEPARATORS = re.compile(r"[-_.]")
# Colours, URNs, doc cross-references (`~pkg.Class`), CONSTANT_NAMES, type names: never credentials.
NOT_LITERAL = re.compile(
    r"^#[0-9a-fA-F]{3,8}$|^urn:|^~|^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$"
    r"|^(?i:string|boolean|number|bytes|object|integer|bool|str|int|any)\??$"  # a schema's or signature's type
)
CODE = frozenset("(){}[]\\")  # in an unquoted value: an expression, a call, an index, a block
WORDS = re.compile(r"[A-Z][a-z]{2,}|[a-z]{4,}|[A-Z]{4,}(?![a-z])")
CONSONANTS = re.compile(r"[^aeiouy]{4}")
MAX_WORDY = 0.7  # share of a value made of words of 4+ letters: "requires_oAuth2_configuration" 0.86


def pronounceable(word: str) -> bool:
    """A run of letters that reads like a word: a fifth to three quarters vowels, no four consonants in a row
    (most random runs fail: a random letter is a vowel 6 times in 26)."""
    lowered = word.lower()
    vowels = sum(1 for c in lowered if c in "aeiouy") / len(lowered)
    return 0.2 <= vowels <= 0.75 and not CONSONANTS.search(lowered)


def wordy(value: str) -> bool:
    """Made mostly of words (identifiers, type names, prose), which random credentials are not."""
    words = sum(len(w) for w in WORDS.findall(value) if pronounceable(w))
    return words >= MAX_WORDY * len(value)


def is_dummy(value: str) -> bool:
    return bool(TEMPLATED.search(value) or DUMMY.search(value)) or looks_like_placeholder(value)


def peer_placeholder(value: str) -> bool:
    """A value detect-secrets' keyword or basic-auth plugin reports that our rules would refuse (a placeholder, a
    template, prose): what `secrets.py` could drop from those plugins' reports (`user:password@`, `"Mot de
    passe"`), as our own detectors never report it."""
    return is_dummy(value) or any(c.isspace() for c in value)


def password_shaped(value: str, user: str = "") -> bool:
    """A chosen password in a structural place (`.netrc`, `.pgpass`, a URL, `curl -u`, a PHP define): anything
    at least 4 characters long that is not a placeholder, a template or the user name again."""
    return len(value) >= 4 and not is_dummy(value) and value.lower() != user.lower()


def credential_shaped(value: str, quoted: bool) -> bool:
    """A literal that looks like a credential, not a word, a number, a path, a URL, a reference, an expression or
    a placeholder: at least two kinds of characters with a letter among them, an entropy near the value's
    maximum, not mostly words (letters alone only when long and random)."""
    if not 6 <= len(value) <= 256 or any(c.isspace() for c in value) or value.startswith("--"):
        return False
    if is_dummy(value) or is_path(value) or NUMBERISH.search(value) or EMAIL.match(value):
        return False
    if "://" in value or NOT_LITERAL.search(value) or wordy(value):
        return False
    if not quoted and (REFERENCE.match(value) or CODE & set(value) or value.endswith(":")):
        return False
    if quoted and REFERENCE.match(value) and {"[", "("} & set(value):  # "Jobs[-1].JobId", "env('X')"
        return False
    entropy, bare = shannon(value), SEPARATORS.sub("", value)
    if bare.isalpha():  # letters only: random mixed case from 12 characters, one case from 20
        return len(value) >= (12 if classes(bare) >= 2 else 20) and entropy >= 3.3
    if not any(c.isalpha() for c in value):
        return False
    return classes(value) >= 2 and entropy >= min(3.0, 0.8 * math.log2(len(value)))


# --- names ----------------------------------------------------------------------------------------------------

WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")
CREDENTIAL_ENDINGS = (
    "password",
    "passwd",
    "pwd",
    "passphrase",
    "secret",
    "token",
    "apikey",
    "accesskey",
    "secretkey",
    "privatekey",
    "authkey",
    "credential",
    "credentials",
)
NOT_PASS = {"bypass", "compass", "overpass", "underpass", "encompass", "trespass"}
KEY_QUALIFIERS = {
    *("api", "access", "private", "secret", "signing", "encryption", "master", "account", "client"),
    *("consumer", "session", "auth", "shared", "app", "hmac", "jwt", "crypt", "cipher"),
}
# Words after the credential word that do not change what the value is (`SECRET_KEY_BASE`, `DB_PASSWORD_PROD`).
TRANSPARENT = {
    *("value", "val", "string", "str", "text", "plain", "raw", "b64", "base64", "hex", "encoded", "enc"),
    *("base", "prod", "production", "dev", "development", "staging", "stage", "local", "live", "new", "old"),
    *("default", "main", "primary", "secondary"),
}
NEVER = {"csrf", "xsrf", "public", "publishable", "pub"}
# Tokens that are not credentials: pagination cursors, idempotency and change tokens (AWS `NextToken`,
# `ChangeToken`, `LifecycleActionToken`), request ids.
NOT_SECRET_TOKENS = {
    *("next", "page", "pagination", "continuation", "change", "idempotency", "lifecycle", "action"),
    *("request", "sync", "cancellation", "resume", "cursor", "marker", "start", "end", "lexer", "parser"),
}


def name_words(name: str) -> list[str]:
    return [w.lower() for w in WORD.findall(name)]


def credential_name(name: str) -> bool:
    """The name's last word (after `_value`, `_prod`, digits…) is a credential's: `DB_PASSWORD`, `apiKey`,
    `oauth_token`, `client-secret`, `PGPASSWORD`, `x-auth-token`, `SECRET_KEY_BASE`; not `token_url`,
    `secretName`, `author`, `passport`, `csrf_token`, `public_key`, `AUTH_REQUIRED_SASL`."""
    words = name_words(name)
    if NEVER & set(words):
        return False
    while words and (words[-1] in TRANSPARENT or words[-1].isdigit()):
        words.pop()
    if not words:
        return False
    last = words[-1]
    if last == "token" and len(words) > 1 and words[-2] in NOT_SECRET_TOKENS:
        return False
    if last.endswith(CREDENTIAL_ENDINGS) or last in {"auth", "creds", "authorization"}:
        return True
    if last.endswith("pass") and last not in NOT_PASS:
        return True
    return last == "key" and len(words) > 1 and words[-2] in KEY_QUALIFIERS


NAME_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-$")


def name_before(text: str, end: int, limit: int = 80) -> str:
    """The identifier that ends at `end` (read backward over name characters, at most `limit`)."""
    start = end
    while start > 0 and end - start < limit and text[start - 1] in NAME_CHARS:
        start -= 1
    return text[start:end]
