"""Credentials in well-known files and framework settings: password hashes (`.htpasswd`, shadow files, SQL dumps),
`.netrc`, `.pgpass`, credentials in URLs (`.git-credentials` and any `scheme://user:password@host`), `curl`
command lines, PHP `define()`s and WordPress salts, Django/Flask `SECRET_KEY`, Laravel `APP_KEY`.

The value is the credential as it is used: the password itself (URLs, `.netrc`, `.pgpass`, `curl -u`), the
whole hash, the whole key.

Patterns: every repetition is either bounded or a single character class outside any other repetition (linear
in `re`), and a run of one class is left unbounded rather than given a large bound, which Hyperscan (the
secrets scanner's prefilter) compiles slowly; the judges bound the value's length instead.
"""

from __future__ import annotations

import re

from core.scanners.azure_detectors import Detector
from core.scanners.secret_rules.base import (
    Judged,
    credential_name,
    is_dummy,
    password_shaped,
    peer_rule,
    secret_rule,
    shannon,
)

HASH_REMEDIATION = (
    "Change the password the hash was made from (a leaked hash can be cracked offline, and an unsalted or MD5-based "
    "one quickly), remove the file from the repository and its history, and keep account databases out of "
    "source control."
)
PASSWORD_HASH = secret_rule(
    "SECRET-PASSWORD-HASH",
    "Password hash",
    "HIGH",
    "A crypt(3) hash (bcrypt, sha512/sha256-crypt, md5-crypt, Apache apr1, yescrypt) or an LDAP/htpasswd SHA hash "
    "lets anyone guess the password offline at the speed of their own hardware.",
    "https://man7.org/linux/man-pages/man5/crypt.5.html",
    HASH_REMEDIATION,
)
NETRC = secret_rule(
    "SECRET-NETRC-PASSWORD",
    "Password in a .netrc file",
    "HIGH",
    "curl, git, ftp and pip send a `.netrc` password to its machine without asking.",
    "https://www.gnu.org/software/inetutils/manual/html_node/The-_002enetrc-file.html",
)
PGPASS = secret_rule(
    "SECRET-PGPASS-PASSWORD",
    "Password in a PostgreSQL .pgpass file",
    "HIGH",
    "A `.pgpass` line is `host:port:database:user:password`: direct access to that database.",
    "https://www.postgresql.org/docs/current/libpq-pgpass.html",
)
# Same fields as detect-secrets' basic-auth type in secrets.py, so a password both find is one finding.
URL_CREDENTIALS = peer_rule(
    "SECRET-BASIC-AUTH", "Credentials in a URL", "HIGH", "A user name and password in a URL."
)
CURL = secret_rule(
    "SECRET-CURL-CREDENTIALS",
    "Credentials on a curl command line",
    "HIGH",
    "`curl -u user:password` or an `Authorization` header written into a script or a document gives its "
    "reader the same access.",
    "https://curl.se/docs/manpage.html#-u",
)
PHP_DEFINE = secret_rule(
    "SECRET-PHP-DEFINE",
    "Password or key in a PHP define()",
    "HIGH",
    "A constant such as `DB_PASSWORD` in `wp-config.php` or another PHP configuration file is the database "
    "(or service) password itself.",
    "https://developer.wordpress.org/advanced-administration/wordpress/wp-config/#set-database-name",
)
WORDPRESS_SALT = secret_rule(
    "SECRET-WORDPRESS-SALT",
    "WordPress authentication key or salt",
    "MEDIUM",
    "WordPress signs its login cookies with these keys and salts: whoever knows them can forge sessions more "
    "easily; rotating them logs every user out.",
    "https://developer.wordpress.org/advanced-administration/wordpress/wp-config/#security-keys",
)
DJANGO_SECRET_KEY = secret_rule(
    "SECRET-DJANGO-SECRET-KEY",
    "Django or Flask SECRET_KEY",
    "HIGH",
    "The framework signs sessions, password-reset links and CSRF tokens with it: whoever knows it can forge "
    "them (and, with pickle-based sessions, run code).",
    "https://docs.djangoproject.com/en/stable/ref/settings/#secret-key",
)
LARAVEL_APP_KEY = secret_rule(
    "SECRET-LARAVEL-APP-KEY",
    "Laravel APP_KEY",
    "HIGH",
    "Laravel encrypts cookies and sessions with APP_KEY: whoever knows it can read and forge them.",
    "https://laravel.com/docs/master/encryption#configuration",
)

