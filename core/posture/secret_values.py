"""Is a pipeline variable a plaintext secret? Judged by its value; its name only raises confidence.

AzSK, the peer ADO-PIPE-08 cites, judges values; a name alone (`tokenEndpoint` is a sign-in URL,
`keyVaultSecretName` a secret's name) is no evidence. In order:

1. A value one of our secret detectors (`core.scanners.secret_catalog.DETECTORS`, iterated, so every detector
   added there counts here) finds in the value alone: a typed token (an Entra client secret, a new-format PAT, an
   account key, a SAS…). A secret whatever the variable is called.
2. A value a detector finds only with the name beside it (`name: value`, as a keyword detector reads it), or a
   URL carrying `user:password@`: a secret, unless the value has a shape that is never one (below).
3. No detector: the value's shape and Shannon entropy, against limits per character set (the entropy a random
   string of that set and length reaches, so hex can pass; detect-secrets' fixed hex limit of 4.0 never can):
   - a credential-like name (its last word: password, secret, token, key, pat, credential…; `tokenEndpoint`,
     `secretName`, `passwordFile` end in a descriptor and are not) needs a value that passes a weak test: 8+
     characters, not a plain identifier (`sql-admin-password`, `production`), some variety;
   - any other name needs a random-looking value: 20+ characters of mixed case and digits (or 16+ with symbols
     too) whose entropy is near a random string's and that is not made of words. Hex alone is never enough under
     such a name: commit ids, digests and thumbprints are hex of the same entropy.

Never a secret, whatever the name, outside step 1: an empty value, a `$(var)` / `${{ }}` / `$[ ]` / `#{ }#` /
`__token__` reference, a placeholder (`<your-key>`, `changeme`, `xxxx`…), a boolean or number or version, a URL
without a password, an e-mail address, a path, an identifier such as a Key Vault secret name, a GUID (under a
non-credential name), anything with spaces.

The answer names what made it a secret (a detector's title, or the test it passed), never any part of the value.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterator

from core.azure.models import Variable
from core.scanners.azure_detectors import looks_like_placeholder
from core.scanners.secret_catalog import DETECTORS

# The last word of a name that makes it credential-like ("dbPassword", "API_KEY", "system.accessToken").
CREDENTIAL_WORDS = frozenset(
    {
        "password", "passwd", "pwd", "pass", "passphrase", "passcode", "secret", "secrets", "token", "tokens",
        "key", "apikey", "pat", "credential", "credentials", "cred", "creds", "connectionstring", "sas",
        "signature", "sig", "privatekey", "clientsecret", "accesskey", "auth", "bearer", "cookie", "pin",
    }
)  # fmt: skip
# Words after the credential word that do not change what the value is ("dbPasswordValue").
TRANSPARENT = frozenset({"value", "val", "string", "str", "text", "plain", "raw"})
NAME_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")

REFERENCE = re.compile(r"\$\(|\$\{|\$\[|#\{|__[A-Za-z0-9_.]+__|%[A-Za-z_][A-Za-z0-9_]*%")
NUMBER_OR_VERSION = re.compile(r"(?i)^v?[0-9]+(?:[._:-][0-9a-z]+)*$")
BOOLEAN_OR_EMPTY = frozenset(
    {"true", "false", "yes", "no", "on", "off", "none", "null", "nil", "n/a", "na", "tbd"}
)
URL = re.compile(r"(?i)^[a-z][a-z0-9+.-]*://(?P<authority>[^/?#]*)")
EMAIL = re.compile(r"^[^@\s:/]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+$")
GUID = re.compile(r"(?i)^\{?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\}?$")
# A word (letters, then digits if any) or digits: the segments of `sql-admin-password`, `kv-prod-01`, `App.Web`.
WORD_SEGMENT = re.compile(r"^(?:[A-Za-z]+[0-9]*|[0-9]+)$")
SEPARATORS = re.compile(r"[-_.]")
PATH_START = re.compile(r"^(?:/|\./|\.\./|~/|[A-Za-z]:[\\/]|\\\\)")
CAMEL_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])")
HEX = frozenset("0123456789abcdefABCDEF")
BASE64ISH = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=_-")

WEAK_MIN_LENGTH = 8
WEAK_MIN_ENTROPY = 2.5  # bits per character: "Passw0rd1" passes, "aaaaaaab" does not
RANDOM_MIN_LENGTH = 20  # base64/alphanumeric under a neutral name
RANDOM_MIN_LENGTH_SYMBOLS = 16  # with symbols as well
# A random string's entropy sits near min(log2(alphabet), log2(length)); 99% of random strings of every
# charset and length 16-64 measured here reach 0.78 of it. Words and repeated patterns fall short.
RANDOM_ENTROPY_RATIO = 0.75
# Share of a value made of camel-case words of 4+ letters: random mixed-case strings stay under 0.65 (99th
# percentile, 20 characters), "MyCompany2024ReleaseBuild" is 0.76.
MAX_WORDY = 0.7


def plaintext_secret(name: str, value: object) -> str | None:
    """What makes this variable's value a plaintext secret (for the reason; never the value), or None."""
    text = "" if value is None else str(value).strip()
    if not text:
        return None
    typed = detector_title(text, text, 0)
    if typed:
        return typed
    credential_name = is_credential_name(name)
    if never_a_secret(text, credential_name):
        return None
    line = f"{name}: {text}"
    keyword = detector_title(line, text, len(line) - len(text))
    if keyword:
        return keyword
    if url_with_password(text):
        return "credentials in a URL"
    if credential_name and password_like(text):
        return "a credential name with a password-like value"
    if not credential_name and random_looking(text):
        return "a random-looking value"
    return None


