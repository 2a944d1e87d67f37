"""App-only Entra ID tokens for Azure DevOps, one MSAL app per customer tenant.

MSAL is synchronous and its constructor does network I/O (OIDC discovery), so apps are built lazily and
every MSAL call runs in a worker thread. MSAL already caches tokens (tokens with < 5 min left count as
expired), so there is no token cache of ours; `invalidate` drops one the server refused.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
import ssl
import threading
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import certifi
import httpx
import msal
import msal.exceptions
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from core.azure.errors import (
    AppCredentialsInvalid,
    AzureError,
    TokenError,
    TokenServiceUnavailable,
    entra_error,
    unknown_tenant,
)
from core.settings import Settings

log = logging.getLogger(__name__)

ADO_RESOURCE = "499b84ac-1321-427f-aa17-267ca6975798"  # the Azure DevOps resource *GUID*, not a URI
ADO_SCOPE = f"{ADO_RESOURCE}/.default"
MICROSOFT_AUTHORITY_HOST = "login.microsoftonline.com"
# A tenant id is a GUID or a verified domain; it becomes part of the authority URL, so nothing else passes.
TENANT_ID = re.compile(
    r"^(?:[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}|[A-Za-z0-9][A-Za-z0-9.-]{0,252})$"
)
SPECIAL_TENANTS = {"common", "organizations", "consumers"}
RESERVED_SCOPES = {"openid", "profile", "offline_access"}


@functools.lru_cache(maxsize=8)
def trusted_ssl_context(ca_bundle: Path | None) -> ssl.SSLContext:
    """certifi's CAs, the system's, plus our private CA bundle (the emulator's, a corporate proxy's).

    Cached: loading the CA stores takes ~50 ms, and one context can serve every client."""
    context = ssl.create_default_context(cafile=certifi.where())
    context.load_default_certs()
    if ca_bundle is not None:
        context.load_verify_locations(cafile=str(ca_bundle))
    return context


@dataclass(frozen=True)
class CertificateCredential:
    private_key_pem: str
    public_certificate_pem: str
    thumbprint: str  # SHA-1 of the DER certificate, hex: what Entra ID calls the certificate thumbprint

    def __repr__(self) -> str:
        return f"CertificateCredential(thumbprint={self.thumbprint!r})"

    def for_msal(self) -> dict:
        return {
            "private_key": self.private_key_pem,
            "thumbprint": self.thumbprint,
            "public_certificate": self.public_certificate_pem,
        }


def load_certificate(path: Path) -> CertificateCredential:
    """A PEM file holding the private key and the certificate."""
    pem = path.read_text(encoding="utf-8")
    certificate_pem = _pem_block(pem, "CERTIFICATE")
    key_pem = _pem_block(pem, "PRIVATE KEY")
    if not certificate_pem or not key_pem:
        raise ValueError(f"{path} must contain a PEM private key and a PEM certificate")
    certificate = x509.load_pem_x509_certificate(certificate_pem.encode())
    thumbprint = certificate.fingerprint(hashes.SHA1()).hex().upper()  # noqa: S303 - the defined thumbprint
    return CertificateCredential(key_pem, certificate_pem, thumbprint)


def _pem_block(pem: str, kind: str) -> str:
    """The first PEM block whose label ends with `kind` (matches PRIVATE KEY, RSA PRIVATE KEY, ...)."""
    match = re.search(rf"-----BEGIN ([A-Z ]*{kind})-----.*?-----END \1-----", pem, re.DOTALL)
    return match.group(0) + "\n" if match else ""


class MsalHttpClient(httpx.Client):
    """The HTTP client MSAL uses. MSAL hands a certificate's client assertion over as bytes, which httpx
    would send as the text "b'...'"; requests (MSAL's default) sends the bytes. Decode them first."""

    def post(self, url, params=None, data=None, headers=None, **kwargs):
        if isinstance(data, dict):
            data = {k: v.decode() if isinstance(v, bytes) else v for k, v in data.items()}
        return super().post(url, params=params, data=data, headers=headers, **kwargs)


REFRESH_MARGIN_SECONDS = 300


class TokenProvider:
    """Gets app-only tokens for Azure DevOps in customer tenants. Thread- and task-safe."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._credential = _client_credential(settings)
        self._http = MsalHttpClient(
            verify=trusted_ssl_context(settings.ca_bundle),
            timeout=settings.azure_timeout_seconds,
            follow_redirects=False,
        )
        # One token cache for all tenants: MSAL keys entries by tenant (realm).
        self._cache = msal.TokenCache()
        self._apps: dict[str, msal.ConfidentialClientApplication] = {}
        self._lock = threading.Lock()
        self._tenant_locks: dict[str, threading.Lock] = {}
        # tenant -> (token, refresh at): every Azure DevOps request asks for a token, and going through a
        # thread and MSAL's cache search each time cost milliseconds per request (measured on 500 probes).
        self._memo: dict[str, tuple[str, float]] = {}

    def __repr__(self) -> str:
        return f"TokenProvider(client_id={self._settings.entra_client_id!r}, tenants={len(self._apps)})"

    async def get_token(self, tenant_id: str, *, fresh: bool = False) -> str:
        """An access token for Azure DevOps in `tenant_id`.

        fresh=True is for deliberate retries (e.g. re-checking right after consent): MSAL caches an HTTP 400
        token error for 60 s per app instance, so the attempt goes through a new instance.
        """
        tenant = _checked_tenant(tenant_id)
        memo = self._memo.get(tenant)
        if memo is not None and not fresh and time.monotonic() < memo[1]:
            return memo[0]
        token, expires_in = await asyncio.to_thread(self._acquire, tenant, fresh)
        # Refresh 5 minutes before expiry, as MSAL itself does.
        self._memo[tenant] = (token, time.monotonic() + max(0.0, expires_in - REFRESH_MARGIN_SECONDS))
        return token

    def invalidate(self, tenant_id: str, token: str) -> None:
        """Forget a token Azure DevOps refused, so the next get_token asks Entra ID for a new one."""
        memo = self._memo.get(tenant_id)
        if memo is not None and memo[0] == token:
            del self._memo[tenant_id]
        kind = msal.TokenCache.CredentialType.ACCESS_TOKEN
        for entry in list(self._cache.search(kind, query={"secret": token})):
            self._cache.remove_at(entry)

    def close(self) -> None:
        self._http.close()

    # --- a person's sign-in (OIDC authorization code flow with PKCE) ------------------------------------
    async def begin_sign_in(self, tenant_id: str, redirect_uri: str, scopes: list[str]) -> dict:
        """MSAL's auth-code flow (auth_uri, state, nonce, PKCE verifier), at the tenant's own authority (or
        the multi-tenant `organizations` one, for the console's sign-in)."""
        tenant = _sign_in_authority(tenant_id)
        app = await asyncio.to_thread(self._sign_in_app, tenant)
        with warnings.catch_warnings():
            # MSAL recommends response_mode=form_post; we use the query mode: the code is single use and
            # bound to our PKCE verifier, and the state is single use and kept server-side.
            warnings.filterwarnings("ignore", message="response_mode='form_post'", category=UserWarning)
            return app.initiate_auth_code_flow(scopes, redirect_uri=redirect_uri, prompt="select_account")

    async def finish_sign_in(self, tenant_id: str, flow: dict, response: dict[str, str]) -> dict:
        """Redeem the code. MSAL checks state and nonce; the id token's signature is ours to check.

        A throwaway token cache: the person's refresh token (and tokens) are never kept."""
        tenant = _sign_in_authority(tenant_id)

        def redeem() -> dict:
            app = self._sign_in_app(tenant)
            try:
                # The flow's scope list carries openid/profile/offline_access, which MSAL refuses here.
                scopes = [s for s in flow.get("scope", []) if s not in RESERVED_SCOPES]
                return app.acquire_token_by_auth_code_flow(flow, response, scopes=scopes)
            except (ValueError, RuntimeError) as error:  # state or nonce mismatch
                return {"error": "invalid_response", "error_description": str(error)[:200]}
            except (httpx.TransportError, msal.exceptions.MsalServiceError):
                raise TokenServiceUnavailable(tenant_id=tenant) from None

        return await asyncio.to_thread(redeem)

    async def openid_keys(self, tenant_id: str) -> tuple[str, dict]:
        """The tenant's issuer and signing keys (from its OIDC configuration's jwks_uri)."""
        tenant = _checked_tenant(tenant_id)

        def fetch() -> tuple[str, dict]:
            base = f"{self._settings.entra_authority_host}/{tenant}/v2.0/.well-known/openid-configuration"
            try:
                configuration = self._http.get(base).raise_for_status().json()
                keys = self._http.get(configuration["jwks_uri"]).raise_for_status().json()
            except (httpx.HTTPError, ValueError, KeyError) as error:
                raise TokenServiceUnavailable(tenant_id=tenant, detail=type(error).__name__) from None
            return str(configuration.get("issuer", "")), keys

        return await asyncio.to_thread(fetch)

    def _sign_in_app(self, tenant_id: str) -> msal.ConfidentialClientApplication:
        # A cache of its own, thrown away with the app: the person's tokens are never kept.
        return self._build_app(tenant_id, msal.TokenCache())

    # --- inside the worker thread ---------------------------------------------------------------------
    def _acquire(self, tenant_id: str, fresh: bool) -> tuple[str, float]:
        app = self._app(tenant_id, fresh)
        try:
            result = app.acquire_token_for_client(scopes=[ADO_SCOPE])
        except (httpx.TransportError, msal.exceptions.MsalServiceError, ValueError, KeyError) as error:
            # Connection failures, a 5xx (MsalServiceError), or a non-JSON answer from the token endpoint.
            raise TokenServiceUnavailable(tenant_id=tenant_id, detail=type(error).__name__) from None
        if result and "access_token" in result:
            return result["access_token"], float(result.get("expires_in") or 0)
        error = entra_error(result or {}, tenant_id)
        log.warning("token request refused: tenant=%s %s (%s)", tenant_id, error.code, error.detail)
        raise error

    def _app(self, tenant_id: str, fresh: bool) -> msal.ConfidentialClientApplication:
        with self._lock:
            tenant_lock = self._tenant_locks.setdefault(tenant_id, threading.Lock())
        # Built under the tenant's lock: concurrent first calls make one discovery request, not many.
        with tenant_lock:
            app = None if fresh else self._apps.get(tenant_id)
            if app is None:
                app = self._build_app(tenant_id)
                self._apps[tenant_id] = app
            return app

    def _build_app(
        self, tenant_id: str, token_cache: msal.TokenCache | None = None
    ) -> msal.ConfidentialClientApplication:
        host = self._settings.entra_authority_host
        try:
            return msal.ConfidentialClientApplication(
                client_id=self._settings.entra_client_id,
                client_credential=self._credential,
                authority=f"{host}/{tenant_id}",
                token_cache=self._cache if token_cache is None else token_cache,
                http_client=self._http,
                # Instance discovery only knows Microsoft's hosts; anywhere else (the emulator) skip it.
                instance_discovery=urlsplit(host).hostname == MICROSOFT_AUTHORITY_HOST,
                http_cache={},  # per instance, so a new instance never answers from an old 400
            )
        except httpx.TransportError as error:
            raise TokenServiceUnavailable(tenant_id=tenant_id, detail=type(error).__name__) from None
        except ValueError as error:
            # MSAL raises ValueError when OIDC discovery gets a 4xx: an unknown tenant (AADSTS90002).
            if "authority configuration" in str(error):
                raise unknown_tenant(tenant_id, detail="OIDC discovery failed (AADSTS90002)") from None
            raise AppCredentialsInvalid(tenant_id=tenant_id, detail=type(error).__name__) from None


def _client_credential(settings: Settings) -> str | dict:
    if settings.entra_certificate_path is not None:
        return load_certificate(settings.entra_certificate_path).for_msal()
    if settings.entra_client_secret is not None:
        return settings.entra_client_secret.get_secret_value()
    # No credential: every token request fails with an operator error (AADSTS7000218), not at import time.
    return ""


def _sign_in_authority(tenant_id: str) -> str:
    """A person may sign in at any work or school tenant; the id token then names theirs (checked by the caller)."""
    return "organizations" if tenant_id == "organizations" else _checked_tenant(tenant_id)


def _checked_tenant(tenant_id: str) -> str:
    tenant = (tenant_id or "").strip()
    if not TENANT_ID.fullmatch(tenant) or tenant.lower() in SPECIAL_TENANTS:
        raise unknown_tenant(tenant[:60] or "(empty)")
    return tenant


__all__ = [
    "ADO_SCOPE",
    "AzureError",
    "CertificateCredential",
    "TokenError",
    "TokenProvider",
    "load_certificate",
    "trusted_ssl_context",
]
