"""HTTP to Azure DevOps: headers, response classification, rate-limit pacing, retries, counting.

Every Azure DevOps request goes through `Transport.call`. It
- sends the headers Microsoft's own client sends, with the bearer token when there is one;
- treats 203, any 3xx and non-JSON successes as "token rejected", never as an empty success;
- honours `Retry-After` / `X-RateLimit-Delay`, also on a 200: that answer is good, but the organization's
  next requests wait;
- retries 429, 5xx and transport errors with exponential backoff and jitter inside a total time budget,
  and nothing else;
- bounds concurrency per organization, and counts requests (per transport and per organization);
- asks for a new token once when Azure DevOps refuses one MSAL still considers valid.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any, Protocol, TypeVar

import httpx
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, wait_random_exponential

from core.azure.errors import (
    AuthenticationFailed,
    AzureError,
    ConnectionFailed,
    NotOrganizationMember,
    RetryBudgetExhausted,
    Unauthorized,
    UnexpectedResponse,
    devops_error,
    token_rejected,
)
from core.azure.tokens import trusted_ssl_context
from core.observability.metrics import AZURE_REQUESTS, AZURE_THROTTLED, status_class
from core.settings import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")
Consume = Callable[[httpx.Response], Awaitable[T]]

BASE_HEADERS = {
    "Accept": "application/json",
    # Ask for a 401 instead of a sign-in redirect or a 203 sign-in page.
    "X-TFS-FedAuthRedirect": "Suppress",
    "X-VSS-ForceMsaPassThrough": "true",
}


@dataclass(frozen=True)
class RetryPolicy:
    """How long and how often to retry transient failures. Tests use tiny delays."""

    budget_seconds: float = 120.0  # total time for one call, retries and waits included
    base_delay: float = 0.5  # first backoff step; doubles each attempt, full jitter
    max_delay: float = 30.0
    max_attempts: int = 10
    max_pacing_delay: float = 60.0  # cap on a Retry-After received with a successful answer

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> RetryPolicy:
        return cls(budget_seconds=settings.azure_retry_budget_seconds, **overrides)


class Credentials(Protocol):
    async def token(self) -> str: ...

    def invalidate(self, token: str) -> None: ...


@dataclass
class OrganizationState:
    """What all requests to one organization share: concurrency, pacing, resolved hosts, a counter."""

    semaphore: asyncio.Semaphore
    not_before: float = 0.0  # monotonic time before which no request may start (rate-limit delay)
    requests: int = 0
    area_urls: dict[str, str] = field(default_factory=dict)
    area_lock: asyncio.Lock = field(default_factory=asyncio.Lock)


@dataclass(frozen=True)
class Request:
    organization: str
    method: str
    url: str
    params: dict[str, Any]
    accept: str = "application/json"
    # Statuses handed to the consumer instead of raised (the anonymous tenant probe expects a 401).
    passthrough: frozenset[int] = frozenset()
    body: Any = None  # sent as JSON (POST of a read-only evaluation, e.g. permissionevaluationbatch)


class Transport:
    def __init__(self, settings: Settings, retry: RetryPolicy | None = None) -> None:
        self.retry = retry or RetryPolicy.from_settings(settings)
        self._max_concurrency = settings.azure_max_concurrency
        self._http = httpx.AsyncClient(
            verify=trusted_ssl_context(settings.ca_bundle),
            timeout=settings.azure_timeout_seconds,
            follow_redirects=False,  # a redirect means a sign-in page: never follow it with our token
            headers=BASE_HEADERS,
        )
        self._organizations: dict[str, OrganizationState] = {}
        self.requests = 0

    async def aclose(self) -> None:
        await self._http.aclose()

    def state(self, organization: str) -> OrganizationState:
        key = organization.lower()
        if key not in self._organizations:
            self._organizations[key] = OrganizationState(asyncio.Semaphore(self._max_concurrency))
        return self._organizations[key]

    async def call(self, request: Request, credentials: Credentials | None, consume: Consume[T]) -> T:
        """One logical call, retried on transient failures; raises a typed AzureError otherwise."""
        retrying = AsyncRetrying(
            retry=retry_if_exception(lambda error: isinstance(error, AzureError) and error.retryable),
            stop=self._stop,
            wait=self._wait,
            before_sleep=lambda state: _log_retry(request, state),
            retry_error_callback=_give_up,
        )
        return await retrying(self._attempt, request, credentials, consume)

    # --- one attempt ----------------------------------------------------------------------------------
    async def _attempt(self, request: Request, credentials: Credentials | None, consume: Consume[T]) -> T:
        state = self.state(request.organization)
        await _pace(state)
        async with state.semaphore:
            if credentials is None:
                return await self._exchange(state, request, None, consume)
            token = await credentials.token()
            try:
                return await self._exchange(state, request, token, consume)
            except (Unauthorized, AuthenticationFailed) as error:
                if isinstance(error, NotOrganizationMember):
                    raise
                # The token may have expired (or been revoked) before MSAL thinks so: one new token, once.
                log.info("azure devops refused the token (%s); getting a new one", error.code)
                credentials.invalidate(token)
                return await self._exchange(state, request, await credentials.token(), consume)

    async def _exchange(
        self, state: OrganizationState, request: Request, token: str | None, consume: Consume[T]
    ):
        headers = {"Accept": request.accept}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        built = self._http.build_request(
            request.method, request.url, params=request.params, headers=headers, json=request.body
        )
        self.requests += 1
        state.requests += 1
        try:
            response = await self._http.send(built, stream=True)
        except httpx.TransportError as error:
            AZURE_REQUESTS.labels("error").inc()
            raise ConnectionFailed(
                detail=f"{type(error).__name__} on {request.method} {_path(request)}"
            ) from None
        # No organization label: metrics name no customer.
        AZURE_REQUESTS.labels(status_class(response.status_code)).inc()
        headers = response.headers
        if response.status_code == 429 or "retry-after" in headers or "x-ratelimit-delay" in headers:
            AZURE_THROTTLED.inc()
        try:
            retry_after = self._note_rate_limit(state, response)
            failed = response.status_code == 203 or not response.is_success
            if failed and response.status_code not in request.passthrough:
                await response.aread()
                raise devops_error(response, retry_after)
            return await consume(response)
        except httpx.TransportError as error:  # the connection dropped while reading the body
            raise ConnectionFailed(detail=f"{type(error).__name__} reading {_path(request)}") from None
        finally:
            await response.aclose()

    def _note_rate_limit(self, state: OrganizationState, response: httpx.Response) -> float | None:
        """Delay the organization's next requests by the server's Retry-After / X-RateLimit-Delay."""
        retry_after = parse_seconds(response.headers.get("retry-after"))
        delay = (
            retry_after
            if retry_after is not None
            else parse_seconds(response.headers.get("x-ratelimit-delay"))
        )
        if delay:
            if response.is_success:
                delay = min(delay, self.retry.max_pacing_delay)
            state.not_before = max(state.not_before, time.monotonic() + delay)
        return retry_after

    # --- retry policy (tenacity hooks) -----------------------------------------------------------------
    def _stop(self, state: RetryCallState) -> bool:
        hint = getattr(_attempt_error(state), "retry_after", None) or 0.0
        out_of_time = _elapsed(state) + hint >= self.retry.budget_seconds
        return out_of_time or state.attempt_number >= self.retry.max_attempts

    def _wait(self, state: RetryCallState) -> float:
        hint = getattr(_attempt_error(state), "retry_after", None)
        backoff = wait_random_exponential(multiplier=self.retry.base_delay, max=self.retry.max_delay)
        delay = hint if hint is not None else backoff(state)
        remaining = self.retry.budget_seconds - _elapsed(state)
        return max(0.0, min(delay, remaining))


async def _pace(state: OrganizationState) -> None:
    delay = state.not_before - time.monotonic()
    if delay > 0:
        await asyncio.sleep(delay)


def _attempt_error(state: RetryCallState) -> BaseException | None:
    assert state.outcome is not None  # tenacity calls its hooks once an attempt has ended
    return state.outcome.exception()


def _elapsed(state: RetryCallState) -> float:
    return state.seconds_since_start or 0.0  # set once an attempt has ended, as it has for every hook


def _give_up(state: RetryCallState):
    error = _attempt_error(state)
    assert isinstance(error, AzureError)  # only AzureErrors are retried (retry_if_exception above)
    raise RetryBudgetExhausted(error, state.attempt_number, _elapsed(state)) from error


def _log_retry(request: Request, state: RetryCallState) -> None:
    error = _attempt_error(state)
    log.info(
        "azure devops retry: org=%s %s %s attempt=%d wait=%.2fs reason=%s",
        request.organization,
        request.method,
        _path(request),
        state.attempt_number,
        state.next_action.sleep if state.next_action else 0.0,
        getattr(error, "detail", "") or type(error).__name__,
    )


def _path(request: Request) -> str:
    return httpx.URL(request.url).path  # no query string: nothing secret is in it, but keep logs short


def parse_seconds(value: str | None) -> float | None:
    """Retry-After is seconds (ADO sends decimals) or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


# --- consumers -----------------------------------------------------------------------------------------


async def read_json(response: httpx.Response) -> Any:
    """The JSON body of a success. Anything else (a sign-in page with a 200) means the token was rejected."""
    content = await response.aread()
    if response.status_code == 204:
        return None
    content_type = response.headers.get("content-type", "")
    if "json" not in content_type.lower():
        raise token_rejected(response.status_code, f"expected JSON, got {content_type or 'no content type'}")
    try:
        return json.loads(content.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError):
        if content.lstrip()[:1] == b"<":
            raise token_rejected(response.status_code, "HTML instead of JSON") from None
        raise UnexpectedResponse(detail=f"HTTP {response.status_code}: body is not valid JSON") from None


async def read_json_and_headers(response: httpx.Response) -> tuple[Any, httpx.Headers]:
    return await read_json(response), response.headers