CRYPT = "./A-Za-z0-9"
HASHES = re.compile(
    rf"(?<![{CRYPT}$])(?P<secret>"
    rf"\$2[abxy]?\$\d{{2}}\$[{CRYPT}]{{53}}"  # bcrypt: cost, 22 salt + 31 hash characters
    rf"|\$[56]\$(?:rounds=\d{{1,9}}\$)?[{CRYPT}]{{1,16}}\$(?:[{CRYPT}]{{86}}|[{CRYPT}]{{43}})"  # sha512/256-crypt
    rf"|\$(?:1|apr1)\$[{CRYPT}]{{1,8}}\$[{CRYPT}]{{22}}"  # md5-crypt, Apache apr1
    rf"|\$y\$[{CRYPT}]{{1,16}}\$[{CRYPT}]{{1,86}}\$[{CRYPT}]{{43}}"  # yescrypt (current Debian/Ubuntu shadow)
    rf"|\{{SSHA\}}[A-Za-z0-9+/]{{32,80}}={{0,2}}|\{{SHA\}}[A-Za-z0-9+/]{{27}}="  # LDAP / htpasswd SHA-1
    rf")(?![{CRYPT}$])"
)


MAX_PASSWORD = (
    256  # longer runs are not passwords (patterns leave repetitions unbounded: see module docstring)
)


def url_password(match: re.Match) -> bool:
    value = match.group("secret")
    return len(value) <= MAX_PASSWORD and password_shaped(value, match.group("user"))


def netrc_password(match: re.Match) -> bool:
    return password_shaped(match.group("secret"))


IPV4 = re.compile(r"^\d{1,3}(?:\.\d{1,3}){3}$")


def pgpass_password(match: re.Match) -> bool:
    host, value = match.group("host"), match.group("secret")
    if not (host == "*" or IPV4.match(host) or any(c.isalpha() for c in host)):  # `12:30:45:…` is a time
        return False
    return len(value) <= MAX_PASSWORD and password_shaped(value.replace("\\:", ":"), match.group("user"))


def curl_user(match: re.Match) -> bool:
    value = match.group("secret")
    return len(value) <= MAX_PASSWORD and password_shaped(value, match.group("user"))


def curl_header(match: re.Match) -> bool:
    value = match.group("secret")
    return len(value) >= 8 and not is_dummy(value)


WORDPRESS_NAMES = re.compile(r"^(?:SECURE_)?AUTH_(?:KEY|SALT)$|^(?:LOGGED_IN|NONCE)_(?:KEY|SALT)$")


def php_define(match: re.Match) -> bool:
    name = match.group("name")
    if WORDPRESS_NAMES.match(name) or not credential_name(name):
        return False
    return password_shaped(match.group("secret"))


def wordpress_salt(match: re.Match) -> bool:
    value = match.group("secret")
    return len(value) >= 32 and shannon(value) >= 3.5 and "unique phrase" not in value.lower()


FRAMEWORK_DUMMY = re.compile(r"(?i)your|change|example|secret[-_ ]?key|placeholder|dummy|\{\{|\$\{|%\(|<")


def framework_key(match: re.Match) -> bool:
    value = match.group("secret")
    return len(value) >= 20 and shannon(value) >= 3.5 and not FRAMEWORK_DUMMY.search(value)


QUOTED = r"(?P<q>['\"])(?P<secret>(?:(?!(?P=q))[^\n\\]|\\[^\n]){1,256})(?P=q)"

