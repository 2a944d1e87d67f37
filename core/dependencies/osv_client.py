"""The OSV API (https://google.github.io/osv.dev/api/): `POST /v1/querybatch`, then `GET /v1/vulns/{id}`.

Over httpx with the service's CA bundle, a timeout, and bounded retries (tenacity) of 429, 5xx and connection
errors. Anything else, or retries exhausted, raises `OsvUnavailable` with a sentence fit for a scan run's error.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import httpx
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_random_exponential

from core.azure.tokens import trusted_ssl_context
from core.settings import Settings

ATTEMPTS = 4
CONCURRENT_FETCHES = 8


class OsvUnavailable(Exception):
    pass


class Retryable(Exception):
    """A 429 or 5xx answer: worth another try."""


def retryable(error: BaseException) -> bool:
    return isinstance(error, Retryable | httpx.TransportError)


class OsvClient:
    def __init__(self, settings: Settings) -> None:
        self.base = settings.osv_url.rstrip("/")
        self.batch_size = settings.osv_batch_size
        self.http = httpx.AsyncClient(
            verify=trusted_ssl_context(settings.ca_bundle),
            timeout=httpx.Timeout(30.0, connect=10.0),
            headers={"User-Agent": "panoptica-azure"},
        )

    async def __aenter__(self) -> OsvClient:
        return self

    async def __aexit__(self, *exc) -> None:
        await self.http.aclose()

    async def _call(self, method: str, path: str, body: dict | None = None) -> dict:
        try:
            async for attempt in AsyncRetrying(
                stop=stop_after_attempt(ATTEMPTS),
                wait=wait_random_exponential(multiplier=0.2, max=2),
                retry=retry_if_exception(retryable),
                reraise=True,
            ):
                with attempt:
                    response = await self.http.request(method, self.base + path, json=body)
                    if response.status_code == 429 or response.status_code >= 500:
                        raise Retryable(f"HTTP {response.status_code}")
                    if response.status_code == 404 and method == "GET":
                        return {}
                    if response.status_code != 200:
                        raise OsvUnavailable(
                            f"The OSV API at {self.base} answered HTTP {response.status_code} to {path}."
                        )
                    return response.json()
        except (Retryable, httpx.TransportError) as error:
            reason = str(error) or type(error).__name__
            raise OsvUnavailable(
                f"The OSV API at {self.base} could not be reached after {ATTEMPTS} attempts ({reason})."
            ) from None
        except ValueError:
            raise OsvUnavailable(f"The OSV API at {self.base} answered something that is not JSON.") from None
        return {}  # unreachable: tenacity either returns or raises

    async def query(self, packages: Sequence[tuple[str, str, str]]) -> list[list[dict]]:
        """For each (ecosystem, name, version), in order: its advisories as [{"id", "modified"}]."""
        results: list[list[dict]] = []
        for start in range(0, len(packages), self.batch_size):
            results += await self._batch(packages[start : start + self.batch_size])
        return results

    async def _batch(self, packages: Sequence[tuple[str, str, str]]) -> list[list[dict]]:
        queries = [{"package": {"ecosystem": e, "name": n}, "version": v} for e, n, v in packages]
        results: list[list[dict]] = [[] for _ in packages]
        pending = list(range(len(queries)))
        tokens: dict[int, str] = {}
        while pending:
            body = {
                "queries": [
                    {**queries[i], **({"page_token": tokens[i]} if i in tokens else {})} for i in pending
                ]
            }
            answer = (await self._call("POST", "/v1/querybatch", body)).get("results") or []
            if len(answer) != len(pending):
                raise OsvUnavailable(f"The OSV API at {self.base} answered a batch with the wrong length.")
            following = []
            for index, result in zip(pending, answer, strict=True):
                results[index] += [
                    {"id": v["id"], "modified": v.get("modified", "")} for v in result.get("vulns") or []
                ]
                if result.get("next_page_token"):
                    tokens[index] = result["next_page_token"]
                    following.append(index)
            pending = following
        return results

    async def records(self, ids: Sequence[str]) -> list[dict]:
        """The full records (a record OSV no longer has is left out)."""
        limit = asyncio.Semaphore(CONCURRENT_FETCHES)

        async def one(advisory_id: str) -> dict:
            async with limit:
                return await self._call("GET", f"/v1/vulns/{advisory_id}")

        fetched = await asyncio.gather(*(one(i) for i in ids))
        return [record for record in fetched if record.get("id")]
