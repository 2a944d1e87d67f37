"""GraphQL's one mapping of the domain's refusals (core/errors.py): errors are data, in the field's union.

A resolver decorated with `typed_errors` raises (or lets core raise) a DomainError and answers it as the typed
error a client selects with `... on NotFoundError { code message }`. A field without an error union (a list,
a connection) uses `bad_arguments`: its InvalidInput is a GraphQL error with the message as is (BadArgument).
A refusal with no typed error here is re-raised: masked as unexpected, with a correlation id in the log.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

from api.graphql import types as t
from api.graphql.errors import BadArgument
from api.graphql.limits import rate_limited
from core.connections.service import ConnectError
from core.errors import DomainError, InvalidInput, NotFound, PermissionDenied, RateLimited

P = ParamSpec("P")
R = TypeVar("R")


def user_error(error: DomainError) -> t.UserError:
    """The typed GraphQL error for a refusal: the same code and message the caller always saw."""
    if isinstance(error, RateLimited):
        return rate_limited(error)
    if isinstance(error, ConnectError):
        return t.AzureConnectionError(code=error.code, message=error.message)
    if isinstance(error, NotFound):
        return t.NotFoundError(code=error.code, message=error.message)
    if isinstance(error, InvalidInput):
        return t.InvalidInputError(code=error.code, message=error.message)
    if isinstance(error, PermissionDenied):
        return t.ForbiddenError(code=error.code, message=error.message)
    raise error


def typed_errors(resolver: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R | t.UserError]]:
    """Answer a DomainError raised by the resolver as its typed error (`user_error`)."""

    @functools.wraps(resolver)  # Strawberry reads the arguments and return type through __wrapped__
    async def resolve(*args: P.args, **kwargs: P.kwargs) -> R | t.UserError:
        try:
            return await resolver(*args, **kwargs)
        except DomainError as error:
            return user_error(error)

    return resolve


def bad_arguments(resolver: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """Raise the resolver's InvalidInput as a BadArgument: shown with its message, never masked."""

    @functools.wraps(resolver)
    async def resolve(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await resolver(*args, **kwargs)
        except InvalidInput as error:
            raise BadArgument(error.message) from None

    return resolve
