"""Calling the emulator as a plain HTTPS client: its CA, a real client-credentials token from its Entra host, a GET
on any host. Shared by the tests of tests/sandbox."""

from __future__ import annotations

import ssl

import httpx

from tests.worlds import CLIENT_ID, CLIENT_SECRET, CONTOSO_TENANT

ADO_SCOPE = "499b84ac-1321-427f-aa17-267ca6975798/.default"
SUPPRESS = {"X-TFS-FedAuthRedirect": "Suppress", "Accept": "application/json"}


def http(sandbox) -> httpx.Client:
    return httpx.Client(verify=ssl.create_default_context(cafile=str(sandbox.ca_path)), timeout=10)


def token(sandbox, tenant: str = CONTOSO_TENANT) -> str:
    """A real client-credentials token from the Entra emulator."""
    with http(sandbox) as client:
        response = client.post(
            f"{sandbox.authority_host}/{tenant}/oauth2/v2.0/token",
            data={
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "scope": ADO_SCOPE,
                "grant_type": "client_credentials",
            },
        )
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def get(sandbox, host: str, url_path: str, headers: dict | None = None, /, **params) -> httpx.Response:
    with http(sandbox) as client:
        return client.get(sandbox.urls[host] + url_path, headers=headers or {}, params=params)
