"""Organization names and URLs: the only customer input that becomes part of an Azure DevOps URL."""

from __future__ import annotations

import pytest

from core.azure.errors import InvalidOrganization
from core.azure.organization import parse_organization, path_segment


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("contoso", "contoso"),
        ("  Contoso-Labs ", "contoso-labs"),
        ("a", "a"),
        ("a" * 50, "a" * 50),
        ("https://dev.azure.com/contoso", "contoso"),
        ("https://dev.azure.com/contoso/", "contoso"),
        ("https://dev.azure.com/contoso/Payments/_git/payments-api?path=/x", "contoso"),
        ("dev.azure.com/contoso", "contoso"),
        ("https://DEV.AZURE.COM/Contoso", "contoso"),
        ("https://dev.azure.com:443/contoso", "contoso"),
        ("https://contoso.visualstudio.com", "contoso"),
        ("https://contoso.visualstudio.com/DefaultCollection/Payments", "contoso"),
        ("contoso.visualstudio.com", "contoso"),
    ],
)
def test_accepted_forms(text, expected):
    assert parse_organization(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "-contoso",
        "contoso-",
        "con toso",
        "con_toso",
        "contoso!",
        "a" * 51,
        "../x",
        "contoso/../x",
        "https://evil.com/x",
        "https://evil.com/contoso",
        "contoso.visualstudio.com.evil.com",
        "https://contoso.visualstudio.com.evil.com/",
        "https://evil.visualstudio.com.evil.com",
        "https://a.b.visualstudio.com",
        "http://dev.azure.com/contoso",
        "ftp://dev.azure.com/contoso",
        "https://dev.azure.com/",
        "https://dev.azure.com/../evil",
        "https://dev.azure.com/contoso%2F..%2Fevil",
        "https://user:pass@dev.azure.com/contoso",
        "https://evil.com\\@dev.azure.com/contoso",
        "https://dev.azure.com:8443/contoso",
        "https://dev.azure.com.evil.com/contoso",
        "contoso@evil.com",
        "contoso\n",
        "cont\u00f6so",
        "x" * 100_000,
    ],
)
def test_rejected_forms(text):
    if text == "contoso\n":
        assert parse_organization(text) == "contoso"  # surrounding whitespace is trimmed, not an attack
        return
    with pytest.raises(InvalidOrganization) as caught:
        parse_organization(text)
    error = caught.value
    assert error.audience == "customer"
    assert error.code == "invalid_organization"
    assert len(error.message) < 250  # huge inputs are truncated, never echoed whole
    assert "dev.azure.com" in error.remediation


def test_message_names_the_input_briefly():
    with pytest.raises(InvalidOrganization) as caught:
        parse_organization("https://evil.com/" + "y" * 5000)
    assert "https://evil.com/" in caught.value.message
    assert "y" * 100 not in caught.value.message


def test_invalid_organization_is_a_value_error():
    with pytest.raises(ValueError):
        parse_organization("bad name")


@pytest.mark.parametrize(
    ("value", "encoded"),
    [("Secret Lab", "Secret%20Lab"), ("a/b", "a%2Fb"), ("x?y#z", "x%3Fy%23z"), ("%2e", "%252e")],
)
def test_path_segments_are_encoded(value, encoded):
    assert path_segment(value) == encoded


@pytest.mark.parametrize("value", ["", ".", ".."])
def test_relative_segments_are_refused(value):
    with pytest.raises(ValueError):
        path_segment(value)
