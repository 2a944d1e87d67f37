"""Fixtures for the Azure client tests: a token provider and a client session against the emulator."""

from __future__ import annotations

import pytest

from core.azure.client import AzureDevOps
from core.azure.tokens import TokenProvider
from core.azure.transport import RetryPolicy
from tests.worlds import CONTOSO_TENANT

# Tiny backoff so retry tests take milliseconds; the budget still bounds them.
FAST_RETRY = RetryPolicy(budget_seconds=5, base_delay=0.01, max_delay=0.05)


@pytest.fixture
def tokens(settings):
    provider = TokenProvider(settings)
    yield provider
    provider.close()


@pytest.fixture
async def ado(settings, tokens):
    async with AzureDevOps(settings, tokens, retry=FAST_RETRY) as session:
        yield session


@pytest.fixture
def contoso(ado):
    return ado.organization("contoso", CONTOSO_TENANT)
