"""Every HTTP surface against malformed, oversized and forged requests: what the caller sees (status, message,
headers) and that nothing was stored or logged as a crash."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import text

from api.app import create_app
from tests.api.conftest import new_caller
from tests.http_raw import raw_request
from tests.support.metrics import samples

GRAPHQL_RESPONSE = "application/graphql-response+json"
LINK_CODE = "mutation { createSlackLinkCode { code } }"
METRICS_TOKEN = "a-metrics-token-for-tests"


def crashes(caplog) -> list[str]:
    """Log records that would page someone: errors, or anything carrying a traceback."""
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


async def count(db, table: str) -> int:
    async with db() as session:
        return (await session.exec(text(f"SELECT count(*) FROM {table}"))).scalar_one()  # noqa: S608


def auth(caller, **headers) -> dict:
    return {"Authorization": f"Bearer {caller.token}", **headers}


# --- body limits ------------------------------------------------------------------------------------------


async def test_an_oversized_graphql_body_is_413_before_authentication(http):
    body = b'{"query": "{ __typename }", "pad": "' + b"x" * (1024 * 1024) + b'"}'
    answer = await http.post("/graphql", content=body, headers={"content-type": "application/json"})
    assert answer.status_code == 413
    assert answer.json() == {
        "errors": [
            {"message": "The request body is larger than 1 MiB.", "extensions": {"code": "PAYLOAD_TOO_LARGE"}}
        ]
    }


async def test_a_body_just_under_the_limit_is_served(http, alice):
    padding = "x" * (1024 * 1024 - 200)
    answer = await http.post(
        "/graphql",
        json={"query": "{ __typename }", "extensions": {"padding": padding}},
        headers=auth(alice),
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["data"] == {"__typename": "Query"}


async def test_a_chunked_body_is_read_no_further_than_the_limit(http):
    produced = 0

    async def twenty_megabytes():
        nonlocal produced
        for _ in range(320):
            produced += 1
            yield b"x" * 65536

    answer = await http.post(
        "/graphql", content=twenty_megabytes(), headers={"content-type": "application/json"}
    )
    assert answer.status_code == 413
    # 1 MiB is 16 chunks of 64 KiB: the 17th crosses the limit, nothing after it is read.
    assert produced <= 17


async def test_the_limit_is_a_setting(settings, db):
    app = create_app(settings.model_copy(update={"graphql_max_body_bytes": 4096}), run_jobs=False)
    async with app.router.lifespan_context(app):
        answer = await raw_request(
            app,
            "POST",
            "/graphql",
            headers=[(b"content-type", b"application/json"), (b"content-length", b"5000")],
            chunks=[b"{" * 5000],
        )
    assert answer.status == 413
    assert answer.chunks_read == 0  # refused on the declared length, without reading the body
    assert json.loads(answer.body)["errors"][0]["message"] == "The request body is larger than 4 KiB."


@pytest.mark.parametrize("declared", [b"abc", b"-1", b"1e9", b"99999999999999999999999"])
async def test_a_bogus_content_length_is_400(app, declared):
    answer = await raw_request(
        app,
        "POST",
        "/graphql",
        headers=[(b"content-type", b"application/json"), (b"content-length", declared)],
    )
    assert answer.status == 400
    assert (
        json.loads(answer.body)["errors"][0]["message"] == "The Content-Length header is not a single number."
    )


async def test_slack_and_consent_bodies_have_their_own_limits(http, db):
    slack = await http.post("/slack/events", content=b"a" * (256 * 1024 + 1))
    assert slack.status_code == 413
    assert slack.json() == {"error": "The request body is larger than 256 KiB."}
    consent = await http.post(
        "/consent/azure/connect",
        content=b"connection_id=" + b"a" * (16 * 1024),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert consent.status_code == 413
    assert consent.json() == {"error": "The request body is larger than 16 KiB."}


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/x-www-form-urlencoded", b"connection_id=%ff%fe&connection_id=\x00"),
        ("multipart/form-data; boundary=x", b"--x\r\nContent-Disposition: form-data\r\n\r\n"),
        ("multipart/form-data", b"garbage"),
        ("application/x-www-form-urlencoded", b"&".join([b"a=1"] * 2000)),
    ],
)
async def test_a_junk_consent_form_is_refused_without_a_crash(http, caplog, content_type, body):
    answer = await http.post("/consent/azure/connect", content=body, headers={"content-type": content_type})
    assert 400 <= answer.status_code < 500
    assert crashes(caplog) == []


# --- malformed GraphQL requests -----------------------------------------------------------------------

MALFORMED = [
    (
        "not UTF-8",
        b'{"query": "\xff\xfe"}',
        "application/json",
        400,
        "The request is not valid UTF-8 (byte 11).",
    ),
    ("UTF-16", '{"query": "{ __typename }"}'.encode("utf-16"), "application/json", 400, "not valid UTF-8"),
    (
        "not JSON",
        b"{query",
        "application/json",
        400,
        "The request is not valid JSON: Expecting property name",
    ),
    ("nested 1,000 deep", b"[" * 1000 + b"]" * 1000, "application/json", 400, "nested more than 64 levels"),
    (
        "variables nested 100 deep",
        b'{"query": "{ __typename }", "variables": {"a": ' + b"[" * 100 + b"]" * 100 + b"}}",
        "application/json",
        400,
        "nested more than 64 levels",
    ),
    (
        "5,000-digit integer",
        b'{"query": "{ __typename }", "variables": {"a": ' + b"9" * 5000 + b"}}",
        "application/json",
        400,
        "A JSON number has more than 100 characters.",
    ),
    (
        "NaN",
        b'{"query": "{ __typename }", "variables": {"a": NaN}}',
        "application/json",
        400,
        "JSON does not allow NaN.",
    ),
    (
        "lone surrogate",
        b'{"query": "query($s: String) { repositories(filter: {search: $s}) { totalCount } }",'
        b' "variables": {"s": "\\ud800"}}',
        "application/json",
        400,
        "lone surrogate",
    ),
    (
        "NUL character",
        b'{"query": "query($s: String) { repositories(filter: {search: $s}) { totalCount } }",'
        b' "variables": {"s": "a\\u0000b"}}',
        "application/json",
        400,
        "contains a NUL character",
    ),
    (
        "NUL in a GraphQL string literal",
        json.dumps({"query": '{ repositories(filter: {search: "\\u0000"}) { totalCount } }'}).encode(),
        "application/json",
        400,
        "GraphQL strings may not contain NUL",
    ),
    (
        "NUL in a braced GraphQL escape",
        json.dumps({"query": '{ connection(id: "\\u{0}") { id } }'}).encode(),
        "application/json",
        400,
        "GraphQL strings may not contain NUL",
    ),
    (
        "repeated key",
        b'{"query": "{ __typename }", "query": "{ x }"}',
        "application/json",
        400,
        'repeats the key "query"',
    ),
    ("a string", b'"{ __typename }"', "application/json", 400, "must be a JSON object with a `query` string"),
    ("null", b"null", "application/json", 400, "must be a JSON object"),
    (
        "a batch",
        b'[{"query": "{ __typename }"}]',
        "application/json",
        400,
        "batches of operations are not supported",
    ),
    ("empty body", b"", "application/json", 400, "The request body is empty."),
    ("no query", b"{}", "application/json", 400, "The request has no `query`."),
    ("query a number", b'{"query": 5}', "application/json", 400, "`query` must be a string."),
    (
        "variables a list",
        b'{"query": "{ __typename }", "variables": [1]}',
        "application/json",
        400,
        "`variables` must be an object or null.",
    ),
    (
        "operationName a number",
        b'{"query": "{ __typename }", "operationName": 5}',
        "application/json",
        400,
        "`operationName` must be a string or null.",
    ),
    (
        "extensions a string",
        b'{"query": "{ __typename }", "extensions": "x"}',
        "application/json",
        400,
        "`extensions` must be an object or null.",
    ),
    (
        "unknown operation",
        b'{"query": "query A { __typename }", "operationName": "B"}',
        "application/json",
        400,
        'Unknown operation named "B".',
    ),
    (
        "text/plain",
        b'{"query": "{ __typename }"}',
        "text/plain",
        415,
        "Send the request as application/json.",
    ),
    ("form", b"query=%7B__typename%7D", "application/x-www-form-urlencoded", 415, "application/json"),
    ("multipart", b"--x\r\n\r\n", "multipart/form-data; boundary=x", 415, "application/json"),
    ("latin-1 charset", b'{"query": "{ __typename }"}', "application/json; charset=latin-1", 415, "UTF-8"),
    ("no content type", b'{"query": "{ __typename }"}', "", 415, "application/json"),
]


@pytest.mark.parametrize(
    ("case", "body", "content_type", "status", "message"), MALFORMED, ids=[m[0] for m in MALFORMED]
)
async def test_a_malformed_request_is_a_4xx_with_a_clear_message(
    http, alice, caplog, case, body, content_type, status, message
):
    headers = auth(alice)
    if content_type:
        headers["content-type"] = content_type
    answer = await http.post("/graphql", content=body, headers=headers)
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/json; charset=utf-8"
    [error] = answer.json()["errors"]
    assert message in error["message"]
    assert "data" not in answer.json()
    assert crashes(caplog) == []


async def test_a_malformed_mutation_changes_nothing(http, alice, db):
    for body in (
        b'{"query": "mutation { createSlackLinkCode { code } }", "variables": {"a": NaN}}',
        b'{"query": "mutation { createSlackLinkCode { code } }", "query": "mutation { createSlackLinkCode { code } }"}',
        b'{"query": "mutation { createSlackLinkCode { code } }", "extensions": ['
        + b"[" * 200
        + b"]" * 200
        + b"]}",
    ):
        answer = await http.post(
            "/graphql", content=body, headers=auth(alice, **{"content-type": "application/json"})
        )
        assert answer.status_code == 400
    assert await count(db, "slack_link_codes") == 0


@pytest.mark.parametrize(
    ("query_string", "status", "message"),
    [
        (b"query=mutation%7BcreateSlackLinkCode%7Bcode%7D%7D", 405, "Mutations must be sent with POST."),
        (b"query=%7B__typename%7D&variables=%5B", 400, "not valid JSON"),
        (
            b"query=%7B__typename%7D&variables=" + b"%5B" * 1000 + b"%5D" * 1000,
            400,
            "nested more than 64 levels",
        ),
        (
            b"query=%7B__typename%7D&variables=%7B%22a%22%3A" + b"9" * 5000 + b"%7D",
            400,
            "more than 100 characters",
        ),
        (b"query=%7B__typename%7D&variables=%5B1%5D", 400, "`variables` must be an object or null."),
        (b"query=%7B__typename%7D&query=%7Bx%7D", 400, "`query` is given more than once."),
        (b"query=%7B__typename%7D%00", 400, "NUL character"),
        (b"variables=%7B%7D", 400, "The request has no `query`."),
    ],
)
async def test_malformed_get_requests(app, alice, caplog, db, query_string, status, message):
    answer = await raw_request(
        app,
        "GET",
        "/graphql",
        query=query_string,
        headers=[(b"authorization", f"Bearer {alice.token}".encode())],
    )
    assert answer.status == status, answer.body
    assert message in json.loads(answer.body)["errors"][0]["message"]
    if status == 405:
        assert answer.headers["allow"] == "POST"
    assert await count(db, "slack_link_codes") == 0
    assert crashes(caplog) == []


async def test_graphql_errors_keep_200_for_application_json_clients(http, alice):
    for accept in (None, "application/json", "*/*", f"application/json, {GRAPHQL_RESPONSE};q=0.5"):
        headers = auth(alice, **({"accept": accept} if accept else {}))
        answer = await http.post("/graphql", json={"query": "{ bogusField }"}, headers=headers)
        assert answer.status_code == 200
        assert answer.headers["content-type"] == "application/json"
        assert answer.json()["data"] is None
        assert answer.json()["errors"][0]["message"] == "Cannot query field 'bogusField' on type 'Query'."


@pytest.mark.parametrize(
    ("case", "request_body", "message"),
    [
        ("parse", {"query": "{ "}, "Syntax Error: Expected Name, found <EOF>."),
        ("validation", {"query": "{ bogusField }"}, "Cannot query field 'bogusField' on type 'Query'."),
        (
            "variable coercion",
            {"query": "query($n: Int) { repositories(first: $n) { totalCount } }", "variables": {"n": "ten"}},
            "Variable '$n' has invalid value: Int cannot represent non-integer value: 'ten'",
        ),
        (
            "missing variable",
            {"query": "query($id: ID!) { connection(id: $id) { id } }"},
            "Variable '$id' has invalid value: Expected a value of non-null type 'ID!' to be provided.",
        ),
    ],
)
async def test_graphql_response_json_clients_get_400_without_data(http, alice, case, request_body, message):
    answer = await http.post("/graphql", json=request_body, headers=auth(alice, accept=GRAPHQL_RESPONSE))
    assert answer.status_code == 400, answer.text
    assert answer.headers["content-type"] == f"{GRAPHQL_RESPONSE}; charset=utf-8"
    assert "data" not in answer.json()
    assert answer.json()["errors"][0]["message"] == message


async def test_graphql_response_json_clients_get_200_once_the_operation_ran(http, alice):
    preferred = f"{GRAPHQL_RESPONSE}, application/json"
    ok = await http.post("/graphql", json={"query": "{ __typename }"}, headers=auth(alice, accept=preferred))
    assert ok.status_code == 200
    assert ok.headers["content-type"] == f"{GRAPHQL_RESPONSE}; charset=utf-8"
    assert ok.json()["data"] == {"__typename": "Query"}
    # A field error happens during execution: the response has data (null here), and is a 200.
    field_error = await http.post(
        "/graphql",
        json={"query": '{ repositories(after: "not-a-cursor") { totalCount } }'},
        headers=auth(alice, accept=GRAPHQL_RESPONSE),
    )
    assert field_error.status_code == 200
    assert field_error.json()["data"] is None
    assert field_error.json()["errors"][0]["path"] == ["repositories"]
    # Refusals before GraphQL (here: not JSON) use the negotiated media type too.
    bad = await http.post(
        "/graphql",
        content=b"{",
        headers=auth(alice, accept=GRAPHQL_RESPONSE, **{"content-type": "application/json"}),
    )
    assert bad.status_code == 400
    assert bad.headers["content-type"] == f"{GRAPHQL_RESPONSE}; charset=utf-8"
    unauthenticated = await http.post(
        "/graphql", json={"query": "{ __typename }"}, headers={"accept": GRAPHQL_RESPONSE}
    )
    assert unauthenticated.status_code == 401
    assert unauthenticated.headers["content-type"] == f"{GRAPHQL_RESPONSE}; charset=utf-8"


# --- GraphiQL and security headers ------------------------------------------------------------------------


def sha256_source(source: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(source.encode()).digest()).decode() + "'"


def directives(policy: str) -> dict[str, str]:
    return {d.strip().split(" ", 1)[0]: d.strip().partition(" ")[2] for d in policy.split(";") if d.strip()}


async def test_graphiql_page_is_served_without_a_token_and_loads_only_our_own_scripts(http):
    page = await http.get("/graphql", headers={"accept": "text/html"})
    assert page.status_code == 200 and "graphiql" in page.text.lower()
    policy = directives(page.headers["content-security-policy"])
    assert re.findall(r"<script>(.*?)</script>", page.text, flags=re.DOTALL) == [], "no inline script"
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sources and all(source.startswith("/graphql/assets/") for source in sources), sources
    for source in sources:  # each one is served, by us
        asset = await http.get(source)
        assert asset.status_code == 200, source
        assert asset.headers["content-type"].split(";")[0] in ("text/javascript", "text/css")
    assert policy["script-src"] == "'self'" and policy["style-src"] == "'self'"
    assert policy["connect-src"] == "'self'" and policy["frame-ancestors"] == "'none'"
    assert page.headers["cache-control"] == "no-store"
    assert (await http.get("/graphql/assets/../app.py")).status_code == 404
    assert (await http.get("/graphql/assets/graphiql.html")).status_code == 404


async def test_a_browser_link_with_a_query_and_no_token_is_401_not_500(http, caplog):
    answer = await http.get("/graphql?query=%7B__typename%7D", headers={"accept": "text/html"})
    assert answer.status_code == 401
    assert crashes(caplog) == []


async def test_consent_pages_carry_the_security_headers(http):
    page = await http.get("/consent/azure/callback?state=forged")
    assert page.status_code == 400 and page.headers["content-type"].startswith("text/html")
    policy = directives(page.headers["content-security-policy"])
    [style] = re.findall(r"<style>(.*?)</style>", page.text, flags=re.DOTALL)
    assert policy["style-src"] == sha256_source(style)  # the page's only stylesheet, by hash
    assert policy["default-src"] == "'none'" and "script-src" not in policy  # so no script at all
    assert policy["frame-ancestors"] == "'none'" and policy["base-uri"] == "'none'"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["cache-control"] == "no-store"


async def test_graphql_answers_are_not_cached(http, alice):
    answer = await http.post("/graphql", json={"query": "{ __typename }"}, headers=auth(alice))
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert directives(answer.headers["content-security-policy"])["default-src"] == "'none'"


# --- trusted hosts -----------------------------------------------------------------------------------------


async def test_a_forged_host_never_reaches_a_location(app):
    forged = await raw_request(app, "GET", "/graphql/", host=b"evil.example")
    assert forged.status == 400
    assert "location" not in forged.headers
    trusted = await raw_request(app, "GET", "/graphql/", host=b"testserver")
    assert trusted.status == 307 and trusted.headers["location"] == "http://testserver/graphql"
    public = await raw_request(app, "GET", "/graphql/", host=b"127.0.0.1:8000")
    assert public.headers["location"] == "http://127.0.0.1:8000/graphql"


async def test_probes_answer_whatever_the_host(app):
    for path in ("/healthz", "/readyz"):
        answer = await raw_request(app, "GET", path, host=b"10.1.2.3:8000")
        assert answer.status == 200, path


async def test_production_serves_the_public_host_and_the_configured_ones_only(settings, db):
    production = settings.model_copy(
        update={
            "environment": "production",
            "public_url": "https://panoptica.example",
            "allowed_hosts": "*.internal.example",
        }
    )
    app = create_app(production, run_jobs=False)
    async with app.router.lifespan_context(app):
        for host, status in (
            (b"panoptica.example", 401),
            (b"api-3.internal.example:8443", 401),
            (b"testserver", 400),
            (b"panoptica.example.evil", 400),
        ):
            answer = await raw_request(app, "POST", "/graphql", host=host)
            assert answer.status == status, host


# --- /metrics ----------------------------------------------------------------------------------------------


async def test_metrics_are_not_served_without_a_configured_token(http):
    assert (await http.get("/metrics")).status_code == 404
    assert (
        await http.get("/metrics", headers={"Authorization": "Bearer anything-at-all-here"})
    ).status_code == 404


def azure_requests(body: str) -> float:
    """Requests sent to Azure DevOps, whatever their status class."""
    return sum(v for (name, _), v in samples(body).items() if name == "panoptica_azure_requests_total")


async def test_metrics_need_the_token_and_name_no_organization(settings, db, sandbox):
    app = create_app(settings.model_copy(update={"metrics_token": SecretStr(METRICS_TOKEN)}), run_jobs=False)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http,
    ):
        caller = await new_caller(db, http, "Acme", "alice@acme.test")
        scrape = {"Authorization": f"Bearer {METRICS_TOKEN}"}
        before = (await http.get("/metrics", headers=scrape)).text  # the process's counters so far
        await caller.graphql('mutation { startAzureConnection(organization: "contoso") { __typename } }')
        missing = await http.get("/metrics")
        assert missing.status_code == 401 and missing.headers["www-authenticate"] == 'Bearer realm="metrics"'
        assert (
            await http.get("/metrics", headers={"Authorization": "Bearer wrong-token-wrong-token"})
        ).status_code == 401
        scraped = await http.get("/metrics", headers=scrape)
        assert scraped.status_code == 200
        # startAzureConnection's anonymous requests to Azure DevOps were counted, each once.
        sent = sum(1 for r in sandbox.context.requests if r.host == "dev")
        assert azure_requests(scraped.text) - azure_requests(before) == sent > 0
        # No label names an organization (table names such as organization_bindings are values, not labels).
        labels = set(re.findall(r'[{,]([a-zA-Z_]+)="', scraped.text))
        assert labels and not {label for label in labels if "org" in label.lower()}
        assert "contoso" not in scraped.text
        assert METRICS_TOKEN not in scraped.text


async def test_a_query_string_that_is_not_utf8_is_400(app, caplog):
    # Starlette's request.url decodes the query string as UTF-8: a trailing-slash redirect used to crash on it.
    for path in ("/graphql", "/graphql/", "/slack/install"):
        answer = await raw_request(app, "GET", path, query=b"query=\xff\xfe")
        assert answer.status == 400, path
        assert b"The query string is not valid UTF-8." in answer.body
    assert crashes(caplog) == []


@pytest.mark.parametrize(
    ("method", "path", "query", "body"),
    [
        ("GET", "/api/repositories/\x00/sarif", b"", b""),
        ("GET", "/consent/azure/callback", b"state=%00", b""),
        ("GET", "/consent/azure/callback", b"state=abc&error=\x00", b""),
        ("POST", "/consent/azure/connect", b"", b"connection_id=%00"),
        ("POST", "/consent/azure/connect", b"", b"connection_id=a\x00b"),
    ],
)
async def test_a_nul_character_in_a_url_or_form_is_400(app, caplog, method, path, query, body):
    # PostgreSQL refuses NUL in text: a lookup by such a value used to fail inside the endpoint.
    headers = [(b"content-type", b"application/x-www-form-urlencoded")] if body else []
    answer = await raw_request(app, method, path, query=query, headers=headers, chunks=[body])
    assert answer.status == 400
    assert json.loads(answer.body)["error"] in (
        "The URL contains a NUL character.",
        "The form contains a NUL character.",
    )
    assert crashes(caplog) == []
