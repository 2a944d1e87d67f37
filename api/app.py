"""The Starlette application: health, GraphQL, the consent pages; Slack joins it later."""

from __future__ import annotations

import asyncio
import contextlib

from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route

from api.console.auth import ConsoleGraphQL
from api.console.routes import console_routes
from api.graphql.app import GraphQLEndpoint
from api.graphql.graphiql import graphiql_asset
from api.headers import SecurityHeadersMiddleware, TrustedHosts, allowed_hosts
from api.http_limits import RequestLimitsMiddleware, body_limits
from api.ops import CorrelationMiddleware, healthz, metrics_endpoint, readyz
from api.pages.consent import consent_callback, consent_connect, signin_callback
from api.sarif import repository_sarif_endpoint
from api.slack_http import slack_endpoint
from api.wiring import build_registry
from bot.app import build_slack_app
from core.jobs.periodic import run_periodic
from core.jobs.runner import JobRunner
from core.observability.logs import configure_logging
from core.services import open_services
from core.settings import Settings


def create_app(settings: Settings, *, run_jobs: bool = True) -> Starlette:
    """`run_jobs=False` leaves the jobs to another process (or, in tests, to `app.state.jobs.run_until_idle()`).

    Refuses (MissingHandlers) when a job kind that can be enqueued has no handler, before anything starts."""
    registry = build_registry()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        configure_logging(settings.log_format, settings.log_level)
        async with open_services(settings, jobs=registry) as services:
            runner = JobRunner(services)
            services.wake_jobs = runner.wake
            app.state.services = services
            slack_app = build_slack_app(services)
            app.state.slack = AsyncSlackRequestHandler(slack_app) if slack_app is not None else None
            app.state.jobs = runner
            periodic = None
            if run_jobs and not settings.distributed_jobs:  # else `panoptica worker` processes run them
                runner.start()
                periodic = asyncio.create_task(
                    run_periodic(services, settings.periodic_seconds), name="panoptica-periodic"
                )
            try:
                yield
            finally:
                if periodic is not None:
                    periodic.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await periodic
                await runner.stop()

    app = Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics_endpoint),
            Route(
                "/graphql",
                ConsoleGraphQL(GraphQLEndpoint(graphiql=settings.environment == "development")),
                methods=["GET", "POST"],
            ),
            *(
                [Route("/graphql/assets/{name}", graphiql_asset)]
                if settings.environment == "development"
                else []
            ),
            Route("/signin/azure/callback", signin_callback),
            Route("/consent/azure/callback", consent_callback),
            Route("/consent/azure/connect", consent_connect, methods=["POST"]),
            Route("/api/repositories/{id}/sarif", repository_sarif_endpoint),
            Route("/slack/events", slack_endpoint, methods=["POST"]),
            Route("/slack/install", slack_endpoint, methods=["GET"]),
            Route("/slack/oauth_redirect", slack_endpoint, methods=["GET"]),
            *console_routes(),
        ],
        lifespan=lifespan,
        # Outermost first: every answer (a refusal too) has its request id and security headers; a forged
        # Host is refused before anything reads the body; no endpoint reads more than its body limit.
        middleware=[
            Middleware(CorrelationMiddleware),
            Middleware(SecurityHeadersMiddleware, entra_authority_host=settings.entra_authority_host),
            Middleware(
                TrustedHosts,
                hosts=allowed_hosts(
                    settings.public_url, settings.allowed_hosts, settings.environment == "development"
                ),
            ),
            Middleware(RequestLimitsMiddleware, limits=body_limits(settings.graphql_max_body_bytes)),
        ],
    )
    app.state.settings = settings
    return app
