"""Generated secrets for the secret detectors' tests: for each detector, a true sample (a file with a credential
drawn at random from its documented alphabet and length, and the credential's whole value). None is written
literally. Read by tests/core/scanners/test_secret_rules.py and test_secret_values.py."""

from __future__ import annotations

import base64
import functools
import re
import secrets
import string
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from core.scanners.secret_rules.base import credential_shaped

ALNUM = string.ascii_letters + string.digits
UPPER_ALNUM = string.ascii_uppercase + string.digits
URLSAFE = ALNUM + "_-"
HEX = "0123456789abcdef"
CRYPT = "./" + ALNUM
B64 = ALNUM + "+/"
WP = (
    ALNUM + "!@#$%^&*()-_ []{}<>~`+=,.;:/?|"
)  # WordPress' salt generator alphabet, without quote and backslash


def pick(n: int, alphabet: str = ALNUM) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(n))


def mixed(n: int, alphabet: str = ALNUM) -> str:
    """Random with a letter and a digit, no run a placeholder filter would take for a word ("test", "xxx")."""
    while True:
        value = pick(n, alphabet)
        if (
            any(c.isalpha() for c in value)
            and any(c.isdigit() for c in value)
            and not re.search(
                r"(?i)test|xxx|fake|mock|none|null|foo|todo|here|pass|secret|token|key|auth|cred|example|sample|dummy",
                value,
            )
        ):
            return value


def shaped(n: int, alphabet: str = ALNUM) -> str:
    """Random and credential-shaped: the generic rule refuses about 1 random value in 200 of 16 characters as
    mostly words (see test_random_values_are_credential_shaped), which a sample must not be."""
    while True:
        value = mixed(n, alphabet)
        if credential_shaped(value, quoted=False):
            return value


def password() -> str:
    return shaped(16)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@dataclass(frozen=True)
class Case:
    path: str
    text: str
    value: str  # the whole credential
    line: int


def case(path: str, lines: list[str], value: str) -> Case:
    """A file of `lines`; the credential is on the first line that contains it."""
    line = next(i for i, text in enumerate(lines, 1) if value in text)
    return Case(path, "\n".join(lines) + "\n", value, line)


# --- true samples, two per detector (n = 0, 1) ----------------------------------------------------------------


def anthropic(n: int) -> Case:
    key = ("sk-ant-api03-", "sk-ant-admin01-")[n] + mixed(93, URLSAFE) + "AA"
    return case(".env", ["# Claude", f"ANTHROPIC_API_KEY={key}"], key)


def digitalocean(n: int) -> Case:
    token = ("dop_v1_", "doo_v1_")[n] + mixed(64, HEX)
    return case(".config/doctl/config.yaml", ["context: default", f"access-token: {token}"], token)


def digitalocean_legacy(n: int) -> Case:
    if n == 0:
        token = mixed(64, HEX)
        return case("deploy/do.env", [f"DIGITALOCEAN_ACCESS_TOKEN={token}"], token)
    key = mixed(32, HEX)
    return case("tools/do.py", ["import requests", f'do_api_key = "{key}"'], key)


def facebook_token(n: int) -> Case:
    token = "EAA" + ("B", "G")[n] + mixed(150)
    return case("web/fb.js", ["// graph", f'const accessToken = "{token}";'], token)


def facebook_app_token(n: int) -> Case:
    token = pick(15 + n, string.digits) + ("|", "%7C")[n] + mixed(32, URLSAFE)
    return case(
        "docs/graph.md", ["Call:", f"https://graph.facebook.com/v19.0/me?access_token={token}"], token
    )


def facebook_secret(n: int) -> Case:
    secret = mixed(32, HEX)
    line = (f"FACEBOOK_APP_SECRET={secret}", f'fb_app_secret: "{secret}"')[n]
    return case(("app/.env", "config/social.yaml")[n], ["# social login", line], secret)


def notion(n: int) -> Case:
    token = "ntn_" + pick(11, string.digits) + mixed(35)
    return case("scripts/sync.py", [f'NOTION = "{token}"'] if n else [f"notion {token}"], token)


def notion_legacy(n: int) -> Case:
    token = "secret_" + mixed(43)
    return case("scripts/notion.env", ["# notion integration", f"NOTION_TOKEN={token}"], token)


def onepassword_service(n: int) -> Case:
    token = "ops_eyJ" + mixed(300 + 40 * n, B64) + "=" * n
    return case("ci/op.env", [f"OP_SERVICE_ACCOUNT_TOKEN={token}"], token)


def onepassword_secret_key(n: int) -> Case:
    middle = mixed(11, UPPER_ALNUM) if n == 0 else f"{mixed(6, UPPER_ALNUM)}-{mixed(5, UPPER_ALNUM)}"
    parts = [mixed(5, UPPER_ALNUM) for _ in range(3)]
    key = f"A3-{mixed(6, UPPER_ALNUM)}-{middle}-" + "-".join(parts)
    return case("notes/1password.txt", ["Emergency kit", f"Secret Key: {key}"], key)


