"""Property: no request to /graphql, however malformed, gets a 5xx or logs a crash (300 seeded cases).

The cases mix random bytes, random JSON of every type and depth, byte-mutated valid requests, random GraphQL
documents (real field names, hostile literals), GET query strings, content types and Accept headers.
"""

from __future__ import annotations

import json
import logging
import random
from urllib.parse import quote

from tests.fuzz import CASES, SEED, encode, json_value, mutate, nasty_string, random_bytes

GRAPHQL_RESPONSE = "application/graphql-response+json"
TOKENS = [
    "{",
    "}",
    "(",
    ")",
    ":",
    ",",
    "...",
    "query",
    "mutation",
    "subscription",
    "fragment F on Query",
    "...F",
    "$v",
    "$v: String",
    "$v: Int!",
    "@include(if: $v)",
    "@skip(if: true)",
    "__typename",
    "__schema { types { name } }",
    "connections",
    "id",
    "organization",
    "status",
    "repositories",
    "first:",
    "after:",
    "filter: {search:",
    "totalCount",
    "edges",
    "node",
    "name",
    "findings",
    "auditEvents",
    "slackAdmins",
    "createSlackLinkCode { code }",
    '"x"',
    '"\\u0000"',
    '"\\ud800"',
    '"""block"""',
    "1",
    "-1",
    "2147483648",
    "1e309",
    "99999999999999999999999999",
    "null",
    "true",
    "[",
    "]",
    "#",
    "\u00e9",
]
VALID = [
    "{ __typename }",
    "{ connections { id organization status } }",
    "query($n: Int, $s: String) { repositories(first: $n, filter: {search: $s}) { totalCount } }",
    "mutation { createSlackLinkCode { code } }",
    "{ auditEvents(first: 5) { totalCount } }",
]
OTHER_CONTENT_TYPES = [
    "application/json; charset=utf-8",
    "application/json; charset=latin-1",
    "text/plain",
    "multipart/form-data; boundary=x",
    "",
    ";;;",
    "application/graphql",
]
ACCEPTS = [
    None,
    "application/json",
    GRAPHQL_RESPONSE,
    f"{GRAPHQL_RESPONSE}, application/json;q=0.9",
    "*/*",
    "text/html",
    f"{GRAPHQL_RESPONSE};q=abc",
    "application/json;q=0, " + GRAPHQL_RESPONSE,
    ",,,;;;",
]


def document(rng: random.Random) -> str:
    if rng.random() < 0.5:
        return rng.choice(VALID)
    return " ".join(rng.choice(TOKENS) for _ in range(rng.randint(0, 25)))


def variables(rng: random.Random):
    if rng.random() < 0.5:
        n = (
            rng.choice([1, 5, 100, None])
            if rng.random() < 0.7
            else rng.choice([-5, 0, 101, 10**40, "ten", 2.5])
        )
        return {"n": n, "s": nasty_string(rng), "v": True}
    return json_value(rng, keys=["n", "s", "v", "id"])


def request_body(rng: random.Random) -> bytes:
    roll = rng.random()
    if roll < 0.1:
        return random_bytes(rng)
    if roll < 0.25:
        return encode(rng, json_value(rng, keys=["query", "variables", "operationName", "extensions"]))
    body: dict = {"query": document(rng)}
    for name, make in (
        ("variables", variables),
        ("operationName", lambda r: r.choice([None, None, 5, [], nasty_string(r)])),
        ("extensions", lambda r: r.choice([None, {}, {}, "x", json_value(r)])),
    ):
        if rng.random() < (0.6 if name == "variables" else 0.25):
            body[name] = make(rng)
    if rng.random() < 0.15:
        body["query"] = json_value(rng)  # the wrong type
    encoded = encode(rng, body)
    return mutate(rng, encoded) if rng.random() < 0.25 else encoded


def q(text: str) -> str:
    """Percent-encoded; a lone surrogate becomes the bytes of its (invalid) UTF-8 encoding."""
    return quote(text.encode("utf-8", "surrogatepass"))


def query_string(rng: random.Random) -> str:
    parts = [f"query={q(document(rng))}"]
    if rng.random() < 0.5:
        parts.append("variables=" + q(json.dumps(variables(rng))))
    if rng.random() < 0.2:
        parts.append("variables=" + quote(mutate(rng, b'{"n": 1}').decode("latin-1")))
    if rng.random() < 0.2:
        parts.append(f"operationName={q(nasty_string(rng))}")
    if rng.random() < 0.1:
        parts.append(parts[0])
    rng.shuffle(parts)
    return "&".join(parts)


async def test_no_graphql_request_gets_a_5xx_or_logs_a_crash(http, alice, caplog):
    rng = random.Random(SEED)
    statuses: dict[int, int] = {}
    executed = 0  # answers with data: the operation ran
    for case in range(CASES):
        headers = {"Authorization": f"Bearer {alice.token}"} if rng.random() < 0.9 else {}
        accept = rng.choice(ACCEPTS)
        if accept is not None:
            headers["accept"] = accept
        if rng.random() < 0.25:
            answer = await http.get(f"/graphql?{query_string(rng)}", headers=headers)
        else:
            # JSON most of the time, so that most cases reach the JSON and GraphQL layers.
            content_type = "application/json" if rng.random() < 0.7 else rng.choice(OTHER_CONTENT_TYPES)
            if content_type:
                headers["content-type"] = content_type
            answer = await http.post("/graphql", content=request_body(rng), headers=headers)
        statuses[answer.status_code] = statuses.get(answer.status_code, 0) + 1
        assert answer.status_code < 500, (
            f"case {case} (seed {SEED}): {answer.status_code} {answer.text[:300]}"
        )
        crashes = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
        assert crashes == [], f"case {case} (seed {SEED}) logged {crashes}"
        if answer.headers["content-type"].startswith("text/html"):
            continue  # GraphiQL's page
        document_ = answer.json()
        assert document_.get("errors") or "data" in document_, f"case {case}: {answer.text[:300]}"
        if answer.headers["content-type"].startswith(GRAPHQL_RESPONSE) and answer.status_code == 400:
            assert "data" not in document_
        executed += bool(document_.get("data"))
    # The cases reach every layer: refusals before GraphQL, GraphQL errors, and executed operations.
    assert statuses.get(400, 0) > 50 and statuses.get(415, 0) > 20 and statuses.get(401, 0) > 10, statuses
    assert statuses.get(200, 0) > 25 and executed > 10, (statuses, executed)
