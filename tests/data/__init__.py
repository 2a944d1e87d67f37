"""Files the tests read as they are (standards' schemas); each one's origin and license is in README.md here."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

HERE = Path(__file__).parent


@cache
def sarif_schema() -> dict:
    """The OASIS SARIF 2.1.0 JSON schema (draft-04): what `export sarif` and the SARIF views are checked against."""
    return json.loads((HERE / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
