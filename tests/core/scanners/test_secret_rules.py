"""Our secret rules (core/scanners/secret_rules/): for every detector, true samples are found (rule, file, line,
hash and preview of the whole credential) and false samples (placeholders, examples, wrong lengths, references)
are not, through the real scanner over a folder. Every credential-looking value is generated here at test time
from random characters of its documented alphabet and length; none is written literally.

The true samples are generated in tests/support/secret_samples.py, which test_secret_values.py reads too (it holds
every detector to reporting whole values).
"""

from __future__ import annotations

import asyncio
import random
import secrets
import string
from pathlib import Path

import pytest

from core.scanners import secret_catalog
from core.scanners.azure_detectors import AWS_SECRET_KEY
from core.scanners.secret_rules import DETECTORS as RULE_DETECTORS
from core.scanners.secret_rules import files, providers
from core.scanners.secret_rules.base import credential_name, credential_shaped, peer_placeholder
from core.scanners.secrets import DETECT_SECRETS_TYPES, SCANNER, our_hits
from core.scans.scanner import ScanContext, redacted_preview, secret_hash
from tests.support.secret_samples import ALNUM, B64, CRYPT, HEX, TRUE, URLSAFE, b64, mixed, password, pick

KEY = b"service-key-for-tests"


def false_samples() -> dict[str, list[tuple[str, str]]]:
    return {
        "anthropic-api-key": [
            ("docs/keys.md", f"Keys look like sk-ant-api03-{mixed(20, URLSAFE)}\n"),  # too short
            ("docs/setup.md", "export ANTHROPIC_API_KEY=sk-ant-api03-...\n"),
        ],
        "digitalocean-token": [("docs/do.md", f"looks like dop_v1_{mixed(32, HEX)}\n")],
        "digitalocean-legacy-token": [
            ("build/sums.txt", f"checksum: {mixed(64, HEX)}\n"),  # no provider named
            ("deploy/do.env", "DIGITALOCEAN_ACCESS_TOKEN=" + "0" * 64 + "\n"),  # no letter: a filler
        ],
        "facebook-access-token": [("web/fb.js", f'const prefix = "EAA{mixed(20)}";\n')],
        "facebook-app-access-token": [
            ("docs/graph.md", "https://graph.facebook.com/me?access_token=12345|abc\n")
        ],
        "facebook-app-secret": [
            ("app/.env", f"FACEBOOK_APP_ID={pick(15, string.digits)}\n"),
            ("build/sums.txt", f"md5 {mixed(32, HEX)} app.js\n"),  # 32 hex characters, no Facebook
        ],
        "notion-token": [("docs/notion.md", f"see ntn_{pick(5, string.digits)}\n")],
        "notion-legacy-token": [
            ("app/config.py", f'value = "secret_{mixed(43)}"\n')
        ],  # no Notion in the file
        "1password-service-account-token": [("docs/op.md", f"Tokens start with ops_eyJ{mixed(20)}\n")],
        "1password-secret-key": [("notes/1password.txt", "Secret Key: A3-ABCDEF-GHIJK\n")],
        "sourcegraph-token": [("docs/src.md", f"looks like sgp_{mixed(20, HEX)}\n")],
        "vault-token": [("docs/vault.md", f"Vault tokens start with hvs.{mixed(10)}\n")],
        "vault-legacy-token": [
            ("ci/vault.sh", "export VAULT_ADDR=https://vault.internal\nvault_version = 's.1'\n")
        ],
        "slack-webhook-url": [("notify/slack.yaml", "url: https://hooks.slack.com/workflows/\n")],
        "hex-token-assigned": [
            (".config/hub", "oauth_token: " + pick(40, string.digits) + "\n"),  # digits only
            ("build/info.yaml", f"git_commit: {mixed(40, HEX)}\n"),  # not a token name
        ],
        "aws-secret-key-assigned": [
            (".aws/credentials", "[default]\naws_secret_access_key = ${AWS_SECRET_ACCESS_KEY}\n"),
            ("docs/aws.md", "aws_secret_access_key = <paste yours here>\n"),
        ],
        "docker-config-auth": [
            (".docker/config.json", '{"auths": {"ghcr.io": {}}, "credsStore": "desktop"}\n'),
            (".docker/config.json", '{"auths": {"ghcr.io": {"auth": ""}}}\n'),
        ],
        "npmrc-credential": [(".npmrc", "//registry.npmjs.org/:_authToken=${NPM_TOKEN}\n")],
        "password-hash": [
            ("docs/hashes.md", f"bcrypt looks like $2y$10${mixed(20, CRYPT)}\n"),  # truncated
            ("docs/shadow.md", "root:$6$salt$short:19700:0:99999:7:::\n"),
        ],
        "netrc-password": [
            (".netrc", "machine api.example.com login deploy password $NETRC_PASSWORD\n"),
            ("docs/vm.md", "The machine asks for your password every time you log in.\n"),
        ],
        "pgpass-password": [
            (".pgpass", "localhost:5432:*:postgres:${PGPASSWORD}\n"),
            ("logs/times.txt", "12:30:45:00:00\n"),
        ],
        "url-credentials": [(".git-credentials", "https://${GIT_USER}:${GIT_TOKEN}@github.com\n")],
        "curl-user": [
            ("scripts/deploy.sh", 'curl -u "$API_USER:$API_PASSWORD" https://api.example.com\n'),
            ("scripts/run.sh", "docker run -u 1000:1000 image\n"),
        ],
        "curl-authorization-header": [
            ("scripts/deploy.sh", 'curl -H "Authorization: Bearer $TOKEN" https://api.example.com\n'),
            ("docs/api.md", "curl -H 'Authorization: Bearer <token>' https://api.example.com\n"),
        ],
        "php-define-credential": [
            ("wp-config-sample.php", "<?php\ndefine( 'DB_PASSWORD', 'password_here' );\n"),
            ("wp-config.php", "<?php\ndefine( 'DB_PASSWORD', getenv('DB_PASSWORD') );\n"),
        ],
        "wordpress-salt": [
            ("wp-config-sample.php", "<?php\ndefine( 'AUTH_KEY', 'put your unique phrase here' );\n")
        ],
        "django-secret-key": [
            ("mysite/settings.py", 'SECRET_KEY = os.environ["DJANGO_SECRET_KEY"]\n'),
            ("mysite/settings.py", "SECRET_KEY = '{{ secret_key }}'\n"),
        ],
        "laravel-app-key": [(".env.example", "APP_NAME=Shop\nAPP_KEY=\n")],
        "generic-assignment": [
            ("app/config.py", 'password = os.environ["DB_PASSWORD"]\n'),
            ("app/.env.example", "DB_PASSWORD=changeme\nAPI_KEY=<your-api-key>\n"),
            (
                "k8s/values.yaml",
                "password: ${DB_PASSWORD}\ntoken: '{{ .Values.token }}'\nsecretName: db-credentials\n",
            ),
            (
                "app/client.js",
                "const token = localStorage.getItem('token');\nconst auth = this.authService;\n",
            ),
            ("app/models.py", "password = models.CharField(max_length=128)\ntoken_count = 5\n"),
            ("config/app.yaml", "auth: true\ntokenEndpoint: https://login.example.com/oauth2/token\n"),
            ("docs/i18n.json", '{"password": "Mot de passe", "passwordHint": "At least 8 characters"}\n'),
            ("app/settings.ini", "[db]\npassword = ********\nsecret = <redacted>\n"),
            (
                "lib/client.py",
                '    """:param token: OAuth2 token."""\n    def login(self, password: bytes) -> None:\n',
            ),
            ("lib/theme.py", 'STYLE = {Token.Name.Lvalue: "#08547A", AUTH_REQUIRED_SASL: "scram-sha-256"}\n'),
            ("tests/gen.py", 'token = "Xq7" + random_suffix()\nnext_token = "ab12cd34ef56"\n'),
            ("data/paginators.json", '{"output_token": "Jobs[-1].JobId", "license_key": "zpl-2.1"}\n'),
        ],
        "generic-xml-element": [
            (".m2/settings.xml", "<server><password>${env.MAVEN_PASSWORD}</password></server>\n"),
            (".m2/settings.xml", "<server><password>{COQLCE6DU6GtcS5P=}</password></server>\n"),  # encrypted
        ],
        "generic-app-setting": [
            (
                "Web.config",
                '<add key="PasswordPolicy" value="Strong" />\n<add key="ApiKey" value="#{ApiKey}#" />\n',
            ),
        ],
    }


