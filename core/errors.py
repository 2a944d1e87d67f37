"""The domain's refusals: one vocabulary that every surface (GraphQL, HTTP pages, Slack, the CLI) maps once.

Each error's message is safe to show to the caller as is: it never holds a secret or another account's data.
`NotFound` also covers "it is another account's": a foreign row looks exactly like a missing one
(core/ownership.py). The surfaces' mappings: api/graphql/answers.py (typed GraphQL errors), api/http_errors.py
(HTTP status), bot/blocks.py `refusal` (a Slack reply).
"""

from __future__ import annotations

from datetime import datetime


class DomainError(Exception):
    """A refusal the caller can act on; `code` is the stable machine-readable name, `message` is for people."""

    code = "ERROR"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(DomainError, LookupError):
    """No such object in the caller's account (missing, or another account's: the two look the same).

    A LookupError too, so callers that caught LookupError before this vocabulary existed still do."""

    code = "NOT_FOUND"

    def __init__(self, what: str, message: str | None = None) -> None:
        super().__init__(message or f"No such {what}.")
        self.what = what


class InvalidInput(DomainError, ValueError):
    """A caller's argument is not acceptable; the message says which and why. A ValueError for older callers."""

    code = "INVALID_INPUT"


class Conflict(DomainError):
    """The request is valid but the object's state refuses it (already bound, already done, ...)."""

    code = "CONFLICT"


class PermissionDenied(DomainError):
    """The caller is known but may not do this."""

    code = "FORBIDDEN"


class RateLimited(DomainError):
    """The caller spent a budget; nothing was changed. Retry after `retry_after_seconds` (at `retry_at`)."""

    code = "RATE_LIMITED"

    def __init__(self, message: str, retry_after_seconds: int, retry_at: datetime) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds
        self.retry_at = retry_at


class Unavailable(DomainError):
    """A service we depend on does not answer now; trying again later may work."""

    code = "UNAVAILABLE"


__all__ = [
    "Conflict",
    "DomainError",
    "InvalidInput",
    "NotFound",
    "PermissionDenied",
    "RateLimited",
    "Unavailable",
]
