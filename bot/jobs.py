"""Durable Slack work: each command or press is a job, so a restart never loses the answer."""

from __future__ import annotations

from typing import TYPE_CHECKING

from slack_sdk.errors import SlackApiError

from bot import blocks, digests
from core.accounts.service import Principal
from core.connections import flows
from core.connections.models import AzureConnection
from core.db import session_scope
from core.digests.payloads import BUILD_DIGESTS
from core.errors import DomainError
from core.jobs.registry import Registry, fields_of
from core.scans import requests as scan_requests
from core.slack import feedback
from core.slack import service as slack
from core.slack.client import client_for_team
from core.slack.models import SlackConnectOrigin
from core.slack.payloads import (
    CHECK_CONNECTION,
    CONSENT_FOLLOWUP,
    SLACK_COMMAND,
    WATCH_SCAN,
    CheckConnection,
    ConsentFollowup,
    SlackCommand,
    WatchScan,
)
from core.slack.replies import reply

if TYPE_CHECKING:
    from core.services import Services


def principal(payload: dict) -> Principal:
    return Principal(account_id=payload["account_id"], user_email=f"slack:{payload['user_id']}", token_id="")


async def allowed(services: Services, payload: dict) -> bool:
    """Workspace admins and owners (users.info), or the account's allow-list."""
    user = await slack_user(services, payload["team_id"], payload["user_id"])
    async with services.sessions() as session:
        return await slack.may_change(session, payload.get("account_id"), payload["user_id"], user)


async def slack_user(services: Services, team_id: str, user_id: str) -> dict:
    """users.info; a user Slack does not know (deleted, another workspace) has no admin flags."""
    client = await client_for_team(services.settings, services.engine, team_id)
    if client is None:
        return {}
    try:
        return (await client.users_info(user=user_id)).get("user") or {}
    except SlackApiError as error:
        if error.response.get("error") in ("user_not_found", "user_not_visible"):
            return {}
        raise  # rate limits and outages: the job runs again


async def command_job(services: Services, command: SlackCommand) -> None:
    payload = fields_of(command)  # the commands read (and reply to) the stored fields
    if not await allowed(services, payload):
        await reply(services, payload, blocks.not_admin())
        return
    run = COMMANDS[payload["command"]]
    content = await run(services, payload, payload["args"])
    if content is not None:
        await reply(services, payload, content)


async def link(services: Services, payload: dict, args: dict) -> dict:
    try:
        async with session_scope(services.sessions) as session:
            await slack.link_workspace(
                session, args["code"], payload["team_id"], payload.get("team_domain", ""), payload["user_id"]
            )
    except DomainError as error:  # slack.SlackError: a code invalid, used, or another account's workspace
        return blocks.refusal(error)
    return blocks.plain(":white_check_mark: This workspace is now linked to your Panoptica account.")


async def connect(services: Services, payload: dict, args: dict) -> dict:
    """Validate the organization, find its tenant and create the consent request; answer with the link."""
    try:
        started = await flows.start(
            services, principal(payload), args["organization"], bool(args.get("move"))
        )
    except DomainError as error:  # ConnectError
        return blocks.refusal(error)
    async with session_scope(services.sessions) as session:
        await slack.remember_origin(
            session,
            started.connection.id,
            payload["team_id"],
            payload["user_id"],
            payload["channel_id"],
            payload.get("response_url", ""),
        )
    return blocks.connect_started(started.connection.organization, started.sign_in_url)


async def app_is_member(services: Services, team_id: str, channel: str) -> bool:
    """conversations.info's `is_member`; a channel the app cannot see (private, deleted) is not joined."""
    client = await client_for_team(services.settings, services.engine, team_id)
    if client is None:
        return False
    try:
        info = await client.conversations_info(channel=channel)
    except SlackApiError as error:
        if error.response.get("error") == "channel_not_found":
            return False
        raise  # rate limits and outages: the job runs again
    return bool((info.get("channel") or {}).get("is_member"))


