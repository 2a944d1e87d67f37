"""Secrets throughput without loss: the prefilter answers what a full scan answers, the work on pathological
inputs is bounded (counted in lines, windows and characters handed to detect-secrets, never timed), and a scan in
several processes finds what one finds.

Every secret-looking value is generated here at test time.
"""

import random
import re
import secrets
import string
from pathlib import Path

import pytest
from detect_secrets.core import scan as detect_secrets_scan
from detect_secrets.filters import heuristic
from detect_secrets.settings import transient_settings

from core.scanners import multi_pattern
from core.scanners.secret_filters import is_indirect_reference
from core.scanners.secrets import (
    DETECT_SECRETS_LOCK,
    FILTERS,
    OUR_DETECTORS,
    PARALLEL_MIN_FILES,
    WINDOW,
    Stats,
    candidate_files,
    detect_secrets_file,
    enabled_plugins,
    gates,
    our_hits,
    read_text,
    scan_tree,
)

KEY = b"service-key-for-tests"
ALNUM = string.ascii_letters + string.digits


def alnum(n: int) -> str:
    return "".join(secrets.choice(ALNUM) for _ in range(n))


def github_token() -> str:
    return "ghp_" + alnum(36)


def base32(n: int) -> str:
    while True:
        value = "".join(secrets.choice("abcdefghijklmnopqrstuvwxyz234567") for _ in range(n))
        if any(c.isdigit() for c in value) and any(c.isalpha() for c in value):
            return value


def write(root: Path, files: dict[str, str]) -> Path:
    for path, content in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(content)
    return root


def found(findings) -> set[tuple[str, str, int]]:
    return {(f.rule.id, f.path, f.line) for f in findings}


def corpus(root: Path) -> Path:
    """Files of every shape the scanners care about, secrets and look-alikes, transformers included."""
    body = "\n".join(secrets.token_urlsafe(48).replace("-", "+").replace("_", "/") for _ in range(4))
    key_id = "AKIA" + "".join(secrets.choice(string.ascii_uppercase + "234567") for _ in range(16))
    return write(
        root,
        {
            "app/settings.py": f'DB_PASSWORD = "{alnum(18)}"\nGITHUB = "{github_token()}"\napi_key = get_key()\n',
            "app/config.yaml": f"db:\n  password: {alnum(16)}\n  key: |\n    {alnum(30)}\nother: value\n",
            "app/setup.cfg": f"[auth]\nsecret = {alnum(20)}\nuser = me\n",
            "keys/deploy.pem": f"-----BEGIN RSA PRIVATE KEY-----\n{body}\n-----END RSA PRIVATE KEY-----\n",
            "deploy/.env": f"AWS_ACCESS_KEY_ID={key_id}\nAZURE_DEVOPS_EXT_PAT={base32(52)}\n",
            "deploy/slack.txt": f"xoxb-{secrets.randbelow(10**12)}-{secrets.randbelow(10**12)}-{alnum(24)}\n",
            "web/index.js": f"const conf = {{token: '{github_token()}', password: \"{alnum(12)}\"}};\n",
            "docs/readme.md": "# Title\n\nNo secret here, only prose about passwords and keys.\n",
            "docs/url.md": f"clone https://user:{alnum(14)}@example.com/repo.git\n",
            "src/main.go": f'password := "{alnum(16)}"\n',
            "src/App.cs": f'var password = "{alnum(16)}";\n',
            "plain/data.json": '{"id": "00000000-0000-0000-0000-000000000000", "name": "x"}\n',
        },
    )


def upstream_reports(path: str) -> list[tuple]:
    """detect-secrets' own scan_file, every report."""
    return sorted((s.type, s.line_number, s.secret_value or "") for s in detect_secrets_scan.scan_file(path))


def our_reports(path: str, engine: str) -> list[tuple]:
    return sorted(
        (s.type, s.line_number, s.secret_value or "")
        for s in detect_secrets_file(path, gates(False, engine), Stats())
    )


@pytest.mark.parametrize("engine", ["auto", "re"])
def test_the_prefilter_loses_nothing_against_a_full_scan(tmp_path, engine):
    """Per file: detect-secrets behind our line gate reports exactly what its own scan_file reports, every file
    with a report passes the file gate, and our detectors behind the gate find what all of them find."""
    root = corpus(tmp_path)
    gate = gates(False, engine)
    reported = 0
    with (
        DETECT_SECRETS_LOCK,
        transient_settings({"plugins_used": enabled_plugins(False), "filters_used": FILTERS}),
    ):
        for path in candidate_files(root):
            expected = upstream_reports(str(path))
            reported += len(expected)
            assert our_reports(str(path), engine) == expected, path.name
            text = read_text(path)
            possible = gate.file.possible(text)
            if expected:
                assert gate.file_plugin_names(possible), path.name
            everything = [
                (h.rule.id, h.line, h.value) for h in our_hits("x", text, detectors=list(OUR_DETECTORS))
            ]
            gated = [
                (h.rule.id, h.line, h.value)
                for h in our_hits("x", text, detectors=gate.our_detectors(possible))
            ]
            assert gated == everything, path.name
    assert reported >= 8  # the corpus does exercise detect-secrets


