"""The Starlette application: health, GraphQL; consent pages and Slack join it as they land."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from api.graphql.app import GraphQLEndpoint
from core.db import create_engine, session_factory
from core.settings import Settings


@dataclass
class Services:
    """Long-lived things the surfaces share (the Azure client, later the job runner)."""

    settings: Settings


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


def create_app(settings: Settings) -> Starlette:
    engine = create_engine(settings.database_url)
    sessions = session_factory(engine)
    services = Services(settings=settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        yield
        await engine.dispose()

    graphql = GraphQLEndpoint(sessions, settings, services, graphiql=settings.environment == "development")
    app = Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/graphql", graphql, methods=["GET", "POST"]),
        ],
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.sessions = sessions
    app.state.services = services
    return app
