"""Provider tokens with a documented shape: a fixed prefix and alphabet, or a key in a provider's context.

Each detector's rule names the provider's documentation of the format as its source; where a provider does not
publish one, gitleaks' rule for it (read, not copied) is the reference, noted beside the pattern.
"""

from __future__ import annotations

import base64
import binascii
import re

from core.scanners.azure_detectors import AWS_SECRET_KEY, Detector
from core.scanners.secret_rules.base import SAAS, Judged, is_dummy, peer_rule, secret_rule

ANTHROPIC = secret_rule(
    "SECRET-ANTHROPIC-KEY",
    "Anthropic API key",
    "HIGH",
    "An API key (or an Admin API key, which manages the organization's keys and members) bills and acts for the "
    "organization until it is revoked.",
    "https://docs.anthropic.com/en/api/overview#authentication",
)
DIGITALOCEAN = secret_rule(
    "SECRET-DIGITALOCEAN-TOKEN",
    "DigitalOcean token",
    "CRITICAL",
    "A personal access, OAuth or refresh token manages the team's droplets, databases and storage.",
    "https://docs.digitalocean.com/reference/api/create-personal-access-token/",
)
FACEBOOK_TOKEN = secret_rule(
    "SECRET-FACEBOOK-ACCESS-TOKEN",
    "Facebook access token",
    "HIGH",
    "A user, page or app access token calls the Graph API as its subject until it expires or is revoked.",
    "https://developers.facebook.com/docs/facebook-login/guides/access-tokens",
)
FACEBOOK_SECRET = secret_rule(
    "SECRET-FACEBOOK-APP-SECRET",
    "Facebook app secret",
    "HIGH",
    "The app secret makes app access tokens and signs requests as the app.",
    "https://developers.facebook.com/docs/facebook-login/security#appsecret",
)
NOTION = secret_rule(
    "SECRET-NOTION-TOKEN",
    "Notion integration token",
    "HIGH",
    "An integration token reads and writes every page shared with the integration.",
    "https://developers.notion.com/docs/authorization",
)
ONEPASSWORD_SERVICE = secret_rule(
    "SECRET-1PASSWORD-SERVICE-ACCOUNT-TOKEN",
    "1Password service account token",
    "CRITICAL",
    "A service account token reads (and may write) every item of the vaults granted to it.",
    "https://developer.1password.com/docs/service-accounts/security",
)
ONEPASSWORD_SECRET_KEY = secret_rule(
    "SECRET-1PASSWORD-SECRET-KEY",
    "1Password Secret Key",
    "CRITICAL",
    "With the account password, the Secret Key opens every vault of the account.",
    "https://support.1password.com/secret-key/",
)
SOURCEGRAPH = secret_rule(
    "SECRET-SOURCEGRAPH-TOKEN",
    "Sourcegraph access token",
    "HIGH",
    "An access token reads the instance's code and acts on its API as its owner.",
    "https://sourcegraph.com/docs/cli/how-tos/creating_an_access_token",
)
VAULT = secret_rule(
    "SECRET-VAULT-TOKEN",
    "HashiCorp Vault token",
    "CRITICAL",
    "A Vault token reads the secrets its policies allow until it expires or is revoked.",
    "https://developer.hashicorp.com/vault/docs/concepts/tokens#token-prefixes",
)
HEX_TOKEN = secret_rule(
    "SECRET-HEX-TOKEN",
    "Hex token assigned to a token name",
    "HIGH",
    "A 32- to 64-character hex value assigned to a `*_TOKEN` name is an API token of the service it names "
    "(GitHub's OAuth tokens before 2021 were 40 hex characters, DigitalOcean's 64).",
    "https://github.blog/engineering/platform-security/behind-githubs-new-authentication-token-formats/",
)
DOCKER_AUTH = secret_rule(
    "SECRET-DOCKER-AUTH",
    "Docker registry credentials",
    "HIGH",
    "A Docker config `auth` entry is base64 of `user:password` for the registry (an `identitytoken` is a refresh "
    "token): anyone can pull and push as that user.",
    "https://docs.docker.com/reference/cli/docker/login/#credential-stores",
)
NPMRC = secret_rule(
    "SECRET-NPMRC-CREDENTIAL",
    "Registry credential in .npmrc",
    "HIGH",
    "An `.npmrc` `_authToken`, `_auth` (base64 `user:password`) or `_password` publishes and reads packages as "
    "its owner on that registry.",
    "https://docs.npmjs.com/cli/v10/configuring-npm/npmrc#auth-related-configuration",
)
# Same fields as detect-secrets' Slack type in secrets.py: a webhook URL it also finds is one finding.
SLACK = peer_rule("SECRET-SLACK-TOKEN", "Slack token", "HIGH", SAAS)

