"""The Starlette application: health, GraphQL, the consent pages; Slack joins it later."""

from __future__ import annotations

import contextlib

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from api.graphql.app import GraphQLEndpoint
from api.pages.consent import consent_callback, consent_connect
from api.sarif import repository_sarif_endpoint
from core.jobs.runner import JobRunner
from core.services import open_services
from core.settings import Settings


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


def create_app(settings: Settings, *, run_jobs: bool = True) -> Starlette:
    """`run_jobs=False` leaves the jobs to another process (or, in tests, to `app.state.jobs.run_until_idle()`)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        async with open_services(settings) as services:
            runner = JobRunner(services)
            services.wake_jobs = runner.wake
            app.state.services = services
            app.state.jobs = runner
            if run_jobs:
                runner.start()
            try:
                yield
            finally:
                await runner.stop()

    app = Starlette(
        routes=[
            Route("/healthz", healthz),
            Route(
                "/graphql",
                GraphQLEndpoint(graphiql=settings.environment == "development"),
                methods=["GET", "POST"],
            ),
            Route("/consent/azure/callback", consent_callback),
            Route("/consent/azure/connect", consent_connect, methods=["POST"]),
            Route("/api/repositories/{id}/sarif", repository_sarif_endpoint),
        ],
        lifespan=lifespan,
    )
    app.state.settings = settings
    return app