async def subscription(services: Services, payload: dict, args: dict) -> dict:
    if args["channel_name"]:
        return blocks.plain(
            f"Mention the channel so Slack links it (type `#{args['channel_name']}` and pick it)."
        )
    channel = args["channel"] or payload["channel_id"]
    if payload["command"] == "subscribe" and not await app_is_member(services, payload["team_id"], channel):
        return blocks.plain(
            f"I am not in <#{channel}>. Type `/invite @Panoptica` there, then subscribe again."
        )
    async with session_scope(services.sessions) as session:
        if payload["command"] == "subscribe":
            await slack.subscribe(
                session,
                payload["account_id"],
                payload["team_id"],
                channel,
                args["organization"],
                args["project"],
                args["min_severity"],
                payload["user_id"],
            )
            scope = (
                args["organization"] + (f"/{args['project']}" if args["project"] else "")
                or "all organizations"
            )
            return blocks.plain(
                f":white_check_mark: <#{channel}> gets a daily digest for {scope} "
                f"(severity ≥ {args['min_severity']})."
            )
        removed = await slack.unsubscribe(
            session,
            payload["account_id"],
            payload["team_id"],
            channel,
            args["organization"],
            args["project"],
            args["all"],
            payload["user_id"],
        )
    return blocks.plain(f"Removed {removed} subscription(s) from <#{channel}>.")


async def scan(services: Services, payload: dict, args: dict) -> dict:
    async with services.sessions() as session:
        matches = await slack.find_repository(session, payload["account_id"], args["repository"])
    if len(matches) != 1:
        found = "No repository" if not matches else f"{len(matches)} repositories"
        return blocks.plain(
            f"{found} named `{blocks.escape(args['repository'][:100])}`. "
            "Use `project/name` or the repository URL."
        )
    try:
        asked = await scan_requests.request_repository_scan(services, principal(payload), matches[0].id)
    except DomainError as error:  # cannot be scanned, or RateLimited: the same budget as the console's
        return blocks.refusal(error)
    name = blocks.escape(matches[0].name)
    if asked.run is not None:  # the outcome is reported to whoever asked, when the run ends
        async with session_scope(services.sessions) as session:
            await feedback.watch_scan(session, asked.run.id, reply_target(payload))
        services.wake_jobs()
    if asked.already_queued:
        return blocks.plain(
            f":mag: A scan of `{name}` is already queued or running; I will tell you how it ends."
        )
    return blocks.plain(f":mag: Scan of `{name}` queued; I will tell you how it ends.")


def reply_target(payload: dict) -> dict:
    """What `reply` needs to answer this person later (their response_url while fresh, else a DM)."""
    keys = ("account_id", "team_id", "user_id", "channel_id", "response_url", "issued_at")
    return {k: payload.get(k, "") for k in keys}


async def scan_outcome_job(services: Services, watch: WatchScan) -> None:
    await feedback.follow_scan(
        services, fields_of(watch), lambda o: blocks.scan_outcome(o, services.settings.public_url), reply
    )


COMMANDS = {
    "link": link,
    "connect": connect,
    "subscribe": subscription,
    "unsubscribe": subscription,
    "scan": scan,
}


async def consent_followup_job(services: Services, payload: ConsentFollowup) -> None:
    async with services.sessions() as session:
        origin = await session.get(SlackConnectOrigin, payload.connection_id)
        connection = await session.get(AzureConnection, payload.connection_id)
    if origin is None or connection is None:
        return
    target = {
        "team_id": origin.team_id,
        "user_id": origin.user_id,
        "response_url": origin.response_url,
        "issued_at": origin.created_at.isoformat(),
    }
    content = blocks.consent_followup(
        connection.organization, connection.id, services.settings.service_principal_name
    )
    await reply(services, target, content)


async def check_connection_job(services: Services, check: CheckConnection) -> None:
    payload = fields_of(check)  # gains the workspace's account_id below, and is the reply's target
    async with services.sessions() as session:
        payload["account_id"] = await slack.workspace_account(session, payload["team_id"])
    if payload["account_id"] is None:
        await reply(services, payload, blocks.not_linked(services.settings.public_url))
        return
    if not await allowed(services, payload):
        await reply(services, payload, blocks.not_admin())
        return
    try:
        result = await flows.connect(services, principal(payload), payload["connection_id"])
    except DomainError as error:  # ConnectError
        await reply(services, payload, blocks.refusal(error))
        return
    if result is None:
        await reply(services, payload, blocks.plain("That connection no longer exists."))
        return
    summary = result.discovery
    content = blocks.check_result(
        result.connection.organization,
        result.connection.id,
        result.diagnosis.ok,
        [c.as_dict() for c in result.diagnosis.checks],
        summary.projects if summary else 0,
        summary.repositories if summary else 0,
    )
    await reply(services, payload, content)


def register(registry: Registry) -> None:
    """The Slack surface's jobs: its commands and follow-ups, and the digest build (rendered as Block Kit)."""
    registry.add(SLACK_COMMAND, command_job)
    registry.add(CHECK_CONNECTION, check_connection_job)
    registry.add(WATCH_SCAN, scan_outcome_job)
    registry.add(CONSENT_FOLLOWUP, consent_followup_job)
    registry.add(BUILD_DIGESTS, digests.build_digests)
