"""One severity vocabulary (core/severity.py): its order, and every place that once kept its own tuple."""

from __future__ import annotations

import pytest

from api.graphql import types as t
from core import errors
from core.dependencies import matching
from core.digests import summary
from core.findings import sarif, service, trends
from core.scans import scanner
from core.severity import ORDER, Severity, at_or_above, rank
from core.slack import commands


def test_most_severe_first_and_compared_by_severity_not_by_name():
    assert [s.value for s in ORDER] == ["CRITICAL", "HIGH", "MEDIUM", "LOW", "INFO"]
    assert [s.rank for s in ORDER] == [0, 1, 2, 3, 4]
    assert Severity.CRITICAL > Severity.HIGH > Severity.MEDIUM > Severity.LOW > Severity.INFO
    assert Severity.LOW < Severity.HIGH  # alphabetically "LOW" > "HIGH"
    assert Severity.HIGH >= "HIGH" and Severity.INFO <= "LOW"
    assert max([Severity.LOW, Severity.CRITICAL, Severity.MEDIUM]) is Severity.CRITICAL
    assert sorted(["LOW", "CRITICAL", "INFO", "HIGH"], key=rank) == ["CRITICAL", "HIGH", "LOW", "INFO"]


def test_a_member_is_its_name_for_rows_json_and_dicts():
    assert Severity.HIGH == "HIGH" and {"HIGH": 1}[Severity.HIGH] == 1
    assert f"{Severity.HIGH}" == "HIGH" and "HIGH" in ORDER


def test_thresholds_and_parsing():
    assert at_or_above("MEDIUM") == (Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM)
    assert at_or_above("") == ORDER  # no threshold: everything
    assert rank("UNKNOWN") == len(ORDER)  # sorts after INFO
    assert Severity.parse(" high ") is Severity.HIGH
    with pytest.raises(
        errors.InvalidInput, match="severity must be one of CRITICAL, HIGH, MEDIUM, LOW, INFO"
    ):
        Severity.parse("urgent")


def test_the_former_tuples_are_the_one_order():
    assert scanner.SEVERITIES is ORDER
    assert summary.SEVERITIES is ORDER
    assert trends.SEVERITIES is ORDER
    assert commands.SEVERITIES is ORDER
    assert ORDER[:4] == matching.SEVERITY_ORDER  # an advisory never states INFO
    assert service.at_least("HIGH") == ["CRITICAL", "HIGH"]
    assert set(sarif.LEVEL) == set(ORDER) and set(sarif.SECURITY_SEVERITY) == set(ORDER[:4])


def test_graphql_enum_is_derived_from_the_domain_order():
    assert [m.name for m in t.Severity] == [s.name for s in ORDER]
    assert t.Severity("HIGH").value == "HIGH"