def write(root: Path, files: dict[str, str]) -> Path:
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    return root


def scan(root: Path):
    return asyncio.run(SCANNER.scan(ScanContext(root=root, secret_key=KEY)))


DETECTOR_RULES = {detector.name: detector.rule.id for detector in RULE_DETECTORS}


def test_every_detector_has_true_and_false_samples():
    assert set(TRUE) == set(DETECTOR_RULES)
    assert set(false_samples()) == set(DETECTOR_RULES)


GENERIC_RULES = {
    "SECRET-GENERIC-CREDENTIAL",
    "SECRET-KEYWORD",
}  # detect-secrets' keyword plugin wins a tie (40)


@pytest.mark.parametrize("name", sorted(TRUE))
def test_true_samples_are_found_whole(name, tmp_path):
    rules = GENERIC_RULES if name.startswith("generic-") else {DETECTOR_RULES[name]}
    for n in (0, 1):
        sample = TRUE[name](n)
        findings = scan(write(tmp_path / str(n), {sample.path: sample.text}))
        assert [(f.path, f.line, f.preview, f.secret_hash) for f in findings] == [
            (sample.path, sample.line, redacted_preview(sample.value), secret_hash(KEY, sample.value))
        ], sample.text
        assert findings[0].rule.id in rules
        assert sample.value not in repr(findings)
        ours = [h for h in our_hits(sample.path, sample.text) if h.source == name]
        assert [(h.value, h.line) for h in ours] == [(sample.value, sample.line)]