def detector_title(text: str, value: str, value_start: int) -> str | None:
    """The title of the first of our detectors that finds a secret inside `value` (which starts at
    `value_start` in `text`, the line the detector reads), or None."""
    lowered = text.lower()
    for detector in DETECTORS:
        if detector.hints and not any(hint in lowered for hint in detector.hints):
            continue
        if detector.context is not None and not detector.context.search(text):
            continue
        for found in detector.pattern.finditer(text):
            start, _ = detector.span(text, found)
            if start >= value_start and detector.accepts(detector.value(text, found)):
                return detector.rule.title
    return None


def name_words(name: str) -> list[str]:
    return [w.lower() for w in NAME_WORDS.findall(name)]


def is_credential_name(name: str) -> bool:
    words = name_words(name)
    endings = [words]
    while words and words[-1] in TRANSPARENT:
        words = words[:-1]
        endings.append(words)
    # "connectionString" ends in a credential pair; "dbPasswordValue" in a credential word, once "value" is off.
    return any(w and (w[-1] in CREDENTIAL_WORDS or "".join(w[-2:]) in CREDENTIAL_WORDS) for w in endings)


def never_a_secret(text: str, credential_name: bool) -> bool:
    """Shapes that are not secrets whatever the name says (see the module's docstring)."""
    if REFERENCE.search(text) or looks_like_placeholder(text) or any(c.isspace() for c in text):
        return True
    if text.lower() in BOOLEAN_OR_EMPTY or NUMBER_OR_VERSION.match(text) or EMAIL.match(text):
        return True
    url = URL.match(text)
    if url:
        return not url_with_password(text)
    if is_path(text) or is_identifier(text):
        return True
    return bool(GUID.match(text)) and not credential_name


def url_with_password(text: str) -> bool:
    url = URL.match(text)
    if not url or "@" not in url.group("authority"):
        return False
    userinfo = url.group("authority").rsplit("@", 1)[0]
    password = userinfo.split(":", 1)[1] if ":" in userinfo else ""
    return bool(password) and not looks_like_placeholder(password) and not REFERENCE.search(password)


def is_identifier(text: str) -> bool:
    """Words joined by `-`, `_` or `.` (a Key Vault secret name, a resource or file name), or one word."""
    segments = SEPARATORS.split(text)
    if not all(WORD_SEGMENT.match(s) for s in segments):
        return False
    # One segment: a word ("production", "SqlAdminPassword"), not letters followed by digits ("Password123").
    return len(segments) > 1 or text.isalpha()


def is_path(text: str) -> bool:
    if PATH_START.match(text):
        return True
    parts = [p for p in re.split(r"[\\/]", text) if p]
    return len(parts) > 1 and ("/" in text or "\\" in text) and all(is_identifier(p) for p in parts)


def shannon(text: str) -> float:
    counts, total = Counter(text), len(text)
    return -sum(n / total * math.log2(n / total) for n in counts.values())


def classes(text: str) -> set[str]:
    found = set()
    for c in text:
        found.add(
            "upper" if c.isupper() else "lower" if c.islower() else "digit" if c.isdigit() else "symbol"
        )
    return found


def password_like(text: str) -> bool:
    """The weak test, under a credential-like name."""
    return len(text) >= WEAK_MIN_LENGTH and len(set(text)) >= 5 and shannon(text) >= WEAK_MIN_ENTROPY


def random_looking(text: str) -> bool:
    """The strong test, under any other name: near a random string's entropy for its charset, not words."""
    chars = set(text)
    if chars <= HEX:
        return False  # commit ids, digests, thumbprints: as random as any key
    kinds = classes(text)
    if chars <= BASE64ISH:
        body = text.rstrip("=")
        if len(body) < RANDOM_MIN_LENGTH or not {"upper", "lower", "digit"} <= kinds:
            return False
        alphabet = 64
    else:
        body = text
        if len(body) < RANDOM_MIN_LENGTH_SYMBOLS or kinds != {"upper", "lower", "digit", "symbol"}:
            return False
        alphabet = 94
    ceiling = min(math.log2(alphabet), math.log2(len(body)))
    return shannon(body) >= RANDOM_ENTROPY_RATIO * ceiling and wordiness(body) < MAX_WORDY


def wordiness(text: str) -> float:
    return sum(len(w) for w in CAMEL_WORD.findall(text) if len(w) >= 4) / len(text)


def secret_variables(variables: dict[str, Variable]) -> Iterator[tuple[str, str]]:
    """(name, what makes it a secret) for each variable not marked secret whose value is one, by name."""
    for name, variable in sorted(variables.items()):
        if variable.is_secret:
            continue  # Azure DevOps never returns a secret variable's value
        why = plaintext_secret(name, variable.value)
        if why:
            yield name, why


def named_secrets(variables: dict[str, Variable]) -> str:
    """ "dbPassword (a credential name with a password-like value), …" for a reason: names and why, no value."""
    return ", ".join(f"{name} ({why})" for name, why in secret_variables(variables))
