"""The Slack app: slack-bolt's AsyncApp on our Starlette application. Listeners parse, call `core`, render.

Reads (help, status, repos, subscriptions) are answered in the acknowledgement itself. Anything that
changes something or calls Slack or Azure is first stored as a durable job, then acknowledged: a restart
right after the acknowledgement loses nothing, and the job answers through the response_url (or a DM).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from slack_bolt import BoltResponse
from slack_bolt.async_app import AsyncApp, AsyncBoltRequest
from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings

from bot import blocks, manifest
from core.connections import queries as connection_queries
from core.db import session_scope
from core.db.columns import utcnow
from core.discovery import service as discovery
from core.jobs import service as jobs
from core.jobs.registry import JobKind
from core.posture import service as posture
from core.slack import feedback
from core.slack import service as slack
from core.slack.client import installation_store, oauth_state_store, web_client
from core.slack.commands import Command, Usage, parse
from core.slack.payloads import CHECK_CONNECTION, SLACK_COMMAND, CheckConnection, SlackCommand

if TYPE_CHECKING:
    from core.services import Services


log = logging.getLogger(__name__)
READ_ONLY = ("help", "status", "posture", "repos", "subscriptions")
# Our listeners acknowledge at their end (a read's answer, or "working on it" once the job is stored), so
# the listener runs inside the request: otherwise Bolt starts it as a task and polls every 10 ms for the
# acknowledgement, which under a burst of commands costs event-loop time and up to 10 ms per command.
PROCESS_BEFORE_RESPONSE = True
# Every request reaches Bolt through `api/slack_http.slack_endpoint`, which has verified its signature (over
# the raw bytes, refusing with 401) before: Bolt's own check would compute the same HMAC a second time.
BOLT_VERIFIES_SIGNATURES = False
SCOPES = manifest.BOT_SCOPES  # bot/manifest.py: the Slack app manifest is generated from the same names


def build_slack_app(services: Services) -> AsyncApp | None:
    settings = services.settings
    if not settings.slack_enabled:
        log.info(
            "Slack app is off: set SLACK_SIGNING_SECRET and SLACK_BOT_TOKEN (or the OAuth client) to enable it"
        )
        return None
    assert settings.slack_signing_secret is not None  # slack_enabled says it is set
    secret = settings.slack_signing_secret.get_secret_value()
    if settings.slack_bot_token is not None:
        app = AsyncApp(
            signing_secret=secret,
            client=web_client(settings, settings.slack_bot_token.get_secret_value()),
            process_before_response=PROCESS_BEFORE_RESPONSE,
            request_verification_enabled=BOLT_VERIFIES_SIGNATURES,
        )
    else:
        store = installation_store(settings, services.engine)
        app = AsyncApp(
            signing_secret=secret,
            client=web_client(settings, None),
            process_before_response=PROCESS_BEFORE_RESPONSE,
            request_verification_enabled=BOLT_VERIFIES_SIGNATURES,
            installation_store=store,
            oauth_settings=AsyncOAuthSettings(
                client_id=settings.slack_client_id,
                client_secret=settings.slack_client_secret.get_secret_value()
                if settings.slack_client_secret
                else "",
                scopes=SCOPES,
                installation_store=store,
                state_store=oauth_state_store(services.engine),
                redirect_uri=f"{settings.public_url}{manifest.OAUTH_REDIRECT_PATH}",
            ),
        )
    register(app, services)
    return app


class OncePerDelivery(AsyncMiddleware):
    """Slack retries events it thinks we missed: each event id is handled once.

    A middleware class, not a decorated function: Bolt calls it directly, where a function middleware has its
    arguments injected by name on every request (slash commands included, which carry no event id)."""

    def __init__(self, services: Services) -> None:
        self.services = services

    async def async_process(
        self, *, req: AsyncBoltRequest, resp: BoltResponse, next: Callable[[], Awaitable[BoltResponse]]
    ) -> BoltResponse | None:
        body = req.body
        event_id = body.get("event_id") if isinstance(body, dict) else None
        if event_id:
            async with session_scope(self.services.sessions) as session:
                if not await slack.first_delivery(session, f"event:{event_id}"):
                    return BoltResponse(status=200, body="")  # a repeat: acknowledged, handled nothing
        return await next()


def register(app: AsyncApp, services: Services) -> None:
    app.use(OncePerDelivery(services))

    @app.command(manifest.COMMAND)
    async def panoptica(ack, command):
        await ack(**await answer_command(services, command))

    @app.action(manifest.CHECK_CONNECTION)
    async def check_connection(ack, body, action):
        await durable(
            services,
            CHECK_CONNECTION,
            CheckConnection(**origin_of_action(body, action)),
            dedupe_key=f"action:{body.get('container', {}).get('message_ts')}:{action.get('action_ts')}",
        )
        await ack()

    @app.action(manifest.OPEN_CONSENT)
    async def open_consent(ack):
        await ack()  # a link button: Slack still tells us it was pressed

    @app.event(manifest.APP_UNINSTALLED)
    async def uninstalled(body):
        async with session_scope(services.sessions) as session:
            await slack.record_uninstall(session, str(body.get("team_id", ""))[:32])


async def answer_command(services: Services, command: dict) -> dict:
    """The acknowledgement: a read answered at once, or "working on it" once the job is stored."""
    parsed = parse(command.get("text", ""))
    if isinstance(parsed, Usage):
        return blocks.plain(parsed.message)
    if parsed.name == "help":
        return blocks.help_message()
    account_id = slack.cached_workspace_account(services.engine, command["team_id"])
    if account_id is None:
        async with services.sessions() as session:
            account_id = await slack.workspace_account(session, command["team_id"])
    if account_id is None:
        if parsed.name != "link":  # the one command a workspace not linked yet may run (it is no read)
            return blocks.not_linked(services.settings.public_url)
    elif parsed.name in READ_ONLY:
        return await read_command(services, account_id, command["team_id"], parsed)
    origin = origin_of_command(command, account_id)
    await durable(
        services,
        SLACK_COMMAND,
        SlackCommand(**origin, command=parsed.name, args=parsed.args),
        dedupe_key=f"command:{command.get('trigger_id') or origin['issued_at']}",
    )
    return {"text": "Working on it…"}


async def read_command(services: Services, account_id: str, team_id: str, parsed: Command) -> dict:
    async with services.sessions() as session:
        if parsed.name == "status":
            views = await connection_queries.list_connections(session, account_id)
            wanted = parsed.args["organization"]
            problems = await feedback.scan_problems(session, account_id)
            return blocks.status([v for v in views if wanted in (None, v.connection.organization)], problems)
        if parsed.name == "posture":
            overview = await posture.posture_overview(session, account_id, parsed.args["organization"])
            return blocks.posture(overview, services.settings.public_url)
        if parsed.name == "repos":
            flt = discovery.RepositoryFilter(
                organization=parsed.args["organization"],
                project=parsed.args["project"],
                search=parsed.args["search"],
            )
            page = await discovery.list_repositories(session, account_id, flt, 10, None)
            return blocks.repositories(page, services.settings.public_url)
        digest_time = services.settings.digest_time
        return blocks.subscriptions(
            await slack.list_subscriptions(session, account_id, team_id),
            digest_time,
            feedback.next_digest_at(digest_time),
        )


def origin_of_command(command: dict, account_id: str | None) -> dict:
    return {
        "account_id": account_id,
        "team_id": command["team_id"],
        "team_domain": command.get("team_domain", ""),
        "user_id": command["user_id"],
        "channel_id": command["channel_id"],
        "response_url": command.get("response_url", ""),
        "issued_at": utcnow().isoformat(),
    }


def origin_of_action(body: dict, action: dict) -> dict:
    return {
        "team_id": body["team"]["id"],
        "user_id": body["user"]["id"],
        "channel_id": (body.get("channel") or {}).get("id", ""),
        "response_url": body.get("response_url", ""),
        "issued_at": utcnow().isoformat(),
        "connection_id": str(action.get("value", ""))[:64],
    }


async def durable(services: Services, kind: JobKind, payload: object, dedupe_key: str) -> None:
    async with session_scope(services.sessions) as session:
        await jobs.enqueue(session, kind, payload, dedupe_key=dedupe_key[:200])
    services.wake_jobs()