@pytest.mark.parametrize("name", sorted(TRUE))
def test_false_samples_are_not_found(name, tmp_path):
    """None of our detectors reports a false sample (detect-secrets' own plugins may: not ours to judge here), and
    the scan has no finding under the rule."""
    for n, (path, text) in enumerate(false_samples()[name]):
        assert [(h.source, h.line) for h in our_hits(path, text)] == [], text
        findings = scan(write(tmp_path / str(n), {path: text}))
        assert DETECTOR_RULES[name] not in {f.rule.id for f in findings}, text


def test_more_password_hash_formats(tmp_path):
    hashes = {
        "sha256-crypt": f"$5$rounds=5000${mixed(16, CRYPT)}${mixed(43, CRYPT)}",
        "md5-crypt": f"$1${mixed(8, CRYPT)}${mixed(22, CRYPT)}",
        "apr1": f"$apr1${mixed(8, CRYPT)}${mixed(22, CRYPT)}",
        "yescrypt": f"$y$j9T${mixed(22, CRYPT)}${mixed(43, CRYPT)}",
        "htpasswd-sha": "{SHA}" + b64(secrets.token_bytes(20)),
    }
    dump = "\n".join(
        ["-- MySQL dump", "INSERT INTO `users` VALUES"]
        + [f"({i},'user{i}','{value}')," for i, value in enumerate(hashes.values())]
    )
    findings = scan(write(tmp_path, {"backup/users.sql": dump + "\n"}))
    assert [(f.rule.id, f.line, f.secret_hash) for f in findings] == [
        ("SECRET-PASSWORD-HASH", i + 3, secret_hash(KEY, value)) for i, value in enumerate(hashes.values())
    ]


SYNTAXES = {  # the generic rule across formats: path, text with {v}, (line)
    "shell export": ("scripts/env.sh", "#!/bin/sh\nexport DEPLOY_TOKEN={v}\n", 2),
    "json": ("config/app.json", '{{\n  "db": {{"password": "{v}"}}\n}}\n', 2),
    "ini": ("config/app.ini", "[smtp]\nsender = ci\npassword = {v}\n", 3),
    "properties": ("src/main/resources/application.properties", "spring.datasource.password={v}\n", 1),
    "xml attribute": ("conf/server.xml", '<Resource name="jdbc/db" username="app" password="{v}"/>\n', 1),
    "php array": ("config.inc.php", "<?php\n$cfg['Servers'][$i]['password'] = '{v}';\n", 2),
    "php arrow": ("config/db.php", "<?php\nreturn ['password' => '{v}'];\n", 2),
    "js object": ("src/config.js", "module.exports = {{\n  apiKey: '{v}',\n}};\n", 2),
    "python kwarg": ("app/db.py", 'connect(host="db", passwd="{v}")\n', 1),
    "go": ("main.go", 'func main() {{\n\tclientSecret := "{v}"\n}}\n', 2),
    "yaml": ("k8s/secret.yaml", "stringData:\n  api-key: {v}\n", 2),
    "env": (".env", "PGPASSWORD={v}\n", 1),
}


