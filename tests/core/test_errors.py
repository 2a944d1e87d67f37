"""The domain's refusals (core/errors.py) and their one mapping per surface: GraphQL, HTTP, Slack."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from api.graphql import types as t
from api.graphql.answers import bad_arguments, typed_errors, user_error
from api.graphql.errors import BadArgument
from api.graphql.limits import RateLimitedError
from api.http_errors import http_status, json_error
from bot.blocks import refusal
from core import errors, pagination
from core.connections.service import ConnectError
from core.ondemand import budget
from core.retention.accounts import ConfirmationMismatch
from core.slack.service import SlackError

RETRY_AT = datetime(2026, 12, 1, 15, 0, 0, tzinfo=UTC)


def test_older_catches_still_catch_the_new_errors():
    assert isinstance(errors.NotFound("finding"), LookupError)
    assert isinstance(errors.InvalidInput("bad"), ValueError)
    assert pagination.InvalidInput is errors.InvalidInput
    assert isinstance(budget.RateLimited(30, RETRY_AT), errors.RateLimited)
    assert isinstance(ConfirmationMismatch("no"), errors.InvalidInput)
    assert isinstance(ConnectError("CONSENT_REQUIRED", "Consent first."), errors.DomainError)


def test_not_found_says_what_in_one_sentence():
    assert errors.NotFound("connection").message == "No such connection."
    assert str(errors.NotFound("repository", "One or more repositories do not exist.")) == (
        "One or more repositories do not exist."
    )


@pytest.mark.parametrize(
    ("error", "kind", "code", "message"),
    [
        (errors.NotFound("finding"), t.NotFoundError, "NOT_FOUND", "No such finding."),
        (errors.InvalidInput("first must be between 1 and 100"), t.InvalidInputError, "INVALID_INPUT", None),
        (ConfirmationMismatch("type 'Acme' exactly"), t.InvalidInputError, "CONFIRMATION_MISMATCH", None),
        (errors.PermissionDenied("Only the owner."), t.ForbiddenError, "FORBIDDEN", None),
        (ConnectError("PROOF_REQUIRED", "Sign in first."), t.AzureConnectionError, "PROOF_REQUIRED", None),
    ],
)
def test_graphql_answers_each_refusal_as_its_typed_error(error, kind, code, message):
    answer = user_error(error)
    assert type(answer) is kind
    assert (answer.code, answer.message) == (code, message or error.message)


def test_graphql_rate_limit_carries_when_to_retry():
    answer = user_error(budget.RateLimited(90, RETRY_AT))
    assert isinstance(answer, RateLimitedError)
    assert answer.code == "RATE_LIMITED"
    assert (answer.retry_after_seconds, answer.retry_at) == (90, RETRY_AT)
    assert (
        answer.message == "Too many on-demand requests for this account: try again in 90 s (at 15:00:00 UTC)."
    )


def test_graphql_refusal_without_a_typed_error_is_left_to_the_mask():
    with pytest.raises(errors.Unavailable):
        user_error(errors.Unavailable("Azure DevOps does not answer."))


async def test_typed_errors_answers_and_keeps_the_resolver_signature():
    async def resolver(self, id: str) -> str:
        raise errors.NotFound("connection")

    wrapped = typed_errors(resolver)
    answer = await wrapped(None, id="x")
    assert (type(answer), answer.message) == (t.NotFoundError, "No such connection.")
    assert wrapped.__wrapped__ is resolver  # Strawberry reads the arguments and type through it


async def test_bad_arguments_raises_a_readable_graphql_error():
    async def resolver(self) -> list[str]:
        raise errors.InvalidInput("after is not a cursor returned by this API")

    with pytest.raises(BadArgument, match="after is not a cursor returned by this API"):
        await bad_arguments(resolver)(None)


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (errors.NotFound("repository"), 404),
        (errors.InvalidInput("bad"), 400),
        (ConfirmationMismatch("no"), 400),
        (errors.PermissionDenied("no"), 403),
        (ConnectError("CONSENT_REQUIRED", "Consent first."), 403),
        (errors.Conflict("already bound"), 409),
        (budget.RateLimited(30, RETRY_AT), 429),
        (errors.Unavailable("later"), 503),
    ],
)
def test_http_status_of_each_refusal(error, status):
    assert http_status(error) == status


def test_http_json_error_body_and_retry_after():
    response = json_error(errors.NotFound("repository"))
    assert (response.status_code, json.loads(response.body)) == (404, {"error": "No such repository."})
    limited = json_error(budget.RateLimited(30, RETRY_AT))
    assert (limited.status_code, limited.headers["retry-after"]) == (429, "30")


@pytest.mark.parametrize(
    ("error", "text"),
    [
        (SlackError("That link code is invalid."), ":x: That link code is invalid."),
        (ConnectError("ALREADY_CONNECTED", "contoso is connected."), ":x: contoso is connected."),
        (errors.InvalidInput("This repository cannot be scanned: it is empty."), ":x: This repository"),
        (budget.RateLimited(30, RETRY_AT), ":hourglass: Too many on-demand requests"),
    ],
)
def test_slack_reply_of_each_refusal(error, text):
    reply = refusal(error)
    assert reply["text"].startswith(text)
    assert reply["blocks"][0]["text"]["text"] == reply["text"]
