"""TokenProvider against the emulated Entra ID over HTTPS: caching, AADSTS mapping, MSAL's 400 cache."""

from __future__ import annotations

import datetime
import time

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from pydantic import SecretStr

from core.azure.errors import (
    AppCredentialsInvalid,
    AppDisabled,
    ConditionalAccessBlocked,
    ConsentMissing,
    TokenServiceUnavailable,
    UnknownTenant,
)
from core.azure.tokens import TokenProvider, load_certificate
from tests.worlds import CLIENT_ID, CLIENT_SECRET, CONTOSO_TENANT, FABRIKAM_TENANT, Fault


def token_requests(sandbox) -> int:
    return sandbox.context.count("login", "/oauth2/v2.0/token")


def contoso(world):
    return world.tenant(CONTOSO_TENANT)


async def test_token_is_cached_by_msal(sandbox, tokens):
    first = await tokens.get_token(CONTOSO_TENANT)
    second = await tokens.get_token(CONTOSO_TENANT)
    assert first == second
    assert first.count(".") == 2  # a JWT
    assert token_requests(sandbox) == 1
    # The app instance (and its OIDC discovery) is built once per tenant.
    assert sandbox.context.count("login", "openid-configuration") == 1


async def test_tenant_can_be_a_domain(tokens):
    assert await tokens.get_token("contoso.onmicrosoft.com")


async def test_invalidate_forgets_a_refused_token(sandbox, tokens):
    first = await tokens.get_token(CONTOSO_TENANT)
    tokens.invalidate(CONTOSO_TENANT, first)
    await tokens.get_token(CONTOSO_TENANT)
    assert token_requests(sandbox) == 2


async def test_bad_secret_is_an_operator_error(settings, sandbox):
    provider = TokenProvider(settings.model_copy(update={"entra_client_secret": SecretStr("not-the-secret")}))
    try:
        with pytest.raises(AppCredentialsInvalid) as caught:
            await provider.get_token(CONTOSO_TENANT)
    finally:
        provider.close()
    error = caught.value
    assert error.audience == "operator"
    assert "AADSTS7000215" in error.detail
    assert "not a problem on your side" in error.message
    assert "not-the-secret" not in f"{error} {error!r} {error.detail} {error.remediation}"


async def test_expired_secret_is_an_operator_error(world, tokens):
    world.apps[0].secret_expired = True
    with pytest.raises(AppCredentialsInvalid) as caught:
        await tokens.get_token(CONTOSO_TENANT)
    assert caught.value.audience == "operator"
    assert "expired" in caught.value.remediation
    assert CLIENT_SECRET not in repr(caught.value) + str(caught.value.to_dict())


async def test_missing_service_principal_means_consent_missing_in_that_tenant(world, tokens):
    contoso(world).service_principals.clear()
    with pytest.raises(ConsentMissing) as caught:
        await tokens.get_token(CONTOSO_TENANT)
    error = caught.value
    assert error.audience == "customer"
    assert CONTOSO_TENANT in error.message
    assert error.tenant_id == CONTOSO_TENANT
    assert "AADSTS7000229" in error.detail


async def test_tenant_without_consent(tokens):
    with pytest.raises(ConsentMissing) as caught:
        await tokens.get_token(FABRIKAM_TENANT)
    assert FABRIKAM_TENANT in caught.value.message


async def test_conditional_access(world, tokens):
    contoso(world).conditional_access_blocks.append(CLIENT_ID)
    with pytest.raises(ConditionalAccessBlocked) as caught:
        await tokens.get_token(CONTOSO_TENANT)
    assert caught.value.audience == "customer"
    assert "Conditional Access" in caught.value.message


async def test_disabled_app(world, tokens):
    contoso(world).principal(CLIENT_ID).enabled = False
    with pytest.raises(AppDisabled) as caught:
        await tokens.get_token(CONTOSO_TENANT)
    assert caught.value.audience == "customer"


async def test_unknown_tenant(tokens):
    with pytest.raises(UnknownTenant) as caught:
        await tokens.get_token("0badc0de-0000-4000-8000-000000000000")
    assert "0badc0de-0000-4000-8000-000000000000" in caught.value.message


