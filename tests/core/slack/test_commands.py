"""`/panoptica` grammar: a pure parser; malformed input gets the usage line of the closest command."""

import pytest

from core.slack.commands import USAGE, Command, Usage, parse


@pytest.mark.parametrize("text", ["", "   ", "help", "HELP"])
def test_help(text):
    assert parse(text) == Command("help")


def test_link_code_is_normalised():
    assert parse("link abcde-23456") == Command("link", {"code": "ABCDE-23456"})


@pytest.mark.parametrize("text", ["link", "link a b", "link x", "link <script>"])
def test_malformed_link_shows_link_usage(text):
    parsed = parse(text)
    assert isinstance(parsed, Usage) and USAGE["link"] in parsed.message


@pytest.mark.parametrize(
    ("text", "organization"),
    [
        ("connect azure contoso", "contoso"),
        ("connect AZURE https://dev.azure.com/contoso", "https://dev.azure.com/contoso"),
        (
            "connect azure <https://dev.azure.com/contoso|dev.azure.com/contoso>",
            "https://dev.azure.com/contoso",
        ),
    ],
)
def test_connect_takes_a_name_or_url(text, organization):
    assert parse(text) == Command("connect", {"organization": organization, "move": False})


def test_connect_move_asks_to_take_the_organization_over():
    assert parse("connect azure contoso move") == Command(
        "connect", {"organization": "contoso", "move": True}
    )


@pytest.mark.parametrize("text", ["connect", "connect contoso", "connect azure", "connect azure a b"])
def test_malformed_connect_shows_connect_usage(text):
    parsed = parse(text)
    assert isinstance(parsed, Usage) and USAGE["connect"] in parsed.message


def test_connect_to_another_provider_says_only_azure():
    parsed = parse("connect github acme")
    assert isinstance(parsed, Usage) and "Only Azure DevOps" in parsed.message


@pytest.mark.parametrize(
    ("typo", "closest"),
    [("stauts", "status"), ("subscrbe", "subscribe"), ("conect", "connect"), ("repo", "repos")],
)
def test_unknown_command_suggests_the_closest(typo, closest):
    parsed = parse(f"{typo} something")
    assert isinstance(parsed, Usage)
    assert f"Unknown command `{typo}`" in parsed.message and USAGE[closest] in parsed.message


def test_unrelated_word_points_to_help():
    parsed = parse("zzzzzz")
    assert isinstance(parsed, Usage) and USAGE["help"] in parsed.message


def test_unknown_command_is_not_echoed_at_length():
    parsed = parse("x" * 500)
    assert isinstance(parsed, Usage) and "x" * 31 not in parsed.message


def test_status_with_and_without_organization():
    assert parse("status") == Command("status", {"organization": None})
    assert parse("status Contoso") == Command("status", {"organization": "contoso"})
    assert isinstance(parse("status a b"), Usage)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("repos", {"organization": None, "project": None, "search": None}),
        ("repos contoso", {"organization": "contoso", "project": None, "search": None}),
        ("repos contoso/Payments", {"organization": "contoso", "project": "Payments", "search": None}),
        ("repos contoso/Payments api", {"organization": "contoso", "project": "Payments", "search": "api"}),
        ("repos contoso api", {"organization": "contoso", "project": None, "search": "api"}),
    ],
)
def test_repos_scope_and_search(text, expected):
    assert parse(text) == Command("repos", expected)


def test_repos_with_too_many_words_shows_repos_usage():
    parsed = parse("repos a b c")
    assert isinstance(parsed, Usage) and USAGE["repos"] in parsed.message


def test_subscribe_defaults():
    parsed = parse("subscribe")
    assert parsed == Command(
        "subscribe",
        {
            "channel": None,
            "channel_name": None,
            "organization": "",
            "project": "",
            "min_severity": "HIGH",
            "all": False,
        },
    )


def test_subscribe_with_channel_scope_and_threshold():
    parsed = parse("subscribe <#C0SECURITY|security> Contoso/Payments severity>=critical")
    assert isinstance(parsed, Command)
    assert parsed.args["channel"] == "C0SECURITY"
    assert (parsed.args["organization"], parsed.args["project"]) == ("contoso", "Payments")
    assert parsed.args["min_severity"] == "CRITICAL"


def test_a_plain_channel_name_is_kept_to_ask_for_a_mention():
    parsed = parse("subscribe #security")
    assert isinstance(parsed, Command)
    assert (parsed.args["channel"], parsed.args["channel_name"]) == (None, "security")


@pytest.mark.parametrize("level", ["CRITICAL", "HIGH", "MEDIUM", "LOW", "INFO"])
def test_every_severity_level_is_accepted(level):
    parsed = parse(f"subscribe severity>={level.lower()}")
    assert isinstance(parsed, Command) and parsed.args["min_severity"] == level


def test_unknown_severity_lists_the_levels():
    parsed = parse("subscribe severity>=urgent")
    assert isinstance(parsed, Usage)
    assert "CRITICAL, HIGH, MEDIUM, LOW, INFO" in parsed.message and USAGE["subscribe"] in parsed.message


def test_subscribe_all_means_every_organization():
    parsed = parse("subscribe all")
    assert isinstance(parsed, Command)
    assert (parsed.args["organization"], parsed.args["all"]) == ("", False)


@pytest.mark.parametrize("text", ["subscribe a b", "subscribe contoso ???"])
def test_malformed_subscribe_shows_subscribe_usage(text):
    parsed = parse(text)
    assert isinstance(parsed, Usage) and USAGE["subscribe"] in parsed.message


def test_unsubscribe_all_and_scope():
    assert parse("unsubscribe all").args["all"] is True
    parsed = parse("unsubscribe <#C0RANDOM> contoso")
    assert (parsed.args["channel"], parsed.args["organization"], parsed.args["all"]) == (
        "C0RANDOM",
        "contoso",
        False,
    )
    usage = parse("unsubscribe severity>=high")
    assert isinstance(usage, Usage) and USAGE["unsubscribe"] in usage.message


def test_subscriptions_takes_no_argument():
    assert parse("subscriptions") == Command("subscriptions")
    assert isinstance(parse("subscriptions x"), Usage)


def test_scan_needs_exactly_one_repository():
    assert parse("scan Payments/payments-api") == Command("scan", {"repository": "Payments/payments-api"})
    for text in ("scan", "scan a b"):
        parsed = parse(text)
        assert isinstance(parsed, Usage) and USAGE["scan"] in parsed.message
