"""Block Kit builders of the Slack app: pure functions, always a fallback text, within Slack's limits."""

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from bot import blocks
from core.pagination import Page
from sandbox.slack import valid_blocks

LONG = "x" * 5000


def assert_sendable(content: dict) -> None:
    """What Slack would accept: a fallback text, at most 50 blocks, texts within their limits."""
    assert content["text"] and len(content["text"]) <= 3000
    assert valid_blocks(content["blocks"]), content["blocks"]
    for block in content["blocks"]:
        for element in block.get("elements", []):
            if element.get("type") == "button":
                assert len(element["text"]["text"]) <= 75 and len(element.get("value", "")) <= 2000
                assert len(element["action_id"]) <= 255


def check(code: str, status: str, message: str = "msg", remediation: str = "") -> dict:
    return {"code": code, "status": status, "message": message, "remediation": remediation}


def connection_view(organization: str, status: str, checks: list, verified: datetime | None):
    connection = SimpleNamespace(
        organization=organization, status=status, checks=checks, last_verified_at=verified
    )
    return SimpleNamespace(connection=connection, project_count=1, repository_count=3)


def test_help_lists_every_command():
    content = blocks.help_message()
    assert_sendable(content)
    text = str(content["blocks"])
    for command in ("help", "link", "connect azure", "status", "repos", "subscribe", "unsubscribe", "scan"):
        assert f"/panoptica {command}" in text


def test_not_linked_says_how_to_link():
    content = blocks.not_linked("https://console.example")
    assert_sendable(content)
    assert "/panoptica link CODE" in content["text"] and "https://console.example" in content["text"]


def test_plain_text_is_cut_to_the_limits():
    assert_sendable(blocks.plain(LONG))


def test_connect_started_has_the_consent_button():
    url = "https://login.example/adminconsent?client_id=abc&state=" + "s" * 2000
    content = blocks.connect_started("contoso", url)
    assert_sendable(content)
    button = content["blocks"][1]["elements"][0]
    assert button["text"]["text"] == "Sign in and approve" and button["url"] == url


def test_names_cannot_inject_mentions_or_links():
    content = blocks.connect_started("<!channel>", "https://x.example")
    assert "<!channel>" not in str(content["blocks"]) and "&lt;!channel&gt;" in str(content["blocks"])


def test_consent_followup_has_the_steps_and_the_check_button():
    content = blocks.consent_followup("contoso", "c0nn3ct10n", "Panoptica")
    assert_sendable(content)
    assert "_settings/users" in str(content["blocks"]) and "*Panoptica*" in str(content["blocks"])
    button = content["blocks"][1]["elements"][0]
    assert (button["action_id"], button["value"], button["text"]["text"]) == (
        "check_connection",
        "c0nn3ct10n",
        "Check connection",
    )


def test_check_result_shows_each_check_with_its_remediation():
    checks = [
        check("TENANT", "PASS", "Tenant found"),
        check("TF401444", "FAIL", "Not a member", "Add the service principal as Basic"),
        check("LICENSE", "WARN", "Stakeholder", "Give it Basic"),
        check("REPOS", "SKIPPED", "Not checked", "never shown"),
    ]
    content = blocks.check_result("contoso", "c1", False, checks, 0, 0)
    assert_sendable(content)
    text = str(content["blocks"])
    assert ":white_check_mark: *TENANT*" in text and ":x: *TF401444*" in text
    assert ":warning: *LICENSE*" in text and ":heavy_minus_sign: *REPOS*" in text
    assert "Add the service principal as Basic" in text and "Give it Basic" in text
    assert "never shown" not in text
    assert content["blocks"][-1]["elements"][0]["action_id"] == "check_connection"


def test_check_result_with_many_long_checks_stays_within_limits():
    checks = [check(f"CODE{i}", "FAIL", LONG, LONG) for i in range(40)]
    assert_sendable(blocks.check_result("contoso", "c1", False, checks, 0, 0))


def test_check_success_shows_the_counts():
    content = blocks.check_result("contoso", "c1", True, [check("ALL", "PASS")], 2, 7)
    assert_sendable(content)
    assert "2 project(s) and 7 repositories" in content["text"]


def test_status_shows_status_verification_and_failing_checks():
    verified = datetime(2026, 1, 2, 3, 4, tzinfo=UTC)
    views = [
        connection_view("contoso", "CONNECTED", [check("A", "PASS")], verified),
        connection_view("fabrikam", "PENDING_CONSENT", [check("TF401444", "FAIL")], None),
    ]
    content = blocks.status(views)
    assert_sendable(content)
    text = str(content["blocks"])
    assert "*contoso*: CONNECTED · last verified 2026-01-02 03:04 UTC" in text
    assert "*fabrikam*: PENDING_CONSENT · last verified never" in text and "Failing: TF401444" in text


def test_status_with_many_connections_stays_within_limits():
    views = [connection_view(f"org{i}", "DEGRADED", [check(LONG, "FAIL")], None) for i in range(80)]
    assert_sendable(blocks.status(views))


def test_no_connection_suggests_connecting():
    assert "/panoptica connect azure" in blocks.status([])["text"]


def repository(i: int, url: str | None = "https://dev.azure.com/contoso/Payments/_git/r"):
    return SimpleNamespace(name=f"repo-{i}", project_name="Payments", web_url=url and f"{url}{i}")


def test_repositories_link_each_one_and_point_to_the_console_for_more():
    page = Page(items=[repository(i) for i in range(10)], cursors=[], has_next_page=True, total_count=42)
    content = blocks.repositories(page, "https://console.example")
    assert_sendable(content)
    text = str(content["blocks"])
    assert "<https://dev.azure.com/contoso/Payments/_git/r0|Payments/repo-0>" in text
    assert (
        "32 more in the <https://console.example/repositories|console>" in text
        and content["text"] == "42 repositories"
    )


def test_no_repository():
    assert blocks.repositories(Page([], [], False, 0), "https://c")["text"] == "No repositories match."


def test_subscriptions_list():
    rows = [
        SimpleNamespace(
            channel_id="C1",
            organization="contoso",
            project="",
            min_severity="HIGH",
            disabled_at=None,
            disabled_reason="",
        ),
        SimpleNamespace(
            channel_id="C2",
            organization="",
            project="",
            min_severity="LOW",
            disabled_at=datetime(2026, 1, 1, tzinfo=UTC),
            disabled_reason="channel_not_found",
        ),
    ]
    content = blocks.subscriptions(rows)
    assert_sendable(content)
    text = str(content["blocks"])
    assert "<#C1>: contoso, severity ≥ HIGH" in text
    assert "<#C2>: all organizations, severity ≥ LOW (disabled: channel_not_found)" in text


@pytest.mark.parametrize("count", [0, 1, 300])
def test_subscriptions_within_limits(count):
    rows = [
        SimpleNamespace(
            channel_id=f"C{i}",
            organization="contoso",
            project="p" * 64,
            min_severity="HIGH",
            disabled_at=None,
            disabled_reason="",
        )
        for i in range(count)
    ]
    assert_sendable(blocks.subscriptions(rows))
