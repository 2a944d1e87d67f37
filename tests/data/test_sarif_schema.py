"""The shipped SARIF schema really constrains: a validation against it can fail."""

import jsonschema
import pytest

from tests.data import sarif_schema


def test_schema_is_the_oasis_sarif_2_1_0_schema():
    schema = sarif_schema()
    assert schema["id"].startswith("https://docs.oasis-open.org/sarif/sarif/v2.1.0/")
    assert schema["properties"]["version"]["enum"] == ["2.1.0"]


def test_schema_accepts_a_minimal_log_and_refuses_broken_ones():
    validator = jsonschema.Draft4Validator(sarif_schema())
    run = {"tool": {"driver": {"name": "panoptica"}}, "results": []}
    validator.validate({"version": "2.1.0", "runs": [run]})
    for broken in (
        {"version": "2.1.0"},  # no runs
        {"version": "2.0.0", "runs": [run]},
        {"version": "2.1.0", "runs": [{"results": []}]},  # a run without its tool
        {"version": "2.1.0", "runs": [run], "unknown": 1},  # additionalProperties: false
    ):
        with pytest.raises(jsonschema.ValidationError):
            validator.validate(broken)
