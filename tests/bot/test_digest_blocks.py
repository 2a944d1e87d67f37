"""The digest message as a pure function of the summary: content, Slack's limits, a fallback, no secrets."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from slack_sdk.errors import SlackObjectFormationError

from bot.digests import render_digest
from core.digests.summary import (
    ConnectionHealth,
    DigestSummary,
    FindingLine,
    FindingsSummary,
    RepositoryChange,
    RepositorySummary,
    Scope,
)
from sandbox.slack import valid_blocks

CONSOLE = "https://panoptica.example"
SINCE = datetime(2030, 1, 1, 9, 0, tzinfo=UTC)
UNTIL = datetime(2030, 1, 2, 9, 0, tzinfo=UTC)
HEALTHY = ConnectionHealth("contoso", "CONNECTED", (), SINCE)
BROKEN = ConnectionHealth("fabrikam", "DEGRADED", ("can_read_code",), None)


def summary(**changes) -> DigestSummary:
    values = {
        "day": "2030-01-02",
        "scope": Scope(),
        "baseline": False,
        "since": SINCE,
        "until": UNTIL,
        "connections": (HEALTHY, BROKEN),
        "repositories": RepositorySummary(total=12, excluded=2),
    }
    return DigestSummary(**{**values, **changes})


def text_of(message: dict) -> str:
    return json.dumps(message["blocks"], ensure_ascii=False)


def check_limits(message: dict) -> None:
    assert message["text"] and len(message["text"]) < 40_000
    assert 0 < len(message["blocks"]) <= 50 and valid_blocks(message["blocks"])


def test_baseline_is_one_summary_line_without_change_lists():
    changes = RepositorySummary(
        total=40, new_count=40, new=(RepositoryChange("contoso", "Payments", "api"),) * 10
    )
    message = render_digest(summary(baseline=True, repositories=changes), CONSOLE)
    check_limits(message)
    sections = [b for b in message["blocks"] if b["type"] == "section"]
    assert "*Baseline:* watching 40 repositories in 2 organizations" in sections[0]["text"]["text"]
    assert "api" not in text_of(message)  # never a flood of names on the first digest
    assert "baseline" in message["text"]


def test_changes_list_new_and_removed_with_a_count_of_the_rest():
    repos = RepositorySummary(
        total=12,
        excluded=2,
        new_count=13,
        removed_count=1,
        new=tuple(RepositoryChange("contoso", "Payments", f"repo-{i}") for i in range(10)),
        removed=(RepositoryChange("contoso", "Platform", "legacy"),),
    )
    message = render_digest(summary(repositories=repos), CONSOLE)
    check_limits(message)
    body = text_of(message)
    assert "13 new, 1 removed since 2030-01-01 09:00 UTC" in body
    assert "`repo-9`" in body and "and 3 more in the console" in body and "`legacy`" in body
    assert message["text"] == (
        "Panoptica digest 2030-01-02 (all organizations): 12 repositories (2 not scanned), "
        "13 new, 1 removed, 1 connection needs attention"
    )


def test_no_change_and_connection_health():
    message = render_digest(summary(scope=Scope("contoso", "Payments")), CONSOLE)
    body = text_of(message)
    assert "no change since" in body and "contoso / Payments" in body
    assert ":white_check_mark: *contoso*: connected, verified 2030-01-01 09:00 UTC" in body
    assert ":warning: *fabrikam*: degraded, verified never; failing: can_read_code" in body


def test_open_in_console_button():
    [actions] = [b for b in render_digest(summary(), CONSOLE)["blocks"] if b["type"] == "actions"]
    [button] = actions["elements"]
    assert button["text"]["text"] == "Open in console" and button["url"] == CONSOLE + "/findings"


def test_worst_case_stays_within_slacks_limits():
    long = "x" * 250
    repos = RepositorySummary(
        total=100_000,
        new_count=5_000,
        removed_count=5_000,
        new=tuple(RepositoryChange(long[:50], long[:64], long + str(i)) for i in range(10)),
        removed=tuple(RepositoryChange(long[:50], long[:64], long + str(i)) for i in range(10)),
    )
    connections = tuple(
        ConnectionHealth(f"org-{i:03d}{long[:40]}", "DEGRADED", ("a" * 60,) * 9) for i in range(300)
    )
    findings = FindingsSummary(
        new_by_severity={"CRITICAL": 3, "HIGH": 9, "LOW": 100},
        top_new=tuple(FindingLine("HIGH", long, long, long, 10, "AKIA… (20 chars)") for _ in range(50)),
    )
    message = render_digest(
        summary(
            scope=Scope("o" * 50, "p" * 64), connections=connections, repositories=repos, findings=findings
        ),
        CONSOLE,
    )
    check_limits(message)
    body = text_of(message)
    shown = body.count(":warning:")
    assert 0 < shown <= 10 and f"…and {300 - shown} more connections in the console" in body
    assert "more in the console" in body  # the new and removed lists say how many they leave out


def test_names_cannot_inject_mentions_or_links():
    repos = RepositorySummary(
        total=1, new_count=1, new=(RepositoryChange("contoso", "P", "<!channel> <https://x|y>"),)
    )
    body = text_of(render_digest(summary(repositories=repos), CONSOLE))
    assert "<!channel>" not in body and "&lt;!channel&gt;" in body


def test_findings_show_counts_at_the_threshold_and_only_redacted_previews():
    secret = "AKIAABCDEFGHIJKLMNOP"
    findings = FindingsSummary(
        new_by_severity={"CRITICAL": 1, "HIGH": 2, "LOW": 7},
        fixed_by_severity={"HIGH": 1},
        top_new=(
            FindingLine(
                "CRITICAL", "AWS access key", "payments-api", "src/config.py", 12, "AKIA… (20 chars)"
            ),
            FindingLine("LOW", "Debug flag", "payments-api", "settings.py", 3),
        ),
    )
    message = render_digest(summary(findings=findings, min_severity="HIGH"), CONSOLE)
    check_limits(message)
    body = text_of(message)
    assert "new 1 critical, 2 high; fixed 1 high" in body and "7 low" not in body
    assert "`src/config.py:12`" in body and "AKIA… (20 chars)" in body and "Debug flag" not in body
    assert secret not in body and secret not in message["text"]


def test_header_limit_is_enforced_by_the_block_models():
    from slack_sdk.models.blocks import HeaderBlock

    with pytest.raises(SlackObjectFormationError):
        HeaderBlock(text="x" * 151).to_dict()


def test_a_code_finding_is_listed_like_any_other():
    """A SAST (CODE) finding read from a scan's rows reaches the digest's new findings with its file and line."""
    from datetime import timedelta

    from core.digests.summary import summarize_findings
    from core.findings.models import Finding

    finding = Finding(
        account_id="a",
        repository_id="r",
        scanner="semgrep",
        rule_id="CODE-PY-001",
        title="SQL query built from untrusted input",
        severity="HIGH",
        category="CODE",
        path="app/db.py",
        line=14,
        fingerprint="f",
        first_seen_at=SINCE + timedelta(hours=1),
    )
    findings = summarize_findings(
        [(finding, "merchant-portal")], {"r": SINCE - timedelta(days=1)}, [], SINCE, UNTIL
    )
    message = render_digest(summary(findings=findings, min_severity="HIGH"), CONSOLE)
    check_limits(message)
    body = text_of(message)
    assert "new 1 high" in body
    assert (
        "SQL query built from untrusted input" in body
        and "`app/db.py:14`" in body
        and "merchant-portal" in body
    )
