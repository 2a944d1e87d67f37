"""HTTP's one mapping of the domain's refusals (core/errors.py): the status a page or endpoint answers with."""

from __future__ import annotations

from starlette.responses import JSONResponse

from core.connections.service import ConnectError
from core.errors import (
    Conflict,
    DomainError,
    InvalidInput,
    NotFound,
    PermissionDenied,
    RateLimited,
    Unavailable,
)

# Most specific first: the first class the error is an instance of gives the status.
STATUS: tuple[tuple[type[DomainError], int], ...] = (
    (NotFound, 404),  # also another account's object: the same answer as a missing one
    (InvalidInput, 400),
    (PermissionDenied, 403),
    # A connection refused for a reason its message names (consent or proof missing, Azure's refusal): the
    # person may not go on from this page until it is fixed.
    (ConnectError, 403),
    (Conflict, 409),
    (RateLimited, 429),
    (Unavailable, 503),
)


def http_status(error: DomainError) -> int:
    return next((status for kind, status in STATUS if isinstance(error, kind)), 400)


def json_error(error: DomainError) -> JSONResponse:
    """`{"error": message}` with the error's status (and Retry-After when it is a rate limit)."""
    headers = {"Retry-After": str(error.retry_after_seconds)} if isinstance(error, RateLimited) else None
    return JSONResponse({"error": error.message}, status_code=http_status(error), headers=headers)