@pytest.mark.parametrize("tenant", ["", "../evil", "evil.com/x", "common", "a b", "x" * 300])
async def test_malformed_tenant_never_reaches_the_network(sandbox, tokens, tenant):
    with pytest.raises(UnknownTenant):
        await tokens.get_token(tenant)
    assert sandbox.context.count("login") == 0


async def test_token_endpoint_outage(world, tokens):
    world.faults.append(Fault(host="login", route="/token$", status=503))
    with pytest.raises(TokenServiceUnavailable) as caught:
        await tokens.get_token(CONTOSO_TENANT)
    assert caught.value.retryable


async def test_fresh_retry_bypasses_msal_400_cache(world, sandbox, tokens):
    """Right after consent Entra answers 700016 (HTTP 400), which MSAL replays from its cache for 60 s."""
    tenant = contoso(world)
    tenant.consent_propagation_seconds = 30
    tenant.principal(CLIENT_ID).consented_at = time.time()
    with pytest.raises(ConsentMissing) as caught:
        await tokens.get_token(CONTOSO_TENANT)
    assert "AADSTS700016" in caught.value.detail
    assert token_requests(sandbox) == 1

    tenant.principal(CLIENT_ID).consented_at = time.time() - 60  # propagation is over
    with pytest.raises(ConsentMissing):
        await tokens.get_token(CONTOSO_TENANT)  # answered from MSAL's cache: the network is not asked
    assert token_requests(sandbox) == 1

    assert await tokens.get_token(CONTOSO_TENANT, fresh=True)
    assert token_requests(sandbox) == 2
    assert await tokens.get_token(CONTOSO_TENANT)  # later calls use the new instance and its token
    assert token_requests(sandbox) == 2


# --- certificate credential --------------------------------------------------------------------------


def write_certificate(path) -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "panoptica-test")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    cert_pem = certificate.public_bytes(serialization.Encoding.PEM).decode()
    path.write_text(key_pem + cert_pem)
    return cert_pem


async def test_certificate_credential(world, settings, tmp_path):
    cert_pem = write_certificate(tmp_path / "app.pem")
    world.apps[0].certificate_pem = cert_pem
    cert_settings = settings.model_copy(
        update={"entra_client_secret": None, "entra_certificate_path": tmp_path / "app.pem"}
    )
    provider = TokenProvider(cert_settings)
    try:
        assert await provider.get_token(CONTOSO_TENANT)
    finally:
        provider.close()


def test_certificate_thumbprint(tmp_path):
    write_certificate(tmp_path / "app.pem")
    credential = load_certificate(tmp_path / "app.pem")
    assert len(credential.thumbprint) == 40
    assert "PRIVATE" not in repr(credential)
    assert credential.for_msal()["private_key"].startswith("-----BEGIN PRIVATE KEY-----")


async def test_unregistered_certificate_is_an_operator_error(world, settings, tmp_path):
    world.apps[0].certificate_pem = write_certificate(tmp_path / "registered.pem")
    write_certificate(tmp_path / "other.pem")
    provider = TokenProvider(
        settings.model_copy(
            update={"entra_client_secret": None, "entra_certificate_path": tmp_path / "other.pem"}
        )
    )
    try:
        with pytest.raises(AppCredentialsInvalid) as caught:
            await provider.get_token(CONTOSO_TENANT)
    finally:
        provider.close()
    assert "AADSTS700027" in caught.value.detail


async def test_private_ca_is_trusted_whatever_requests_ca_bundle_says(settings, monkeypatch, tmp_path):
    # requests would let this variable replace MSAL's verify=; our own httpx client ignores it.
    (tmp_path / "empty.pem").write_text("")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tmp_path / "empty.pem"))
    monkeypatch.setenv("CURL_CA_BUNDLE", str(tmp_path / "empty.pem"))
    provider = TokenProvider(settings)
    try:
        assert await provider.get_token(CONTOSO_TENANT)
    finally:
        provider.close()
