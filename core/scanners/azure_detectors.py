"""Our own secret detectors: the Azure credentials no public engine finds, each a self-describing rule.

Plain compiled regexes applied by `secrets.py` over a whole file's text (one C-level pass per detector, not a
Python loop per line). A detector is: the rule it reports, a pattern whose group `secret` is the value (or locates
it: `Detector.span` may widen it to the whole credential, as the SAS detector does), an
optional cheap substring hints (the detector skips a file that contains none of them), an optional
context pattern that the value's line must also match, and its specificity (lower wins when two detectors find
the same value on the same line).

Shapes implemented (sources in /work/shared/reference/scanning.md §1.2):
- Azure DevOps PAT, legacy: 52 characters of lowercase base32 `[a-z2-7]{52}`, only on a line with keyword
  context (pat, token, password, secret, AZURE_DEVOPS_EXT_PAT, a dev.azure.com / visualstudio.com URL, or a
  basic-auth URL `scheme://user:VALUE@host`), with at least one digit and one letter (random base32 almost always
  has both; long all-letter words and all-digit runs are not PATs).
- Azure DevOps PAT, new format (Microsoft Purview SIT "Azure DevOps personal access token"): 84 characters of
  `[A-Za-z0-9]` with the fixed signature `AZDO` at 1-based positions 77-80, i.e. `[A-Za-z0-9]{76}AZDO[A-Za-z0-9]{4}`.
  These are Common Annotated Security Keys, which also carry `JQQJ9` at positions 53-57; we do not require that
  marker (Purview's definition does not), so the signature plus exact length is the whole test.
- Azure storage (and Cosmos DB) account key: `[A-Za-z0-9/+]{86}==` after `AccountKey=`, or on a line naming a
  storage/account key.
- SAS token: a query string with a `sig=` parameter and `sv=YYYY-MM-DD` on the same line. The value is the whole
  token as it is used (every parameter of the query, `sv=…&…&sig=…`, `&amp;` read as `&`), not the signature alone.
- Connection-string secrets: `Password=`/`Pwd=` in a line that has another connection-string key (Server=,
  Data Source=, User Id=, …), and Service Bus / Event Hubs / IoT `SharedAccessKey=`.
- Entra ID (Azure AD) client secret: gitleaks' `azure-ad-client-secret` shape, `xxx?Q~` followed by 31-34 chars.
- AWS secret access key in `.env`-style assignments: detect-secrets finds the key id but its keyword rule misses
  an unquoted secret key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.scans.scanner import Rule

REMEDIATION = (
    "Revoke the credential now (it stays in the repository's history), issue a new one, and load it at run time "
    "from a secret store (Azure Key Vault, a secret pipeline variable, a managed identity) instead of the "
    "repository."
)


def secret_rule(rule_id: str, title: str, severity: str, why: str, help_uri: str = "") -> Rule:
    return Rule(rule_id, title, severity, "SECRET", why, REMEDIATION, help_uri)


ADO_PAT = secret_rule(
    "SECRET-AZURE-DEVOPS-PAT",
    "Azure DevOps personal access token",
    "CRITICAL",
    "A PAT acts as its owner on the organization (code, pipelines, feeds, depending on its scopes) until it "
    "expires; anyone who can read the repository can use it.",
    "https://learn.microsoft.com/en-us/azure/devops/organizations/accounts/use-personal-access-tokens-to-authenticate",
)
STORAGE_KEY = secret_rule(
    "SECRET-AZURE-STORAGE-KEY",
    "Azure storage account key",
    "CRITICAL",
    "An account key grants full control of every blob, queue, table and file share in the account, and keeps "
    "working until the key is rotated.",
    "https://learn.microsoft.com/en-us/azure/storage/common/storage-account-keys-manage",
)
SAS_TOKEN = secret_rule(
    "SECRET-AZURE-SAS-TOKEN",
    "Azure shared access signature",
    "HIGH",
    "A SAS URL grants its permissions to whoever holds it until it expires; it cannot be revoked on its own "
    "unless it is tied to a stored access policy.",
    "https://learn.microsoft.com/en-us/azure/storage/common/storage-sas-overview",
)
CONNECTION_PASSWORD = secret_rule(
    "SECRET-CONNECTION-STRING-PASSWORD",
    "Password in a connection string",
    "HIGH",
    "A database or service password in a connection string gives direct access to the data behind it.",
)
SHARED_ACCESS_KEY = secret_rule(
    "SECRET-AZURE-SHARED-ACCESS-KEY",
    "Azure Service Bus / Event Hubs shared access key",
    "HIGH",
    "A shared access key lets its holder send, listen or manage entities of the namespace, per its policy.",
)
ENTRA_CLIENT_SECRET = secret_rule(
    "SECRET-AZURE-AD-CLIENT-SECRET",
    "Microsoft Entra ID client secret",
    "CRITICAL",
    "An app registration's secret signs in as the application, with every permission granted to it in the "
    "tenant.",
)
AWS_SECRET_KEY = secret_rule(
    "SECRET-AWS-SECRET-KEY",
    "AWS secret access key",
    "CRITICAL",
    "With its access key id, the secret key acts as the IAM user or role on the AWS account.",
)


@dataclass(frozen=True)
class Detector:
    name: str
    rule: Rule
    pattern: re.Pattern  # group "secret" is the value
    hints: tuple[str, ...] = ()  # lowercase substrings, one of which the file must contain for this detector
    context: re.Pattern | None = None  # the value's line must also match this
    specificity: int = 0  # lower wins a same-value tie on one line
    free_form: bool = False  # a chosen value (a password), not a generated one: placeholders are skipped

    def accepts(self, value: str) -> bool:
        if self.free_form:
            return not looks_like_placeholder(value)
        return len(set(value)) >= 6  # "aaaa…" and "abab…" are fillers, not keys

    def span(self, text: str, match: re.Match) -> tuple[int, int]:
        """Where the whole credential is in `text`: the group `secret`, for every detector but the SAS one."""
        return match.span("secret")

    def value(self, text: str, match: re.Match) -> str:
        start, end = self.span(text, match)
        return text[start:end]


@dataclass(frozen=True)
class LegacyPatDetector(Detector):
    def accepts(self, value: str) -> bool:
        has_digit = any(c in "234567" for c in value)
        has_letter = any(c.isalpha() for c in value)
        return has_digit and has_letter and len(set(value)) >= 12


PLACEHOLDER = re.compile(
    r"(?i)^(?:[\$%@{<\[*]|.*(?:example|placeholder|changeme|change_me|your[_-]?|xxxx|\.\.\.|redacted|dummy))"
)


def looks_like_placeholder(value: str) -> bool:
    """Templated or documentation values: `$(DB_PASSWORD)`, `{password}`, `<your-password>`, `****`, `xxxx`."""
    return bool(PLACEHOLDER.search(value)) or len(set(value)) < 4


# Characters of a query string's parameters (`se=2030-01-01T00:00:00Z` has colons, signatures have `/+=%`).
SAS_QUERY = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789%/+=&._~:-")
SAS_PREFIX = re.compile(r"(?i)^SharedAccessSignature=")


@dataclass(frozen=True)
class SasDetector(Detector):
    """The token is the query around `sig=`: from after `?` (or a `;`, quote or space) to the end of the query.
    The signature alone is the HMAC of the other parameters; the token as used is all of them."""

    def span(self, text: str, match: re.Match) -> tuple[int, int]:
        start, end = match.start("secret"), match.end("secret")
        while start > 0:
            if text[start - 1] in SAS_QUERY:
                start -= 1
            elif text[start - 1] == ";" and text.endswith("&amp", 0, start - 1):  # HTML or XML escaping
                start -= 5
            else:
                break
        while end < len(text) and (
            text[end] in SAS_QUERY or (text[end] == ";" and text.endswith("&amp", 0, end))
        ):
            end += 1
        while end > start and text[end - 1] in ".&":  # a full stop after a URL, an empty trailing parameter
            end -= 1
        return start, end

    def value(self, text: str, match: re.Match) -> str:
        start, end = self.span(text, match)
        return SAS_PREFIX.sub("", text[start:end].replace("&amp;", "&"))


B32 = "a-z2-7"
ALNUM = "A-Za-z0-9"
PAT_CONTEXT = re.compile(
    r"(?i:token|password|passwd|pwd|secret|credential|authorization|basic\s|azure_devops_ext_pat|"
    r"dev\.azure\.com|visualstudio\.com|://[^/\s:@]*:[a-z2-7]{52}@)"
    r"|(?:(?<![A-Za-z])[Pp][Aa][Tt][Ss]?|(?<=[a-z])Pats?)(?![a-z])"
)
CONNECTION_KEYS = re.compile(
    r"(?i)(?:^|[;\"'\s])(?:server|data\s+source|host|user\s+id|uid|username|database|initial\s+catalog|"
    r"address|addr|port|endpoint)\s*="
)

DETECTORS: tuple[Detector, ...] = (
    LegacyPatDetector(
        "ado-pat-legacy",
        ADO_PAT,
        re.compile(rf"(?<![A-Za-z0-9+/])(?P<secret>[{B32}]{{52}})(?![A-Za-z0-9+/=])"),
        context=PAT_CONTEXT,
    ),
    Detector(
        "ado-pat",
        ADO_PAT,
        re.compile(rf"(?<![{ALNUM}])(?P<secret>[{ALNUM}]{{76}}AZDO[{ALNUM}]{{4}})(?![{ALNUM}])"),
        hints=("azdo",),
    ),
    Detector(
        "storage-account-key",
        STORAGE_KEY,
        re.compile(r"(?i:accountkey)\s*=\s*(?P<secret>[A-Za-z0-9/+]{86}==)(?![A-Za-z0-9/+=])"),
        hints=("accountkey",),
    ),
    Detector(
        "storage-key-keyword",
        STORAGE_KEY,
        re.compile(r"(?<![A-Za-z0-9/+])(?P<secret>[A-Za-z0-9/+]{86}==)(?![A-Za-z0-9/+=])"),
        hints=("key",),
        context=re.compile(r"(?i)(?:storage|account|access|primary|secondary)[\s_.-]?key"),
        specificity=1,
    ),
    SasDetector(
        "sas-token",
        SAS_TOKEN,
        re.compile(r"[?&;]sig=(?P<secret>[A-Za-z0-9%/+=]{20,})"),
        hints=("sig=",),
        context=re.compile(r"(?i)(?:^|[?&;=\s\"'])sv=\d{4}-\d{2}-\d{2}"),
    ),
    Detector(
        "connection-string-password",
        CONNECTION_PASSWORD,
        re.compile(r"(?i)(?<![^;\"'\s])(?:password|pwd)\s*=\s*(?P<secret>[^;\"'\s]{4,})"),
        hints=("password", "pwd"),
        free_form=True,
        context=CONNECTION_KEYS,
        specificity=2,
    ),
    Detector(
        "shared-access-key",
        SHARED_ACCESS_KEY,
        re.compile(r"(?i:sharedaccesskey)\s*=\s*(?P<secret>[A-Za-z0-9+/]{42,43}=)(?![A-Za-z0-9+/=])"),
        hints=("sharedaccesskey",),
    ),
    Detector(
        "entra-client-secret",
        ENTRA_CLIENT_SECRET,
        re.compile(
            r"(?<![A-Za-z0-9_~.+/-])(?P<secret>[A-Za-z0-9_~.]{3}\dQ~[A-Za-z0-9_~.-]{31,34})(?![A-Za-z0-9_~.+/=-])"
        ),
        hints=("q~",),
    ),
    Detector(
        "aws-secret-key",
        AWS_SECRET_KEY,
        re.compile(
            r"(?i:aws_?secret_?access_?key)[\"']?\s*[=:]\s*[\"']?(?P<secret>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+])"
        ),
        hints=("secret",),
    ),
)

RULES = tuple({d.rule.id: d.rule for d in DETECTORS}.values())
