"""What the three Azure DevOps hosts share: routing, api-version rules, error bodies (sandbox/adoerrors.py) and
paging.

Azure DevOps matches paths case-insensitively (Microsoft's Python client asks for `_apis/ResourceAreas`,
the docs write `resourceAreas`), which Starlette's router cannot do, so each host declares `AdoRoute`s and
`build_host_app` dispatches them: unknown organization, then authentication, then the api-version check.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox import identity

# The error bodies live in sandbox/adoerrors.py (identity builds its refusals with them too); named here as well
# because every host module takes them from this one.
from sandbox.adoerrors import (  # noqa: F401 - re-exported for the host modules
    organization_not_found,
    project_not_found,
    repository_not_found,
    wrapped_error,
)

Handler = Callable[..., Awaitable[Response]]

# Organization names start with a letter or digit; project names cannot start with "_" (reference §12),
# so neither can be confused with the `_apis` segment.
PARAM_PATTERNS = {"org": r"[A-Za-z0-9][^/]*", "project": r"[^/_][^/]*"}
VERSION = re.compile(r"^(\d+)\.(\d+)(-preview(\.(\d+))?)?$")


@dataclass
class AdoRoute:
    method: str
    template: str  # e.g. "/{org}/{project}/_apis/git/repositories/{repo}"
    handler: Handler  # handler(request, caller, **params); caller is None for anonymous routes
    preview: int | None = None  # resource only served at "-preview.N": plain "7.1" is refused
    anonymous: bool = False
    # Served to people (delegated tokens, sandbox.identity.person_caller): the caller is a Person, or None
    # for an app's token.
    people: bool = False

    def __post_init__(self) -> None:
        pattern = re.sub(
            r"\{(\w+)\}",
            lambda m: f"(?P<{m.group(1)}>{PARAM_PATTERNS.get(m.group(1), '[^/]+')})",
            self.template,
        )
        self.regex = re.compile(f"^{pattern}/?$", re.IGNORECASE)


# --- api-version -----------------------------------------------------------------------------------


def requested_version(request: Request) -> str | None:
    """`api-version` from the query string, else from `Accept: application/json;api-version=7.1`."""
    if "api-version" in request.query_params:
        return request.query_params["api-version"]
    for part in request.headers.get("accept", "").split(";"):
        key, _, value = part.strip().partition("=")
        if key.lower() == "api-version":
            return value.strip()
    return None


def version_error(request: Request, preview: int | None) -> Response | None:
    version = requested_version(request)
    if version is None:
        return None  # GETs without a version are served at the latest version, as the service does
    match = VERSION.match(version)
    if match is None:
        return wrapped_error(
            400, f'The requested version "{version}" is not valid.', "VssInvalidApiVersionException"
        )
    if preview is not None and match.group(3) is None:
        return wrapped_error(
            400,
            f'The requested version "{version}" of the resource is under preview. The -preview flag must be '
            'supplied in the api-version for such requests. For example: "7.1-preview"',
            "VssInvalidPreviewVersionException",
        )
    return None


# --- paging ----------------------------------------------------------------------------------------


def collection(items: list, headers: dict | None = None) -> JSONResponse:
    """Lists are wrapped in `{count, value}` on the wire even though the specs declare bare arrays."""
    return JSONResponse({"count": len(items), "value": items}, headers=headers)


def page(request: Request, items: list, default_top: int = 100) -> JSONResponse:
    """One page by `$top`, `$skip` and `continuationToken`; the next token goes in `x-ms-continuationtoken`.

    The token is the number of items already returned (what `_apis/projects` documents); clients must treat
    it as opaque. Under an `empty_pages` fault the page is empty but still carries a token, as Graph does.
    """
    query = request.query_params
    try:
        token = int(query.get("continuationToken") or 0)
        skip = int(query.get("$skip") or 0)
        top = int(query.get("$top") or default_top)
    except ValueError:
        return wrapped_error(
            400, "The continuation token or paging parameter is not valid.", "ArgumentException"
        )
    start = token or skip
    if getattr(request.state, "empty_page", False):
        return collection([], headers={"x-ms-continuationtoken": str(start)})
    chunk = items[start : start + max(top, 0)]
    end = start + len(chunk)
    headers = {"x-ms-continuationtoken": str(end)} if end < len(items) and top > 0 else None
    return collection(chunk, headers=headers)


# --- the host app ----------------------------------------------------------------------------------


def build_host_app(context, routes: list[AdoRoute]) -> Starlette:
    async def dispatch(request: Request) -> Response:
        path, method = request.url.path, request.method.upper()
        matched_path = False
        for route in routes:
            match = route.regex.match(path)
            if match is None:
                continue
            matched_path = True
            if route.method != method and not (route.method == "GET" and method == "HEAD"):
                continue
            params = match.groupdict()
            if route.anonymous:
                return await route.handler(request, None, **params)
            with context.holder.lock:
                org = context.world.organization(params["org"])
            if org is None:
                return organization_not_found(params["org"])
            authenticate = identity.person_caller if route.people else identity.authenticate
            caller = authenticate(context, request, org)
            if isinstance(caller, Response):
                return caller
            error = version_error(request, route.preview)
            if error is not None:
                return error
            return await route.handler(request, caller, **params)
        if matched_path:
            return wrapped_error(
                405,
                f"The requested resource does not support http method '{method}'.",
                "HttpMethodNotAllowedException",
            )
        return wrapped_error(
            404, f"The resource '{path}' could not be found. ({uuid.uuid4()})", "ResourceNotFoundException"
        )

    methods = ["GET", "HEAD", "OPTIONS", "POST", "PATCH", "PUT", "DELETE"]
    return Starlette(routes=[Route("/{path:path}", dispatch, methods=methods)])
