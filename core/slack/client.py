"""Slack Web API clients: one per workspace, with the bot token from settings or the installation store."""

from __future__ import annotations

from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import AsyncSQLAlchemyOAuthStateStore
from slack_sdk.web.async_client import AsyncWebClient

from core.azure.tokens import trusted_ssl_context
from core.slack.stores import BOTS_TABLE, INSTALLATIONS_TABLE, OAUTH_STATES_TABLE


def web_client(settings, token: str | None, *, rate_limit_retries: int = 1) -> AsyncWebClient:
    """A client on `PANOPTICA_SLACK_API_URL`, trusting `PANOPTICA_CA_BUNDLE`. The 429 handler is a safety
    net; senders pace themselves (one message per second per channel)."""
    base_url = settings.slack_api_url.rstrip("/") + "/"
    return AsyncWebClient(
        token=token,
        base_url=base_url,
        ssl=trusted_ssl_context(settings.ca_bundle),
        retry_handlers=[
            AsyncConnectionErrorRetryHandler(max_retry_count=1),
            AsyncRateLimitErrorRetryHandler(max_retry_count=rate_limit_retries),
        ],
    )


def installation_store(settings, engine) -> AsyncSQLAlchemyInstallationStore:
    return AsyncSQLAlchemyInstallationStore(
        client_id=settings.slack_client_id or "single-workspace",
        engine=engine,
        bots_table_name=BOTS_TABLE,
        installations_table_name=INSTALLATIONS_TABLE,
    )


def oauth_state_store(engine) -> AsyncSQLAlchemyOAuthStateStore:
    return AsyncSQLAlchemyOAuthStateStore(
        expiration_seconds=600, engine=engine, table_name=OAUTH_STATES_TABLE
    )


async def bot_token(settings, engine, team_id: str) -> str | None:
    """The token to post into `team_id`: single-workspace mode's token, else the installed bot's."""
    if settings.slack_bot_token is not None:
        return settings.slack_bot_token.get_secret_value()
    bot = await installation_store(settings, engine).async_find_bot(enterprise_id=None, team_id=team_id)
    return bot.bot_token if bot is not None else None


async def client_for_team(settings, engine, team_id: str, **kwargs) -> AsyncWebClient | None:
    token = await bot_token(settings, engine, team_id)
    return web_client(settings, token, **kwargs) if token else None
