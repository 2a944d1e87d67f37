"""Our Semgrep rule pack: every rule passes `semgrep --test` on the annotated target beside it, and describes itself
(title, CWE, OWASP 2021, severity with its reason, rationale, remediation, references)."""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from core.scanners import sast_rules
from core.scanners.semgrep import DEFAULT_BIN

OWASP = re.compile(r"^A(0[1-9]|10):2021 - .+")


@pytest.fixture(scope="module")
def test_report(tmp_path_factory) -> dict:
    cwd = tmp_path_factory.mktemp("semgrep-test")
    done = subprocess.run(
        [
            str(DEFAULT_BIN),
            "--test",
            "--json",
            "--metrics=off",
            "--disable-version-check",
            str(sast_rules.RULES_DIR),
        ],
        cwd=cwd,
        env={"PATH": f"{DEFAULT_BIN.parent}:/usr/bin:/bin", "HOME": str(cwd), "SEMGREP_SEND_METRICS": "off"},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    return json.loads(done.stdout)


def test_every_rule_passes_its_annotated_test(test_report):
    assert test_report["config_with_errors"] == []
    assert test_report["config_missing_tests"] == []
    checks = {
        rule_id: check
        for result in test_report["results"].values()
        for rule_id, check in result["checks"].items()
    }
    assert set(checks) == set(sast_rules.catalog())
    failed = {rule_id: check["matches"] for rule_id, check in checks.items() if not check["passed"]}
    assert failed == {}


def test_each_target_has_both_a_vulnerable_and_a_safe_line():
    for rule in sast_rules.catalog().values():
        rule_file = sast_rules.ROOT / rule.source
        [target] = [p for p in rule_file.parent.glob(f"{rule.id}.*") if p.suffix != ".yaml"]
        text = target.read_text()
        assert f"ruleid: {rule.id}" in text, rule.id
        assert f"ok: {rule.id}" in text, rule.id


def test_the_pack_covers_the_issue_and_describes_each_rule():
    catalog = sast_rules.catalog()
    assert len(catalog) >= 60
    per_language = {prefix: sum(r.startswith(f"CODE-{prefix}-") for r in catalog) for prefix in
                    ("CS", "JAVA", "JS", "PY", "GO")}  # fmt: skip
    assert per_language["CS"] >= 18 and per_language["JAVA"] >= 18, per_language
    assert min(per_language.values()) >= 10, per_language
    for rule in catalog.values():
        assert re.fullmatch(r"CODE-(CS|JAVA|JS|TS|PY|GO)-\d{3}", rule.id)
        assert rule.cwe and all(re.fullmatch(r"CWE-\d+", c) for c in rule.cwe), rule.id
        assert OWASP.match(rule.owasp), rule.id
        assert rule.severity_reason and rule.rationale and rule.remediation and rule.references, rule.id
        assert "`" in rule.remediation, f"{rule.id}: the remediation shows a safe example"
    covered = {cwe for rule in catalog.values() for cwe in rule.cwe}
    wanted = {
        89,
        78,
        94,
        95,
        22,
        79,
        918,
        601,
        502,
        611,
        90,
        327,
        328,
        295,
        330,
        338,
        614,
        1004,
        942,
        347,
        321,
        352,
    }
    assert {f"CWE-{n}" for n in wanted} <= covered
    for language in ("CS", "JAVA", "JS", "PY", "GO"):
        cwes = {c for r in catalog.values() if r.id.startswith(f"CODE-{language}-") for c in r.cwe}
        assert {"CWE-89", "CWE-78", "CWE-22", "CWE-918", "CWE-601", "CWE-295", "CWE-327"} <= cwes, language


def test_messages_never_interpolate_matched_code():
    """A rule's message is its title: a metavariable in it could copy a hard-coded key into the finding."""
    for path in sast_rules.rule_files():
        assert "$" not in re.search(r"^  message: (.*)$", path.read_text(), re.M).group(1), path.name