def sourcegraph(n: int) -> Case:
    token = ("sgp_" + mixed(16, HEX) + "_", "sgp_local_")[n] + mixed(40, HEX)
    return case(".env", [f"SRC_ACCESS_TOKEN={token}"], token)


def vault(n: int) -> Case:
    token = ("hvs." + mixed(100, URLSAFE), "hvb." + mixed(150, URLSAFE))[n]
    return case(
        "ci/vault.sh", ["export VAULT_ADDR=https://vault.internal:8200", f"export VAULT_TOKEN={token}"], token
    )


def vault_legacy(n: int) -> Case:
    token = "s." + mixed(24)
    if n == 0:
        return case("ci/vault.sh", [f"export VAULT_TOKEN={token}"], token)
    return case("ci/vault.yaml", ["vault:", f'  vault_token: "{token}"'], token)


def slack_webhook(n: int) -> Case:
    url = (
        f"https://hooks.slack.com/workflows/T{mixed(10, UPPER_ALNUM)}/A{mixed(10, UPPER_ALNUM)}/"
        f"{pick(18, string.digits)}/{mixed(24)}",
        f"https://hooks.slack.com/triggers/T{mixed(10, UPPER_ALNUM)}/{pick(13, string.digits)}/{mixed(32, HEX)}",
    )[n]
    return case("notify/slack.yaml", ["notify:", f"  url: {url}"], url)


def hex_token(n: int) -> Case:
    token = mixed(40, HEX)
    if n == 0:
        return case(
            ".config/hub",
            ["github.com:", "- user: jdoe", f"  oauth_token: {token}", "  protocol: https"],
            token,
        )
    return case(".bash_profile", [f"export HOMEBREW_GITHUB_API_TOKEN={token}"], token)


def aws_secret(n: int) -> Case:
    secret = mixed(30 + 14 * n, ALNUM + "/+")  # 30 or 44 characters: not the documented 40
    if n == 0:
        return case(
            ".aws/credentials",
            ["[default]", "region = eu-west-1", f"aws_secret_access_key = {secret}"],
            secret,
        )
    return case("deploy/aws.yaml", [f'AWS_SECRET_KEY: "{secret}"'], secret)


def docker_auth(n: int) -> Case:
    auth = b64(f"deploy:{password()}".encode())
    if n == 0:
        lines = [
            "{",
            '  "auths": {',
            '    "https://index.docker.io/v1/": {',
            f'      "auth": "{auth}"',
            "    }",
            "  }",
            "}",
        ]
        return case(".docker/config.json", lines, auth)
    return case(
        ".dockercfg", ['{"registry.example.com": {"auth": "' + auth + '", "email": "ci@example.com"}}'], auth
    )


def npmrc(n: int) -> Case:
    if n == 0:
        token = str(uuid.uuid4())  # npm's legacy tokens are UUIDs (detect-secrets filters every UUID out)
        return case(".npmrc", [f"//registry.npmjs.org/:_authToken={token}"], token)
    auth = b64(f"ci:{password()}".encode())
    return case(".npmrc", ["registry=https://npm.example.com/", f"_auth={auth}", "always-auth=true"], auth)


def bcrypt() -> str:
    return "$2y$10$" + mixed(53, CRYPT)


def password_hash(n: int) -> Case:
    if n == 0:
        hashed = bcrypt()
        return case("web/.htpasswd", [f"admin:{hashed}"], hashed)
    hashed = f"$6${mixed(16, CRYPT)}${mixed(86, CRYPT)}"
    return case(
        "backup/etc/shadow", [f"root:{hashed}:19700:0:99999:7:::", "daemon:*:19700:0:99999:7:::"], hashed
    )


def netrc(n: int) -> Case:
    pw = password()
    if n == 0:
        return case(".netrc", ["machine api.example.com", "  login deploy", f"  password {pw}"], pw)
    return case(".netrc", [f"machine git.example.com login ci password {pw}"], pw)


def pgpass(n: int) -> Case:
    pw = password()
    line = (f"db.example.com:5432:payments:app:{pw}", f"*:*:*:replicator:{pw}")[n]
    return case(".pgpass", [line], pw)


def url_credentials(n: int) -> Case:
    pw = password()
    if n == 0:
        return case(".git-credentials", [f"https://jdoe:{pw}#1@git.example.com"], pw + "#1")  # `#` as written
    return case("deploy/app.env", [f"DATABASE_URL=postgres://app:{pw}@db.internal:5432/pay"], pw)


def curl_user(n: int) -> Case:
    pw = password()
    line = (
        f"curl -u deploy:{pw} https://api.example.com/x",
        f'curl -s --user "ci:{pw}" -X POST https://ci.example.com',
    )
    return case("scripts/deploy.sh", ["#!/bin/sh", line[n]], pw)


