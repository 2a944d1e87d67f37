"""The GraphQL the console added (api/graphql/console.py): API tokens and the findings trend, per account."""

from datetime import datetime, timedelta

from core.db import session_scope
from core.db.columns import utcnow
from core.findings.models import Finding

TOKENS = "{ apiTokens { id userEmail revokedAt } }"
CREATE = "mutation { createApiToken { token apiToken { id userEmail } } }"
REVOKE = """mutation($id: ID!) { revokeApiToken(id: $id) { __typename
  ... on ApiToken { id revokedAt } ... on UserError { code message } } }"""
TREND = """query($days: Int!) { findingTrend(days: $days) {
  day newFindings fixedFindings open { critical high medium low info } } }"""


async def test_a_token_created_works_until_revoked_and_stays_in_its_account(alice, mallory):
    created = (await alice.graphql(CREATE))["data"]["createApiToken"]
    assert created["token"].startswith("pan_") and created["apiToken"]["userEmail"] == "alice@acme.test"
    token_id = created["apiToken"]["id"]
    listed = (await alice.graphql(TOKENS))["data"]["apiTokens"]
    assert token_id in [row["id"] for row in listed]
    assert token_id not in [row["id"] for row in (await mallory.graphql(TOKENS))["data"]["apiTokens"]]

    new = alice.client.headers.copy()
    new["Authorization"] = f"Bearer {created['token']}"
    works = await alice.client.post("/graphql", json={"query": TOKENS}, headers=new)
    assert works.status_code == 200 and "errors" not in works.json()

    # Mallory cannot revoke Alice's token; Alice can.
    refused = (await mallory.graphql(REVOKE, id=token_id))["data"]["revokeApiToken"]
    assert refused == {"__typename": "NotFoundError", "code": "NOT_FOUND", "message": refused["message"]}
    revoked = (await alice.graphql(REVOKE, id=token_id))["data"]["revokeApiToken"]
    assert revoked["__typename"] == "ApiToken" and revoked["revokedAt"]
    gone = await alice.client.post("/graphql", json={"query": TOKENS}, headers=new)
    assert gone.status_code == 401


def finding(account_id: str, severity: str, seen: datetime, fixed: datetime | None, status="OPEN", n=0):
    return Finding(
        account_id=account_id,
        scanner="secrets",
        rule_id="SECRET-X",
        title="x",
        severity=severity,
        category="SECRET",
        path=f"f{n}.txt",
        fingerprint=f"{severity}{n}{seen.isoformat()}",
        status="FIXED" if fixed else status,
        first_seen_at=seen,
        last_seen_at=seen,
        fixed_at=fixed,
    )


async def test_the_trend_counts_open_new_and_fixed_per_day(db, alice, mallory):
    today = utcnow().replace(hour=12, minute=0, second=0, microsecond=0)
    day = timedelta(days=1)
    async with session_scope(db) as session:
        session.add(
            finding(alice.account_id, "CRITICAL", today - 2 * day, today - day, n=1)
        )  # fixed yesterday
        session.add(finding(alice.account_id, "HIGH", today - 2 * day, None, n=2))  # still open
        session.add(finding(alice.account_id, "HIGH", today, None, n=3))  # new today
        session.add(finding(alice.account_id, "LOW", today - day, None, status="SUPPRESSED", n=4))  # left out
        session.add(finding(mallory.account_id, "CRITICAL", today, None, n=5))  # another account's
    days = (await alice.graphql(TREND, days=3))["data"]["findingTrend"]
    assert [d["day"] for d in days] == [(today - k * day).date().isoformat() for k in (2, 1, 0)]
    assert [(d["open"]["critical"], d["open"]["high"], d["open"]["low"]) for d in days] == [
        (1, 1, 0),
        (0, 1, 0),
        (0, 2, 0),
    ]
    assert [(d["newFindings"], d["fixedFindings"]) for d in days] == [(2, 0), (0, 1), (1, 0)]
    refused = await alice.graphql(TREND, days=91)
    assert refused["data"] is None and "between 1 and 90" in refused["errors"][0]["message"]