@pytest.mark.parametrize("syntax", sorted(SYNTAXES))
def test_the_generic_rule_reads_every_syntax(syntax, tmp_path):
    path, template, line = SYNTAXES[syntax]
    value = password()
    findings = scan(write(tmp_path, {path: template.format(v=value)}))
    # detect-secrets' keyword plugin (more specific by our ordering) keeps the value where it finds it too (and
    # places an INI value on the line above, its own bug: then both lines have a finding of the one secret).
    assert (line, secret_hash(KEY, value)) in {(f.line, f.secret_hash) for f in findings}
    assert {(f.secret_hash, f.rule.id in GENERIC_RULES) for f in findings} == {
        (secret_hash(KEY, value), True)
    }
    generic = [
        h for h in our_hits(path, template.format(v=value)) if h.rule.id == "SECRET-GENERIC-CREDENTIAL"
    ]
    assert [h.value for h in generic] == [value]


@pytest.mark.parametrize("alphabet", [ALNUM, URLSAFE, B64, string.ascii_lowercase + string.digits])
def test_random_values_are_credential_shaped(alphabet):
    """Of 2,000 random 20-character values of an alphabet, the generic rule's shape test refuses fewer than 3%
    (measured: 0.5% of mixed-case ones, 2.2% of lowercase-and-digit ones, whose letter runs read as words more
    often; and placeholders by chance)."""
    rng = random.Random(20)
    values = ["".join(rng.choice(alphabet) for _ in range(20)) for _ in range(2000)]
    refused = sum(1 for value in values if not credential_shaped(value, quoted=False))
    assert refused < 60, refused


def test_peer_placeholders():
    assert (
        peer_placeholder("password") and peer_placeholder("Mot de passe") and peer_placeholder("${DB_PASS}")
    )
    assert not peer_placeholder(password())


def test_credential_names_and_shapes():
    for name in (
        "DB_PASSWORD",
        "apiKey",
        "oauth_token",
        "client-secret",
        "PGPASSWORD",
        "x-auth-token",
        "passwd",
    ):
        assert credential_name(name), name
    for name in (
        "token_url",
        "secretName",
        "author",
        "passport",
        "csrf_token",
        "public_key",
        "key",
        "bypass",
    ):
        assert not credential_name(name), name
    for value in ("true", "12345678", "/etc/ssl/key.pem", "https://example.com", "db-password", "a" * 30):
        assert not credential_shaped(value, quoted=True), value
    for value in ("#08547A", "urn:ietf:params:oauth:grant-type:device_code", "GRANT_TYPE_SAML1_1"):
        assert not credential_shaped(value, quoted=True), value  # a colour, a URN, a constant's name
    for value in ("CertificateIssuerPrivateKeyTypes", "requires_oAuth2_configuration", "string?"):
        assert not credential_shaped(value, quoted=True), value  # words: type names, identifiers
    for value in ("(self.auth[0]", "lambda:", "hash(password"):
        assert not credential_shaped(value, quoted=False), value  # expressions
    assert credential_shaped(password(), quoted=False)


