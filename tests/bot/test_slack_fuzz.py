"""Property: no request to /slack/events, signed or not, gets a 5xx or logs a crash (300 seeded cases).

Most cases are signed with the real secret, so they get past the signature and test what Bolt and our
listeners would read: slash commands with random fields, interaction payloads and Events API bodies built from
the keys Bolt's extractors look at, with values of every type; some are byte-mutated or random bytes.
"""

from __future__ import annotations

import json
import logging
import random
from urllib.parse import urlencode

from tests.bot.slack_harness import ADMIN, SECURITY, TEAM, sign
from tests.fuzz import CASES, SEED, encode, json_value, mutate, nasty_string, random_bytes

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
KEYS = [
    "type",
    "team",
    "team_id",
    "user",
    "user_id",
    "channel",
    "channel_id",
    "enterprise",
    "enterprise_id",
    "event",
    "event_id",
    "authorizations",
    "actions",
    "action_id",
    "block_id",
    "value",
    "action_ts",
    "container",
    "message_ts",
    "response_url",
    "response_urls",
    "trigger_id",
    "view",
    "message",
    "item",
    "is_enterprise_install",
    "is_ext_shared_channel",
    "challenge",
    "id",
    "api_app_id",
]
TYPES = [
    "block_actions",
    "event_callback",
    "url_verification",
    "view_submission",
    "shortcut",
    "app_rate_limited",
]
EVENTS = ["app_uninstalled", "app_mention", "message", "tokens_revoked", "app_home_opened"]
TEXTS = ["help", "status", "repos", "link 123456", "subscribe", "scan x", "connect azure contoso", "posture"]


def value(rng: random.Random):
    """Mostly what Slack sends for a key (an id, an object with an id), sometimes anything at all."""
    roll = rng.random()
    if roll < 0.35:
        return rng.choice([TEAM, ADMIN, SECURITY, "E0ORG", "1.1"])
    if roll < 0.55:
        return {"id": rng.choice([TEAM, ADMIN, SECURITY, 5, None, nasty_string(rng)])}
    return json_value(rng, keys=KEYS)


def payload(rng: random.Random) -> dict:
    body: dict = {"type": rng.choice(TYPES)}
    if body["type"] == "block_actions" and rng.random() < 0.6:
        body.update(team={"id": TEAM}, user={"id": ADMIN}, channel={"id": SECURITY})
        body["actions"] = [
            {
                "action_id": rng.choice(["check_connection", "open_consent", "other"]),
                "value": nasty_string(rng),
            }
        ]
    if body["type"] == "event_callback":
        body["event"] = {"type": rng.choice(EVENTS), "user": value(rng)}
        body["team_id"] = TEAM
        body["event_id"] = f"Ev{rng.randint(0, 10**9)}"
    for _ in range(rng.randint(0, 6)):
        body[rng.choice(KEYS)] = value(rng)
    return body


def slash_command(rng: random.Random) -> bytes:
    form = {
        "command": rng.choice(["/panoptica", "/panoptica", "/other", nasty_string(rng)]),
        "text": rng.choice(TEXTS) if rng.random() < 0.6 else nasty_string(rng),
        "team_id": TEAM,
        "user_id": ADMIN,
        "channel_id": SECURITY,
        "trigger_id": f"t{rng.randint(0, 10**9)}",
    }
    for _ in range(rng.randint(0, 3)):
        key = rng.choice([*form, *KEYS])
        if rng.random() < 0.3:
            form.pop(key, None)
        else:
            form[key] = nasty_string(rng)
    return urlencode({k: v.encode("utf-8", "surrogatepass") for k, v in form.items()}).encode()


def request(rng: random.Random) -> tuple[bytes, str]:
    roll = rng.random()
    if roll < 0.35:
        return slash_command(rng), FORM
    if roll < 0.65:
        text = encode(rng, payload(rng)).decode("utf-8", "surrogateescape")
        return urlencode({"payload": text.encode("utf-8", "surrogateescape")}).encode(), FORM
    if roll < 0.85:
        return encode(rng, payload(rng)), JSON
    if roll < 0.95:
        return mutate(rng, encode(rng, payload(rng))), rng.choice([JSON, FORM])
    return random_bytes(rng), rng.choice([JSON, FORM, "text/plain", ""])


async def test_no_slack_request_gets_a_5xx_or_logs_a_crash(bot, caplog):
    rng = random.Random(SEED)
    statuses: dict[int, int] = {}
    for case in range(CASES):
        body, content_type = request(rng)
        headers = {"content-type": content_type} if content_type else {}
        roll = rng.random()
        if roll < 0.85:
            headers.update(sign(body))
        elif roll < 0.95:
            headers.update(sign(body, secret="a-guess-at-the-secret"))
        answer = await bot.http.post("/slack/events", content=body, headers=headers)
        await bot.settled()  # listeners Bolt runs after its acknowledgement
        statuses[answer.status_code] = statuses.get(answer.status_code, 0) + 1
        assert answer.status_code < 500, (
            f"case {case} (seed {SEED}): {answer.status_code} {answer.text[:300]}"
        )
        crashes = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
        assert crashes == [], f"case {case} (seed {SEED}) logged {crashes}"
        if answer.status_code >= 400 and answer.headers.get("content-type", "").startswith(JSON):
            assert set(json.loads(answer.text)) <= {"error"}, answer.text
    # Signed, well-formed requests were served, and each kind of refusal happened.
    assert statuses.get(200, 0) > 30 and statuses.get(400, 0) > 30 and statuses.get(401, 0) > 20, statuses
