"""`GET /api/repositories/{id}/sarif`: a repository's open findings as SARIF 2.1.0, with the API token."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from api.graphql.app import bearer_token
from api.http_errors import json_error
from core.accounts.service import authenticate
from core.errors import DomainError
from core.findings.sarif import repository_sarif


async def repository_sarif_endpoint(request: Request) -> JSONResponse:
    services = request.app.state.services
    async with services.sessions() as session:
        principal = await authenticate(session, bearer_token(request))
        if principal is None:
            return JSONResponse(
                {"error": "Missing or invalid API token."},
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer realm="panoptica"'},
            )
        try:
            sarif = await repository_sarif(session, principal.account_id, request.path_params["id"][:64])
        except DomainError as error:  # NotFound: unknown, or another account's repository
            return json_error(error)
    return JSONResponse(sarif, media_type="application/sarif+json")