DETECTORS: tuple[Detector, ...] = (
    Detector(
        "password-hash",
        PASSWORD_HASH,
        HASHES,
        hints=("$2", "$1$", "$5$", "$6$", "$apr1$", "$y$", "{sha}", "{ssha}"),
        specificity=5,
    ),
    # A `password` token of a `.netrc` entry, in a file that has a `machine`, on a line of netrc tokens only.
    Judged(
        "netrc-password",
        NETRC,
        re.compile(r"(?<!\S)password[ \t]+(?P<secret>\S{1,255})"),
        hints=("machine",),
        context=re.compile(
            r"^[ \t]{0,64}(?:machine[ \t]{1,16}\S{1,255}[ \t]{1,16}|default[ \t]{1,16})?"
            r"(?:(?:login|account|port)[ \t]{1,16}\S{1,255}[ \t]{1,16}){0,3}password[ \t]{1,16}\S{1,255}[ \t]{0,64}$"
        ),
        specificity=20,
        judge=netrc_password,
    ),
    Judged(
        "pgpass-password",
        PGPASS,
        re.compile(
            r"(?m)^(?P<host>\*|[A-Za-z0-9][A-Za-z0-9.-]*):(?:\d{2,5}|\*):"
            r"[A-Za-z0-9_*.$-]+:(?P<user>[A-Za-z0-9_*.@$-]+):(?P<secret>\S+)[ \t]*\r?$"
        ),
        specificity=20,
        judge=pgpass_password,
    ),
    # `.git-credentials` lines, connection URLs, remotes: the password of `scheme://user:password@host`.
    Judged(
        "url-credentials",
        URL_CREDENTIALS,
        re.compile(r"://(?P<user>[^\s:/?#@'\"<>\[\]{}]*):(?P<secret>[^\s/?@'\"<>{}]+)@(?=[A-Za-z0-9\[])"),
        hints=("://",),
        specificity=25,
        judge=url_password,
    ),
    Judged(
        "curl-user",
        CURL,
        re.compile(r"(?<![\w-])(?:-u|--user)(?:[ \t]+|=)[\"']?(?P<user>[^\s:'\"]+):(?P<secret>[^\s'\"]+)"),
        hints=("curl",),
        context=re.compile(r"\bcurl\b"),  # on curl's own line: `docker run -u 1000:1000` is not curl
        specificity=20,
        judge=curl_user,
    ),
    # The header of a curl command (often on a continuation line of its own), in a file that runs curl.
    Judged(
        "curl-authorization-header",
        CURL,
        re.compile(
            r"(?<![\w-])(?:-H|--header)(?:[ \t]{1,16}|=)[\"']?Authorization:[ \t]{0,16}"
            r"(?:Bearer|Basic|Token|token|bearer|basic)[ \t]{1,16}(?P<secret>[^\s'\"]{1,2000})",
        ),
        hints=("curl",),
        specificity=20,
        judge=curl_header,
    ),
    Judged(
        "php-define-credential",
        PHP_DEFINE,
        re.compile(
            r"define(?<![\w$]define)\([ \t]*['\"](?P<name>[A-Za-z0-9_]{1,64})['\"][ \t]*,[ \t]*" + QUOTED
        ),
        hints=("define",),
        specificity=20,
        judge=php_define,
    ),
    Judged(
        "wordpress-salt",
        WORDPRESS_SALT,
        re.compile(
            r"define(?<![\w$]define)\([ \t]*['\"](?P<name>(?:SECURE_)?AUTH_(?:KEY|SALT)|(?:LOGGED_IN|NONCE)_(?:KEY|SALT))['\"]"
            r"[ \t]*,[ \t]*" + QUOTED
        ),
        hints=("_key", "_salt"),
        specificity=19,
        judge=wordpress_salt,
    ),
    Judged(
        "django-secret-key",
        DJANGO_SECRET_KEY,
        re.compile(r"(?<![\w.])SECRET_KEY(?:['\"]\])?[ \t]*=[ \t]*" + QUOTED),
        hints=("secret_key",),
        specificity=18,
        judge=framework_key,
    ),
    Detector(
        "laravel-app-key",
        LARAVEL_APP_KEY,
        re.compile(
            r"APP_KEY['\"]?[ \t]*(?:=|,)[ \t]*['\"]?(?P<secret>base64:[A-Za-z0-9+/]{20,88}={0,2})(?![A-Za-z0-9+/=])"
        ),
        hints=("app_key",),
        specificity=18,
    ),
)