HEX = "0-9a-fA-F"


def has_letter_and_digit(match: re.Match) -> bool:
    value = match.group("secret")
    return any(c.isdigit() for c in value) and any(c.isalpha() for c in value)


def docker_auth(match: re.Match) -> bool:
    """`auth` is base64 of `user:password` (both non-empty); an `identitytoken` is an opaque refresh token."""
    value = match.group("secret")
    if match.group("field").lower() == "identitytoken":
        return len(value) >= 20 and not is_dummy(value)
    try:
        decoded = base64.b64decode(value + "=" * (-len(value) % 4), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return False
    user, colon, password = decoded.partition(":")
    return bool(colon and user and password and decoded.isprintable()) and not is_dummy(password)


def npmrc(match: re.Match) -> bool:
    value = match.group("secret")
    return not is_dummy(value) and not set("(){}[]\\*|") & set(value)  # a regex or a template, not a token


def aws_secret(match: re.Match) -> bool:
    value = match.group("secret")
    return not is_dummy(value) and any(c.isdigit() or c in "/+" for c in value)


DETECTORS: tuple[Detector, ...] = (
    # Anthropic publishes the `x-api-key` header, not the key's shape; gitleaks' anthropic rules give it.
    Detector(
        "anthropic-api-key",
        ANTHROPIC,
        re.compile(r"(?<![\w-])(?P<secret>sk-ant-(?:api03|admin01)-[A-Za-z0-9_-]{93}AA)(?![\w-])"),
        hints=("sk-ant-",),
        specificity=5,
    ),
    Detector(
        "digitalocean-token",
        DIGITALOCEAN,
        re.compile(r"(?<![\w-])(?P<secret>do[opr]_v1_[a-f0-9]{64})(?![\w-])"),
        hints=("_v1_",),
        specificity=5,
    ),
    # Tokens from before the prefixes (2022): 64 hex characters; 32 for the old API keys. Only with the
    # provider named on the line.
    Judged(
        "digitalocean-legacy-token",
        DIGITALOCEAN,
        re.compile(rf"(?<![{HEX}\w])(?P<secret>[{HEX}]{{64}}|[{HEX}]{{32}})(?![{HEX}\w])"),
        hints=("digitalocean", "digital_ocean", "doctl", "do_token", "do_api", "do_key", "do_access"),
        context=re.compile(r"(?i)digital[_-]?ocean|doctl|\bdo_(?:token|api|key|access|auth|pat)"),
        specificity=6,
        judge=has_letter_and_digit,
    ),
    Detector(
        "facebook-access-token",
        FACEBOOK_TOKEN,
        re.compile(r"(?<![A-Za-z0-9+/])(?P<secret>EAA[A-Za-z0-9]{100,})(?![A-Za-z0-9+/=])"),
        hints=("eaa",),
        specificity=5,
    ),
    # An app access token is `app-id|app-secret`.
    Detector(
        "facebook-app-access-token",
        FACEBOOK_TOKEN,
        re.compile(r"(?P<secret>\d(?<!\w\d)\d{14,15}(?:\||%7[Cc])[0-9A-Za-z_-]{27,40})(?![\w-])"),
        hints=("facebook", "fb", "graph."),
        context=re.compile(r"(?i)facebook|\bfb|graph\.|access_token"),
        specificity=5,
    ),
    Judged(
        "facebook-app-secret",
        FACEBOOK_SECRET,
        re.compile(rf"(?<![{HEX}\w])(?P<secret>[{HEX}]{{32}})(?![{HEX}\w])"),
        hints=("facebook", "fb"),
        context=re.compile(r"(?i)(?:facebook|\bfb)[\w.-]{0,30}?(?:secret|key)"),
        specificity=6,
        judge=has_letter_and_digit,
    ),
    # `ntn_` tokens (2024 on): 11 digits and 35 alphanumerics; `secret_` ones: 43 alphanumerics, only in a file
    # that names Notion (the prefix alone is a common word).
    Detector(
        "notion-token",
        NOTION,
        re.compile(r"(?<![\w-])(?P<secret>ntn_\d{11}[A-Za-z0-9]{35})(?![\w-])"),
        hints=("ntn_",),
        specificity=5,
    ),
    Judged(
        "notion-legacy-token",
        NOTION,
        re.compile(r"(?<![\w-])(?P<secret>secret_[A-Za-z0-9]{43})(?![\w-])"),
        hints=("notion",),
        specificity=5,
        judge=has_letter_and_digit,
    ),
    Detector(
        "1password-service-account-token",
        ONEPASSWORD_SERVICE,
        re.compile(r"(?<![\w-])(?P<secret>ops_eyJ[A-Za-z0-9+/]{250,}={0,3})(?![A-Za-z0-9+/=])"),
        hints=("ops_eyj",),
        specificity=5,
    ),
    Detector(
        "1password-secret-key",
        ONEPASSWORD_SECRET_KEY,
        re.compile(
            r"(?<![\w-])(?P<secret>A3-[A-Z0-9]{6}-(?:[A-Z0-9]{11}|[A-Z0-9]{6}-[A-Z0-9]{5})"
            r"-[A-Z0-9]{5}-[A-Z0-9]{5}-[A-Z0-9]{5})(?![\w-])"
        ),
        hints=("a3-",),
        specificity=5,
    ),
    Detector(
        "sourcegraph-token",
        SOURCEGRAPH,
        re.compile(rf"(?<![\w-])(?P<secret>sgp_(?:(?:[{HEX}]{{16}}|local)_)?[{HEX}]{{40}})(?![\w-])"),
        hints=("sgp_",),
        specificity=5,
    ),
    # Service `hvs.`, batch `hvb.` and recovery `hvr.` tokens (Vault 1.10 on); before that `s.` and 24
    # characters, only with Vault named on the line.
    Detector(
        "vault-token",
        VAULT,
        re.compile(
            r"(?<![\w.-])(?P<secret>hvs\.[A-Za-z0-9_-]{90,120}|hvb\.[A-Za-z0-9_-]{138,300}|hvr\.[A-Za-z0-9_-]{20,120})"
            r"(?![\w-])"
        ),
        hints=("hvs.", "hvb.", "hvr."),
        specificity=5,
    ),
    Judged(
        "vault-legacy-token",
        VAULT,
        re.compile(r"(?<![\w.-])(?P<secret>s\.[A-Za-z0-9]{24})(?![\w.-])"),
        hints=("vault",),
        context=re.compile(r"(?i)vault"),
        specificity=5,
        judge=has_letter_and_digit,
    ),
    # Incoming webhooks `services/T…/B…/…` and Workflow Builder `workflows/`/`triggers/` URLs.
    Detector(
        "slack-webhook-url",
        SLACK,
        re.compile(
            r"(?P<secret>https://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9_]{8,20}/"
            r"[A-Za-z0-9_/+]{20,160})"
        ),
        hints=("hooks.slack.com",),
        specificity=10,
    ),
    Judged(
        "hex-token-assigned",
        HEX_TOKEN,
        re.compile(
            rf"(?=[Tt][Oo])(?i:token)[\"'`]?[ \t]{{0,8}}(?:=>|:=|=|:)[ \t]{{0,8}}[\"'`]?"
            rf"(?P<secret>[{HEX}]{{32,64}})(?![{HEX}\w])"
        ),
        hints=("token",),
        specificity=15,
        judge=has_letter_and_digit,
    ),
    # AWS documents 40 characters, but keys are written cut, wrapped or with `=`: any length from 16 when the
    # name says so (`aws-secret-key` in azure_detectors.py takes exactly 40 first).
    Judged(
        "aws-secret-key-assigned",
        AWS_SECRET_KEY,
        re.compile(
            r"(?=[Aa][Ww])(?i:aws[_.-]?secret(?:[_.-]?access)?(?:[_.-]?key)?)[\"'`]?[ \t]{0,8}(?:=>|:=|=|:)[ \t]{0,8}[\"'`]?"
            r"(?P<secret>[A-Za-z0-9/+=]{16,100})(?![A-Za-z0-9/+=])"
        ),
        hints=("secret",),
        specificity=3,
        judge=aws_secret,
    ),
    Judged(
        "docker-config-auth",
        DOCKER_AUTH,
        re.compile(
            r"\"(?P<field>auth|identitytoken)\"[ \t]*:[ \t]*\"(?P<secret>[A-Za-z0-9+/_-]{4,}={0,2})\""
        ),
        hints=('"auth"', '"identitytoken"'),
        specificity=8,
        judge=docker_auth,
    ),
    Judged(
        "npmrc-credential",
        NPMRC,
        re.compile(r"(?m)(?:^|:)_(?:authToken|auth|password)[ \t]*=[ \t]*[\"']?(?P<secret>[^\s\"'#;]{6,})"),
        hints=("_authtoken", "_auth", "_password"),
        specificity=12,  # detect-secrets' npm type (10) keeps an `npm_` token it finds too
        judge=npmrc,
    ),
)
