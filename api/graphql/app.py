"""`/graphql`: bearer-token authentication in front of Strawberry; GraphiQL only in development.

Requests are read by us, not by Strawberry's defaults: the body (already bounded by `api.http_limits`) must be
UTF-8 JSON within `api.json_input`'s limits and have the GraphQL-over-HTTP shape, else the answer is a 4xx with
a message saying what is wrong (Strawberry 0.341 answers 500 to deep JSON, huge numbers, non-UTF-8 and non-object
bodies). Answers follow the GraphQL-over-HTTP spec's content negotiation: a client that accepts
`application/graphql-response+json` gets that media type, and HTTP 400 without a `data` entry when the request
failed before execution (document parse, validation, variable coercion); `application/json` clients (and those
that send no Accept) get 200 with `errors` for those, as before.
"""

from __future__ import annotations

import json
import re

from cross_web import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from strawberry.asgi import GraphQL
from strawberry.exceptions import MissingQueryError
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData, process_result
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types.graphql import OperationType

from api import json_input
from api.graphql.context import Context
from api.graphql.graphiql import graphiql_page
from api.graphql.schema import schema
from core.accounts.service import authenticate

JSON = "application/json"
GRAPHQL_RESPONSE = "application/graphql-response+json"
# GraphQL string escapes that decode to NUL (\u0000, or the braced \u{0}): PostgreSQL refuses NUL in text, so
# a lookup by such a literal failed inside a resolver. Also matched in comments and block strings, where it is
# no NUL: nobody needs those either.
NUL_ESCAPE = re.compile(r"\\u(?:0000|\{0+\})", re.IGNORECASE)


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


class RequestError(Exception):
    """A request the caller must fix, answered before (or instead of) execution."""

    def __init__(self, status: int, message: str, code: str = "BAD_REQUEST", headers: dict | None = None):
        super().__init__(message)
        self.status, self.message, self.code, self.headers = status, message, code, headers or {}


def response_media_type(accept: str) -> str:
    """`application/graphql-response+json` when the client accepts it at least as much as `application/json`
    (equal preference: the one listed first); `application/json` otherwise, also for `*/*` or no Accept."""
    best: tuple[float, int, str] | None = None
    for position, part in enumerate(accept.split(",")[:50]):
        media, *params = (piece.strip() for piece in part.split(";"))
        if media.lower() not in (JSON, GRAPHQL_RESPONSE):
            continue
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality > 0 and (best is None or quality > best[0]):
            best = (quality, position, media.lower())
    return best[2] if best else JSON


def is_request_error(result) -> bool:
    """Parse, validation and variable-coercion errors: nothing ran, so no error has a path."""
    return result.data is None and bool(result.errors) and all(error.path is None for error in result.errors)


def error_document(message: str, code: str) -> dict:
    return {"errors": [{"message": message, "extensions": {"code": code}}]}


def request_data(data: object) -> GraphQLRequestData:
    """The GraphQL-over-HTTP request parameters, each of the type the spec requires."""
    if not isinstance(data, dict):
        raise RequestError(
            400,
            "The request must be a JSON object with a `query` string (batches of operations are not supported).",
        )
    query = data.get("query")
    if query is None:
        raise RequestError(400, "The request has no `query`.")
    if not isinstance(query, str):
        raise RequestError(400, "`query` must be a string.")
    if NUL_ESCAPE.search(query):
        raise RequestError(400, "GraphQL strings may not contain NUL (\\u0000).")
    checks = (
        ("variables", dict, "an object"),
        ("operationName", str, "a string"),
        ("extensions", dict, "an object"),
    )
    for name, kind, described in checks:
        if data.get(name) is not None and not isinstance(data[name], kind):
            raise RequestError(400, f"`{name}` must be {described} or null.")
    return GraphQLRequestData(
        query=query,
        variables=data.get("variables"),
        operation_name=data.get("operationName"),
        extensions=data.get("extensions"),
        protocol="http",
    )


