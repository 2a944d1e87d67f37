"""Operations endpoints: liveness, readiness, Prometheus metrics; and the correlation id of each request."""

from __future__ import annotations

import hmac
import logging

from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from api.graphql.app import bearer_token
from core.db.migrate import schema_revisions
from core.observability import metrics
from core.observability.logs import correlated
from core.retention import sizes as table_sizes

log = logging.getLogger(__name__)


async def healthz(request: Request) -> JSONResponse:
    """Liveness: the process answers. Never touches the database (a restart would not fix it)."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    """Readiness: the database answers and its schema is the one this code expects."""
    engine = request.app.state.services.engine
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        current, head = await schema_revisions(engine)
    except Exception as error:  # any failure means "do not send traffic here"
        log.warning("not ready: database unreachable (%s)", type(error).__name__)
        return JSONResponse(
            {"status": "unavailable", "reason": "The database does not answer."}, status_code=503
        )
    if current != head:
        reason = f"The database schema is at {current or 'nothing'}, this release needs {head}: run `panoptica db upgrade`."
        return JSONResponse({"status": "unavailable", "reason": reason}, status_code=503)
    return JSONResponse({"status": "ready", "schema": head})


async def metrics_endpoint(request: Request) -> Response:
    """Prometheus text, for whoever holds PANOPTICA_METRICS_TOKEN (Bearer); without the setting, not served
    at all (404), so a deployment that never chose who may read its metrics exposes nothing."""
    expected = request.app.state.settings.metrics_token
    if expected is None:
        return JSONResponse({"error": "Not found."}, status_code=404)
    given = bearer_token(request) or ""
    if not hmac.compare_digest(given.encode(), expected.get_secret_value().encode()):
        return JSONResponse(
            {"error": "Missing or invalid metrics token."},
            status_code=401,
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )
    async with request.app.state.services.sessions() as session:
        body = await metrics.render(session)
        body += (await table_sizes.render(session)).encode()
    return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")


class CorrelationMiddleware:
    """Every log record of a request carries its id: the proxy's X-Request-ID, or a new one (echoed back)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        usable = given if given and len(given) <= 64 and given.isprintable() else None
        with correlated(usable) as correlation_id:

            async def send_with_id(message) -> None:
                if message["type"] == "http.response.start":
                    message.setdefault("headers", []).append((b"x-request-id", correlation_id.encode()))
                await send(message)

            await self.app(scope, receive, send_with_id)
