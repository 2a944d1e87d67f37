"""Every GraphQL document the console's pages send is valid against the committed schema (schema.graphql).

The pages mark their documents with the gql`...` tag (api/console/static/api.js); each is parsed out of the
JavaScript and validated with graphql-core, so a schema change that breaks a page fails here, not in a
customer's browser.
"""

import re
from pathlib import Path

from graphql import build_schema, parse, validate

STATIC = Path("api/console/static")
DOCUMENT = re.compile(r"gql`([^`]*)`")


def documents() -> dict[str, str]:
    found = {}
    for module in sorted(STATIC.rglob("*.js")):
        for number, text in enumerate(DOCUMENT.findall(module.read_text())):
            found[f"{module.relative_to(STATIC)}#{number}"] = text
    return found


def test_every_console_query_is_valid_against_the_schema():
    schema = build_schema(Path("schema.graphql").read_text())
    found = documents()
    pages = {name.split("#")[0] for name in found}
    # Every page module that talks to the API is covered (a renamed tag would silently skip them).
    assert {"pages/repositories.js", "pages/add.js", "pages/repository.js", "pages/findings.js"} <= pages
    assert {"pages/scans.js", "pages/posture.js", "pages/trends.js", "pages/settings.js"} <= pages
    problems = {}
    for name, text in found.items():
        errors = validate(schema, parse(text))
        if errors:
            problems[name] = [error.message for error in errors]
    assert problems == {}


def test_a_query_outside_the_schema_is_caught():
    """The check itself can fail: a field the schema does not have is reported."""
    schema = build_schema(Path("schema.graphql").read_text())
    errors = validate(schema, parse("query { repositories { nodes { nameThatDoesNotExist } } }"))
    assert errors and "nameThatDoesNotExist" in errors[0].message