def curl_header(n: int) -> Case:
    if n == 0:
        token = mixed(40)
        return case(
            "docs/api.md",
            ["```", f'curl -H "Authorization: Bearer {token}" https://api.example.com', "```"],
            token,
        )
    token = b64(f"ci:{password()}".encode())
    lines = [
        "#!/bin/sh",
        "curl -X POST \\",
        f"  -H 'Authorization: Basic {token}' \\",
        "  https://ci.example.com/job",
    ]
    return case("scripts/trigger.sh", lines, token)


def php_define(n: int) -> Case:
    pw = password()
    line = (f"define( 'DB_PASSWORD', '{pw}' );", f'define("SMTP_PASS", "{pw}");')[n]
    return case("wp-config.php", ["<?php", "define( 'DB_NAME', 'wordpress' );", line], pw)


def wordpress_salt(n: int) -> Case:
    while True:
        salt = pick(64, WP)
        if "unique phrase" not in salt:
            break
    line = (f"define('AUTH_KEY',         '{salt}');", f"define( 'NONCE_SALT', '{salt}' );")[n]
    return case("wp-config.php", ["<?php", line], salt)


def django(n: int) -> Case:
    if n == 0:
        key = "django-insecure-" + mixed(50, string.ascii_lowercase + string.digits + "!@#%^&*(-_=+)")
        return case("mysite/settings.py", ["DEBUG = False", f"SECRET_KEY = '{key}'"], key)
    key = mixed(32)
    return case("app/__init__.py", ["app = Flask(__name__)", f'app.config["SECRET_KEY"] = "{key}"'], key)


def laravel(n: int) -> Case:
    key = "base64:" + b64(secrets.token_bytes(32))
    if n == 0:
        return case(".env", ["APP_NAME=Shop", f"APP_KEY={key}"], key)
    return case("config/app.php", ["<?php", "return [", f"    'key' => env('APP_KEY', '{key}'),", "];"], key)


def generic(n: int) -> Case:
    if n == 0:
        pw = password()
        return case("deploy/mailer.env", ["MAILER_HOST=smtp.example.com", f"MAILER_PASSWORD={pw}"], pw)
    secret = shaped(32, URLSAFE)
    return case("config/oauth.yml", ["oauth:", "  client_id: portal", f"  client_secret: {secret}"], secret)


def generic_element(n: int) -> Case:
    pw = password()
    if n == 0:
        lines = [
            "<settings><servers><server>",
            "  <id>releases</id>",
            "  <username>ci</username>",
            f"  <password>{pw}</password>",
            "</server></servers></settings>",
        ]
        return case(".m2/settings.xml", lines, pw)
    return case("conf/app.xml", [f"<config><apiKey>{pw}</apiKey></config>"], pw)


def generic_app_setting(n: int) -> Case:
    pw = password()
    name = ("SmtpPassword", "Payments.ApiKey")[n]
    return case("Web.config", ["<appSettings>", f'  <add key="{name}" value="{pw}" />', "</appSettings>"], pw)


TRUE: dict[str, Callable[[int], Case]] = {
    "anthropic-api-key": anthropic,
    "digitalocean-token": digitalocean,
    "digitalocean-legacy-token": digitalocean_legacy,
    "facebook-access-token": facebook_token,
    "facebook-app-access-token": facebook_app_token,
    "facebook-app-secret": facebook_secret,
    "notion-token": notion,
    "notion-legacy-token": notion_legacy,
    "1password-service-account-token": onepassword_service,
    "1password-secret-key": onepassword_secret_key,
    "sourcegraph-token": sourcegraph,
    "vault-token": vault,
    "vault-legacy-token": vault_legacy,
    "slack-webhook-url": slack_webhook,
    "hex-token-assigned": hex_token,
    "aws-secret-key-assigned": aws_secret,
    "docker-config-auth": docker_auth,
    "npmrc-credential": npmrc,
    "password-hash": password_hash,
    "netrc-password": netrc,
    "pgpass-password": pgpass,
    "url-credentials": url_credentials,
    "curl-user": curl_user,
    "curl-authorization-header": curl_header,
    "php-define-credential": php_define,
    "wordpress-salt": wordpress_salt,
    "django-secret-key": django,
    "laravel-app-key": laravel,
    "generic-assignment": generic,
    "generic-xml-element": generic_element,
    "generic-app-setting": generic_app_setting,
}


def whole_sample(name: str, n: int) -> tuple[str, str, str]:
    made = TRUE[name](n)
    return made.path, made.text, made.value


# name -> n -> (path, text, value): what test_secret_values.py holds every detector to reporting whole
WHOLE_SAMPLES: dict[str, Callable[[int], tuple[str, str, str]]] = {
    name: functools.partial(whole_sample, name) for name in TRUE
}

# --- false samples: look-alikes that no detector may report ---------------------------------------------------
