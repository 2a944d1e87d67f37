"""Unexpected exceptions are masked: a generic message and a correlation id, the cause only in the log."""

import logging
from dataclasses import dataclass

from api.graphql.context import Context
from api.graphql.schema import schema
from core.accounts.service import Principal

LEAK = "postgresql://panoptica:hunter2@db.internal/panoptica"


class BrokenSessions:
    def __call__(self):
        raise RuntimeError(f"could not connect to {LEAK}")


@dataclass
class BrokenServices:
    sessions: BrokenSessions


async def test_unexpected_error_is_masked_with_a_correlation_id(caplog):
    context = Context(principal=Principal("a", "a@x.test", "t"), services=BrokenServices(BrokenSessions()))
    with caplog.at_level(logging.ERROR, logger="api.graphql.schema"):
        result = await schema.execute("{ connections { id } }", context_value=context)
    error = result.errors[0]
    assert error.message == "Unexpected error."
    correlation_id = error.extensions["correlationId"]
    assert len(correlation_id) == 32
    assert LEAK not in str(result.errors) and "hunter2" not in str(error.formatted)
    assert correlation_id in caplog.text  # operators find the cause by the id the user reports
