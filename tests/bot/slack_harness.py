"""The Slack app harness: signed requests to our ASGI app, replies read from the emulator's Slack fake."""

import asyncio
import hashlib
import hmac
import json
import time
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

from sandbox import slack as slack_fake
from tests.api.conftest import new_caller

SECRET = "slack-signing-secret-for-tests"
TEAM = "T0DEMO"
ADMIN, MEMBER = "U0ADMIN", "U0MEMBER"
SECURITY, RANDOM = "C0SECURITY", "C0RANDOM"


def sign(body: bytes, timestamp: str | None = None, secret: str = SECRET) -> dict:
    """The headers Slack signs a request with (v0: HMAC-SHA256 of the timestamp and body)."""
    timestamp = timestamp or str(int(time.time()))
    digest = hmac.new(secret.encode(), b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    return {"x-slack-request-timestamp": timestamp, "x-slack-signature": f"v0={digest}"}


class Bot:
    def __init__(self, app, http, sandbox, db):
        self.app, self.http, self.sandbox, self.db = app, http, sandbox, db

    async def post(self, body: str, content_type: str, timestamp: int | None = None, secret: str = SECRET):
        ts = str(timestamp or int(time.time()))
        signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
        headers = {
            "content-type": content_type,
            "x-slack-request-timestamp": ts,
            "x-slack-signature": signature,
        }
        return await self.http.post("/slack/events", content=body, headers=headers)

    async def command(self, text: str, user: str = ADMIN, channel: str = SECURITY, **kw):
        response_url = slack_fake.response_url(self.sandbox.context)
        form = {
            "command": "/panoptica",
            "text": text,
            "team_id": TEAM,
            "team_domain": "contoso",
            "user_id": user,
            "channel_id": channel,
            "response_url": response_url,
            "trigger_id": f"trigger-{time.monotonic_ns()}",
        }
        response = await self.post(urlencode(form), "application/x-www-form-urlencoded", **kw)
        await self.run_jobs()
        return response, response_url

    async def press(
        self,
        action_id: str,
        value: str,
        user: str = ADMIN,
        message_ts: str = "111.1",
        action_ts: str = "222.2",
    ):
        payload = {
            "type": "block_actions",
            "team": {"id": TEAM},
            "user": {"id": user},
            "channel": {"id": SECURITY},
            "container": {"message_ts": message_ts},
            "response_url": slack_fake.response_url(self.sandbox.context),
            "trigger_id": "t",
            "actions": [
                {
                    "action_id": action_id,
                    "value": value,
                    "action_ts": action_ts,
                    "block_id": "b",
                    "type": "button",
                }
            ],
        }
        return await self.post(
            urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded"
        )

    async def settled(self) -> None:
        """Bolt runs an event listener after its automatic acknowledgement: wait (bounded) for it."""
        for _ in range(500):
            if not [t for t in asyncio.all_tasks() if "run_ack_function" in repr(t.get_coro())]:
                return
            await asyncio.sleep(0.01)
        raise AssertionError("Slack listeners did not finish")

    async def run_jobs(self):
        await self.app.state.jobs.run_until_idle()

    def replies(self) -> list[str]:
        return [
            json.dumps(c["body"], ensure_ascii=False)
            for c in slack_fake.calls(self.sandbox.context, "response_url")
        ]

    async def link(self) -> str:
        caller = await new_caller(self.db, self.http, "Acme", "alice@acme.test")
        code = (await caller.graphql("mutation { createSlackLinkCode { code } }"))["data"][
            "createSlackLinkCode"
        ]["code"]
        response, _ = await self.command(f"link {code}")
        assert response.status_code == 200
        assert "now linked" in self.replies()[-1]
        self.caller = caller
        return code


def text_of(response) -> str:
    try:
        return json.dumps(response.json(), ensure_ascii=False)
    except ValueError:
        return response.text
