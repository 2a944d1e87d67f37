"""`/graphql` for the console: its session cookie authenticates a request only with the CSRF header.

Programs keep sending `Authorization: Bearer <API token>`, which always wins and is handled, unchanged, by
`api.graphql.app.GraphQLEndpoint`. A request without one whose cookie names a live session and whose
`X-Panoptica-CSRF` header matches that session runs as the session's person; any other request goes to the
endpoint as it is, which answers 401 (a cookie alone, as a cross-site form would send it, authenticates
nothing).
"""

from __future__ import annotations

from starlette.requests import Request

from api.graphql.app import GraphQLEndpoint
from core.accounts import sessions

SESSION_COOKIE = "panoptica_session"
CSRF_HEADER = "x-panoptica-csrf"


class ConsoleGraphQL:
    def __init__(self, endpoint: GraphQLEndpoint) -> None:
        self.endpoint = endpoint

    async def __call__(self, scope, receive, send) -> None:
        request = Request(scope, receive)
        cookie = request.cookies.get(SESSION_COOKIE)
        csrf = request.headers.get(CSRF_HEADER)
        if "authorization" not in request.headers and cookie and csrf:
            async with request.app.state.services.sessions() as session:
                principal = await sessions.authenticate_session(session, cookie, csrf)
            if principal is not None:
                scope["panoptica.principal"] = principal
                await self.endpoint.app(scope, receive, send)
                return
        await self.endpoint(scope, receive, send)