def test_typed_rules_win_over_generic_and_peers_share_rules(tmp_path):
    """A value both a typed detector and the generic one find is one finding under the typed rule; our detectors
    that meet detect-secrets' plugins on the same value use rules equal to its."""
    assert DETECT_SECRETS_TYPES["Slack Token"].rule == providers.SLACK
    assert DETECT_SECRETS_TYPES["Basic Auth Credentials"].rule == files.URL_CREDENTIALS
    token = "dop_v1_" + mixed(64, HEX)
    [finding] = scan(write(tmp_path, {".env": f"DIGITALOCEAN_TOKEN={token}\n"}))
    assert (finding.rule.id, finding.secret_hash) == ("SECRET-DIGITALOCEAN-TOKEN", secret_hash(KEY, token))
    assert {d.name for d in RULE_DETECTORS} <= {d.name for d in secret_catalog.DETECTORS}
    generic_specificity = max(d.specificity for d in RULE_DETECTORS)
    assert all(
        d.specificity < generic_specificity
        for d in RULE_DETECTORS
        if d.rule.id != "SECRET-GENERIC-CREDENTIAL"
    )


def test_every_rule_describes_itself():
    for detector in RULE_DETECTORS:
        rule = detector.rule
        assert rule.id.startswith("SECRET-") and rule.title and rule.rationale and rule.remediation
        assert rule.severity in {"CRITICAL", "HIGH", "MEDIUM", "LOW"}
        assert rule.help_uri.startswith("https://") or rule in {
            providers.SLACK,  # detect-secrets' rules, shared (see test_typed_rules_win_over_generic_...)
            files.URL_CREDENTIALS,
            AWS_SECRET_KEY,  # azure_detectors' rule, which the any-length AWS detector reports too
        }
        assert detector.hints or detector.name == "pgpass-password", detector.name
        assert all(hint == hint.lower() for hint in detector.hints)
        assert SCANNER.rules and rule.id in {r.id for r in SCANNER.rules}


# --- no catastrophic backtracking -------------------------------------------------------------------------------


def repeats(tree, inside: int = 1):
    """Every repetition in a parsed pattern, with the product of the maxima of the repetitions around it."""
    from re import _constants as constants
    from re import _parser as parser

    for op, arg in tree:
        if op in (constants.MAX_REPEAT, constants.MIN_REPEAT, constants.POSSESSIVE_REPEAT):
            _, high, body = arg
            yield inside, high, body
            yield from repeats(body, inside * (high if high != constants.MAXREPEAT else 10**9))
        elif op in (constants.SUBPATTERN, constants.ATOMIC_GROUP):
            yield from repeats(arg[-1], inside)
        elif op == constants.BRANCH:
            for branch in arg[1]:
                yield from repeats(branch, inside)
        elif op in (constants.ASSERT, constants.ASSERT_NOT):
            yield from repeats(arg[1], inside)
        elif op == constants.GROUPREF_EXISTS:
            for branch in arg[1:]:
                if branch is not None:
                    yield from repeats(branch, inside)
        elif isinstance(arg, parser.SubPattern):
            yield from repeats(arg, inside)


def patterns():
    for detector in RULE_DETECTORS:
        yield detector.name, detector.pattern
        if detector.context is not None:
            yield detector.name + " (context)", detector.context


@pytest.mark.parametrize("name,pattern", list(patterns()), ids=[n for n, _ in patterns()])
def test_no_pattern_can_backtrack_catastrophically(name, pattern):
    """Structure: an unbounded repetition holds one character class and sits inside no other repetition, and
    nested bounded ones multiply to at most 100,000 steps per start: the work is linear in the input."""
    from re import _constants as constants
    from re import _parser as parser

    for inside, high, body in repeats(parser.parse(pattern.pattern, pattern.flags)):
        if high == constants.MAXREPEAT:
            assert (
                inside == 1
                and len(body) == 1
                and body[0][0]
                in (
                    constants.IN,
                    constants.LITERAL,
                    constants.NOT_LITERAL,
                    constants.ANY,
                    constants.CATEGORY,
                )
            ), name
        else:
            assert inside * high <= 100_000, name


@pytest.mark.parametrize("filler", [" ", "a", "password=", "$2y$10$", "://a:", "<a>", "define('", "EAA"])
def test_a_megabyte_line_is_handled(filler):
    """A 1 MB single line of a filler, with nothing to find: every detector completes and finds nothing."""
    text = filler * (1024 * 1024 // len(filler))
    assert len(text) >= 1024 * 1024 - len(filler)
    assert list(our_hits("big.txt", text + "\n")) == []
