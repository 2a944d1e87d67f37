"""Replying to a Slack user after the request was answered: their `response_url` while it is valid
(30 minutes, 5 uses), else a direct message."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import httpx

from core.azure.tokens import trusted_ssl_context
from core.db.columns import utcnow
from core.slack.client import client_for_team

if TYPE_CHECKING:
    from core.services import Services


log = logging.getLogger(__name__)
RESPONSE_URL_LIFETIME = timedelta(minutes=29)  # Slack's is 30; keep a margin


async def reply(services: Services, origin: dict, content: dict) -> str:
    """Send `content` ({text, blocks}) to the user in `origin`; returns how ("response_url" or "dm")."""
    issued = origin.get("issued_at")
    fresh = issued and utcnow() - datetime.fromisoformat(issued) < RESPONSE_URL_LIFETIME
    if (
        origin.get("response_url")
        and fresh
        and await post_response_url(services, origin["response_url"], content)
    ):
        return "response_url"
    client = await client_for_team(services.settings, services.engine, origin["team_id"])
    if client is None:
        raise RuntimeError("no Slack bot token for this workspace")
    await client.chat_postMessage(channel=origin["user_id"], text=content["text"], blocks=content["blocks"])
    return "dm"


async def post_response_url(services: Services, url: str, content: dict) -> bool:
    if not url.startswith("https://"):
        return False
    payload = {**content, "response_type": "ephemeral", "replace_original": False}
    try:
        async with httpx.AsyncClient(
            verify=trusted_ssl_context(services.settings.ca_bundle), timeout=10
        ) as http:
            response = await http.post(url, json=payload)
    except httpx.HTTPError as error:
        log.warning("response_url post failed (%s); falling back to a direct message", type(error).__name__)
        return False
    return response.status_code == 200