class GraphQLApp(GraphQL[Context, None]):
    async def get_context(self, request, response) -> Context:
        return Context(
            principal=request.scope["panoptica.principal"],
            services=request.app.state.services,
            request=request,
            response=response,
        )

    async def __call__(self, scope, receive, send) -> None:
        request = Request(scope, receive)
        media_type = response_media_type(request.headers.get("accept", ""))
        try:
            response = await self.run(request)
        except RequestError as error:
            response = self.error_response(media_type, error.status, error.message, error.code, error.headers)
        except HTTPException as error:  # Strawberry's own refusals (e.g. 405 for PUT)
            response = self.error_response(media_type, error.status_code, error.reason, "BAD_REQUEST")
        await response(scope, receive, send)

    @staticmethod
    def error_response(media_type: str, status: int, message: str, code: str, headers=None) -> Response:
        return Response(
            json.dumps(error_document(message, code)),
            status_code=status,
            headers=headers,
            media_type=f"{media_type}; charset=utf-8",
        )

    def parse_json(self, data: str | bytes) -> object:
        """Every JSON Strawberry or we read (the body, GET's `variables` and `extensions`)."""
        try:
            return json_input.loads(data, what="The request")
        except json_input.BadJSON as error:
            raise RequestError(400, str(error)) from None

    async def parse_http_body(self, request) -> GraphQLRequestData:
        if request.method == "GET":
            return request_data(self.parse_query_params(request.query_params))
        media, *params = (piece.strip().lower() for piece in (request.content_type or "").split(";"))
        if media != JSON:
            raise RequestError(415, "Send the request as application/json.", "UNSUPPORTED_MEDIA_TYPE")
        charset = next((p.partition("=")[2].strip('"') for p in params if p.startswith("charset=")), "utf-8")
        if charset not in ("utf-8", "utf8"):
            raise RequestError(415, "The request must be encoded in UTF-8.", "UNSUPPORTED_MEDIA_TYPE")
        body = await request.get_body()
        if not body:
            raise RequestError(400, "The request body is empty.")
        return request_data(self.parse_json(body))

    def parse_query_params(self, params) -> dict:
        values: dict = {}
        for name in ("query", "operationName", "variables", "extensions"):
            given = (
                params.getlist(name)  # pyright: ignore[reportAttributeAccessIssue] - Starlette's QueryParams has it
                if hasattr(params, "getlist")
                else [params[name]]
                if name in params
                else []
            )
            if len(given) > 1:
                raise RequestError(400, f"`{name}` is given more than once.")
            if given:
                values[name] = given[0]
        for name in ("variables", "extensions"):
            if values.get(name):
                values[name] = self.parse_json(values[name])
            else:
                values.pop(name, None)
        if "query" in values:
            try:
                json_input.check_text(values["query"], what="`query`")
            except json_input.BadJSON as error:
                raise RequestError(400, str(error)) from None
        return values

    async def execute_single(self, request, request_adapter, sub_response, context, root_value, request_data):
        allowed = OperationType.from_http(request_adapter.method)
        try:
            return await self.schema.execute(
                request_data.query,
                root_value=root_value,
                variable_values=request_data.variables,
                context_value=context,
                operation_name=request_data.operation_name,
                allowed_operation_types=allowed,
                operation_extensions=request_data.extensions,
            )
        except InvalidOperationTypeError:
            # The spec's answer to a mutation sent with GET: 405, and where to send it instead.
            raise RequestError(
                405, "Mutations must be sent with POST.", "METHOD_NOT_ALLOWED", {"Allow": "POST"}
            ) from None
        except CannotGetOperationTypeError as error:
            raise RequestError(400, error.as_http_error_reason()) from None
        except MissingQueryError:
            raise RequestError(400, "The request has no `query`.") from None

    async def get_sub_response(self, request) -> Response:
        sub_response = await super().get_sub_response(request)
        sub_response.media_type = response_media_type(request.headers.get("accept", ""))
        return sub_response

    async def process_result(self, request, result) -> GraphQLHTTPResponse:
        document = process_result(result)
        if response_media_type(request.headers.get("accept", "")) == GRAPHQL_RESPONSE and is_request_error(
            result
        ):
            document.pop("data", None)  # the spec: nothing was executed, so there is no data entry at all
        return document

    def create_response(self, response_data, sub_response) -> Response:
        response = super().create_response(response_data, sub_response)
        if sub_response.media_type == GRAPHQL_RESPONSE:
            response.headers["content-type"] = f"{GRAPHQL_RESPONSE}; charset=utf-8"
            if isinstance(response_data, dict) and "data" not in response_data:
                response.status_code = 400
        return response


class GraphQLEndpoint:
    """An ASGI endpoint: answers 401 before Strawberry runs when the bearer token is missing or bad."""

    def __init__(self, graphiql: bool = False) -> None:
        self.graphiql = graphiql
        # Strawberry's own IDE page loads its scripts from a CDN: ours (api/graphql/graphiql.py) does not.
        self.app = GraphQLApp(schema, graphql_ide=None)

    async def __call__(self, scope, receive, send) -> None:
        request = Request(scope, receive)
        if (
            self.graphiql
            and request.method == "GET"
            and "text/html" in request.headers.get("accept", "")
            and "query" not in request.query_params
        ):
            # The IDE page itself (its queries carry the token), answered before authentication: Strawberry
            # builds a context, which needs a principal, before deciding to render its IDE (that was a 500).
            await graphiql_page()(scope, receive, send)
            return
        async with request.app.state.services.sessions() as session:
            principal = await authenticate(session, bearer_token(request))
        if principal is None:
            media_type = response_media_type(request.headers.get("accept", ""))
            response = GraphQLApp.error_response(
                media_type,
                401,
                "Missing or invalid API token.",
                "UNAUTHENTICATED",
                {"WWW-Authenticate": 'Bearer realm="panoptica"'},
            )
            await response(scope, receive, send)
            return
        scope["panoptica.principal"] = principal
        await self.app(scope, receive, send)


__all__ = ["GraphQLEndpoint", "bearer_token"]