def test_both_engines_give_the_same_findings(tmp_path):
    root = corpus(tmp_path)
    assert gates(False).file.engine == "hyperscan"  # a dependency: the fast path is the one tested
    fast, slow = scan_tree(root, KEY), scan_tree(root, KEY, engine="re")
    assert fast == slow
    assert len(fast) >= 10


def test_relaxed_patterns_match_wherever_the_originals_do(tmp_path):
    """Every pattern of both gates, on every line and whole file of the corpus and on generated strings."""
    root = corpus(tmp_path)
    rng = random.Random(7)
    texts = [read_text(p) for p in candidate_files(root)]
    texts += [line for text in list(texts) for line in text.splitlines()]
    texts += ["".join(rng.choice(ALNUM + " =:'\"_-./+\n\tñK\u212a") for _ in range(80)) for _ in range(300)]
    for entropy in (False, True):
        for engine in (gates(entropy).file, gates(entropy).line):
            for text in texts:
                possible = engine.possible(text)
                for index, pattern in enumerate(engine.patterns):
                    if pattern.search(text):
                        assert index in possible, (pattern.pattern, text)


def test_case_folds_of_ascii_letters_are_the_ones_python_applies():
    folds: dict[str, set[int]] = {}
    letters = re.compile("(?i)[a-z]")
    for code in range(0x80, 0x110000):
        if letters.fullmatch(chr(code)):
            for letter in string.ascii_lowercase:
                if re.fullmatch(f"(?i){letter}", chr(code)):
                    folds.setdefault(letter, set()).add(code)
    assert folds == {k: set(v) for k, v in multi_pattern.EXTRA_FOLDS.items()}


def test_the_indirect_reference_filter_answers_as_upstream():
    rng = random.Random(12)
    alphabet = " \t\v=!:[]()a_.-x1\n"
    lines = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 16))) for _ in range(30_000)]
    lines += [
        "secret = get_secret_key()",
        "secret = request.headers['apikey']",
        "password = 'x'",
        "a := b(c]",
    ]
    for line in lines:
        assert is_indirect_reference(line) == heuristic.is_indirect_reference(line), repr(line)
    paths = {f["path"] for f in FILTERS}
    assert "core.scanners.secret_filters.is_indirect_reference" in paths
    assert "detect_secrets.filters.heuristic.is_indirect_reference" not in paths


def test_a_long_line_of_spaces_is_handed_to_detect_secrets_in_bounded_windows(tmp_path):
    """200 KB of spaces around a keyword assignment (upstream's filter alone costs 5 s on 999 spaces): only the
    windows where a plugin may report are analysed, none longer than WINDOW."""
    password = alnum(20)
    line = " " * 100_000 + f'password = "{password}"' + " " * 100_000
    table = "| a | b |\n|---|---|\n" + "".join(f"| {n} |{' ' * 900}| x = y(z) |\n" for n in range(150))
    root = write(tmp_path, {"docs/spaces.py": f"x = 1\n{line}\n", "docs/table.md": table})
    stats = Stats()
    findings = scan_tree(root, KEY, stats=stats)
    assert found(findings) == {("SECRET-KEYWORD", "docs/spaces.py", 2)}
    assert stats.longest_unit <= WINDOW
    assert stats.units <= 3  # the windows holding the assignment, not the 130 windows of the line
    assert stats.unit_chars <= 3 * WINDOW
    assert (
        stats.detect_secrets_files == 1
    )  # the table (no plugin can report on it) is not read by detect-secrets


def test_a_minified_megabyte_is_scanned_whole_with_bounded_detect_secrets_work(tmp_path):
    """A 1 MB one-line bundle: the token planted in its middle is found (minified files are not skipped), and
    detect-secrets analyses a handful of windows of it, not the megabyte."""
    token = github_token()
    rng = random.Random(3)
    parts, size = [], 0
    while size < 1024 * 1024:
        part = f'function {rng.choice("abcdef")}{size}(e,t){{return e.get(t,"v{size}")||null}};'
        parts.append(part)
        size += len(part)
    parts.insert(len(parts) // 2, f'var cfg={{auth:"{token}"}};')
    root = write(tmp_path, {"web/dist/app.min.js": "".join(parts) + "\n"})
    stats = Stats()
    findings = scan_tree(root, KEY, stats=stats)
    assert ("SECRET-GITHUB-TOKEN", "web/dist/app.min.js", 1) in found(findings)
    assert stats.bytes >= 1024 * 1024
    assert stats.longest_unit <= WINDOW
    assert stats.units <= 4
    assert stats.plugin_calls <= 8


def test_a_scan_in_several_processes_finds_what_one_process_finds(tmp_path):
    files = {}
    for n in range(PARALLEL_MIN_FILES + 20):
        secret = {0: f'token = "{github_token()}"', 1: f"AZURE_DEVOPS_EXT_PAT={base32(52)}"}.get(
            n % 7, "x = 1"
        )
        files[f"d{n % 9}/f{n}.py"] = f"# file {n}\n{secret}\n"
    root = write(tmp_path, files)
    one, two = Stats(), Stats()
    sequential = scan_tree(root, KEY, stats=one)
    parallel = scan_tree(root, KEY, workers=2, stats=two)
    assert parallel == sequential
    assert len(sequential) >= 2 * (PARALLEL_MIN_FILES // 7)
    assert (two.files, two.bytes, two.units) == (one.files, one.bytes, one.units)
