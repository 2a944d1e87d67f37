"""Matching OSV records against dependencies, per ecosystem, with the versions that trip hand-written code."""

import pytest

from core.dependencies.matching import UNPARSABLE, match, severity
from core.dependencies.package import Dependency


def dep(ecosystem: str, name: str, version: str) -> Dependency:
    return Dependency(ecosystem, name, version, f"pkg:x/{name}@{version}", "lock", 1, True)


def record(ecosystem: str, name: str, events=None, versions=None, **extra) -> dict:
    affected = {"package": {"ecosystem": ecosystem, "name": name}}
    if events is not None:
        affected["ranges"] = [{"type": "ECOSYSTEM", "events": events}]
    if versions is not None:
        affected["versions"] = versions
    return {"id": "OSV-1", "modified": "2024-01-01T00:00:00Z", "affected": [affected], **extra}


def affected(rec: dict, ecosystem: str, name: str, version: str) -> bool:
    return match(rec, dep(ecosystem, name, version)) is not None


@pytest.mark.parametrize(
    ("ecosystem", "events", "yes", "no"),
    [
        # npm semver: a prerelease sorts before its release.
        (
            "npm",
            [{"introduced": "0"}, {"fixed": "2.0.0"}],
            ["1.9.9", "2.0.0-rc.1", "0.0.1"],
            ["2.0.0", "2.0.1"],
        ),
        # PEP 440: rc < release < post; "2.10" < "2.10.1".
        (
            "PyPI",
            [{"introduced": "2.0"}, {"fixed": "2.10.1"}],
            ["2.10", "2.10.1rc1", "2.0"],
            ["2.10.1", "2.10.1.post1", "1.9"],
        ),
        # Maven: qualifiers (beta < release), 2.0-beta9 introduced.
        (
            "Maven",
            [{"introduced": "2.0-beta9"}, {"fixed": "2.15.0"}],
            ["2.0-beta9", "2.14.1", "2.15.0-rc1"],
            ["2.0-beta8", "2.15.0", "2.17.1"],
        ),
        # NuGet: four-part versions.
        (
            "NuGet",
            [{"introduced": "0"}, {"fixed": "13.0.1"}],
            ["12.0.3.1", "13.0.0.9"],
            ["13.0.1", "13.0.1.1"],
        ),
        # Go: leading v, pseudo-versions sort before the tagged release they precede.
        (
            "Go",
            [{"introduced": "0"}, {"fixed": "0.3.7"}],
            ["v0.3.6", "v0.0.0-20210101000000-abcdefabcdef"],
            ["v0.3.7", "v0.3.8"],
        ),
        # crates.io semver, two introduced/fixed pairs.
        (
            "crates.io",
            [{"introduced": "0.6.3"}, {"fixed": "0.6.14"}, {"introduced": "1.0.0"}, {"fixed": "1.6.1"}],
            ["0.6.3", "1.6.0"],
            ["0.6.2", "0.6.14", "0.9.0", "1.6.1"],
        ),
    ],
)
def test_ranges_per_ecosystem(ecosystem, events, yes, no):
    rec = record(ecosystem, "pkg", events)
    assert [v for v in yes if affected(rec, ecosystem, "pkg", v)] == yes
    assert [v for v in no if affected(rec, ecosystem, "pkg", v)] == []


def test_last_affected_is_inclusive_and_fixed_exclusive():
    rec = record("npm", "a", [{"introduced": "1.0.0"}, {"last_affected": "1.2.0"}])
    assert affected(rec, "npm", "a", "1.2.0")
    assert not affected(rec, "npm", "a", "1.2.1")
    assert match(rec, dep("npm", "a", "1.1.0")).fixed is None


def test_explicit_versions_list_and_fixed_version_reported():
    rec = record("PyPI", "Jinja2", versions=["2.10"])
    assert affected(rec, "PyPI", "jinja2", "2.10")
    assert not affected(rec, "PyPI", "jinja2", "2.11")
    ranged = record(
        "npm",
        "lodash",
        [{"introduced": "0"}, {"fixed": "4.17.19"}, {"introduced": "4.17.20"}, {"fixed": "4.17.21"}],
    )
    assert match(ranged, dep("npm", "lodash", "4.17.15")).fixed == "4.17.19"
    assert match(ranged, dep("npm", "lodash", "4.17.20")).fixed == "4.17.21"
    assert not affected(ranged, "npm", "lodash", "4.17.19")


def test_names_compare_per_ecosystem():
    assert affected(record("PyPI", "Zope.Interface", [{"introduced": "0"}]), "PyPI", "zope-interface", "1.0")
    assert affected(
        record("NuGet", "Newtonsoft.Json", [{"introduced": "0"}]), "NuGet", "newtonsoft.json", "1.0.0"
    )
    assert not affected(record("npm", "Lodash", [{"introduced": "0"}]), "npm", "lodash", "1.0.0")
    assert not affected(record("npm", "lodash", [{"introduced": "0"}]), "PyPI", "lodash", "1.0.0")


def test_withdrawn_and_unparsable_versions_are_not_matched():
    rec = record("npm", "a", [{"introduced": "0"}], withdrawn="2024-02-01T00:00:00Z")
    assert not affected(rec, "npm", "a", "1.0.0")
    before = UNPARSABLE.count
    assert not affected(record("PyPI", "b", [{"introduced": "0"}]), "PyPI", "b", "not a version!")
    assert UNPARSABLE.count == before + 1


def test_severity_from_cvss_then_database_word():
    critical = {"severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}]}
    assert severity(critical) == "CRITICAL"
    as_int = {
        "severity": [{"type": 2, "score": "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:H/A:H"}]
    }  # osv.dev#2337
    assert severity(as_int) == "HIGH"
    v4 = {
        "severity": [
            {"type": "CVSS_V4", "score": "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:L/VI:N/VA:N/SC:N/SI:N/SA:N"}
        ]
    }
    assert severity(v4) == "MEDIUM"
    assert severity({"database_specific": {"severity": "MODERATE"}}) == "MEDIUM"
    assert severity({"database_specific": {"severity": "LOW"}}) == "LOW"
    assert severity({"severity": [{"type": "CVSS_V3", "score": "garbage"}]}) == "MEDIUM"
