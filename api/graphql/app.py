"""`/graphql`: bearer-token authentication in front of Strawberry; GraphiQL only in development."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from strawberry.asgi import GraphQL

from api.graphql.context import Context
from api.graphql.schema import schema
from core.accounts.service import authenticate


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


class GraphQLApp(GraphQL):
    async def get_context(self, request, response) -> Context:
        return Context(
            principal=request.scope["panoptica.principal"],
            services=request.app.state.services,
            request=request,
            response=response,
        )


class GraphQLEndpoint:
    """An ASGI endpoint: answers 401 before Strawberry runs when the bearer token is missing or bad."""

    def __init__(self, graphiql: bool = False) -> None:
        self.graphiql = graphiql
        self.app = GraphQLApp(schema, graphql_ide="graphiql" if graphiql else None)

    async def __call__(self, scope, receive, send) -> None:
        request = Request(scope, receive)
        if self.graphiql and request.method == "GET" and "text/html" in request.headers.get("accept", ""):
            await self.app(scope, receive, send)  # the IDE page itself; its queries carry the token
            return
        async with request.app.state.services.sessions() as session:
            principal = await authenticate(session, bearer_token(request))
        if principal is None:
            response = JSONResponse(
                {
                    "errors": [
                        {
                            "message": "Missing or invalid API token.",
                            "extensions": {"code": "UNAUTHENTICATED"},
                        }
                    ]
                },
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer realm="panoptica"'},
            )
            await response(scope, receive, send)
            return
        scope["panoptica.principal"] = principal
        await self.app(scope, receive, send)
