"""Tenant binding, tried as an attacker with an account of their own would.

Alice's account connects `contoso` (its administrator signs in, then consents). Mallory has an account
of ours too, and knows the organization's name. Everything goes through GraphQL, our callbacks and the
emulated Microsoft pages over real HTTPS.
"""

from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlmodel import select

from core.connections import signin
from core.connections.models import AzureConnection, ConnectionStatus, OrganizationBinding
from core.db import create_engine, session_factory, session_scope
from core.db.migrate import upgrade_engine
from tests.api.consent import decide
from tests.api.seed import seed_repositories
from tests.signin import connect_in_browser, sign_in, sign_in_page_error
from tests.worlds import (
    ADMIN,
    CLIENT_ID,
    CONTOSO_TENANT,
    DEVELOPER,
    FABRIKAM_ADMIN,
    FABRIKAM_TENANT,
    NESTED_ADMIN,
)

START = """mutation($org: String!, $move: Boolean! = false) {
  startAzureConnection(organization: $org, moveFromOtherAccount: $move) { __typename
  ... on StartAzureConnectionSuccess { signInUrl connection { id status } }
  ... on UserError { code message } } }"""
CONNECT = """mutation($id: ID!) { connectAzureOrganization(connectionId: $id) { __typename
  ... on ConnectAzureOrganizationSuccess { ok connection { status administrator } }
  ... on UserError { code message } } }"""
REFRESH = CONNECT.replace("connectAzureOrganization", "refreshAzureConnection")
CONNECTIONS = "{ connections { id organization status statusReason administrator } }"
AUDIT = "{ auditEvents { edges { node { action subject } } } }"
REPOS = "{ repositories(first: 100) { totalCount } }"


async def start(caller, org="contoso", move=False) -> dict:
    return (await caller.graphql(START, org=org, move=move))["data"]["startAzureConnection"]


async def mutate(caller, query, connection_id) -> dict:
    result = await caller.graphql(query, id=connection_id)
    return next(iter(result["data"].values()))


async def connected(caller, sandbox, http, org="contoso", upn=ADMIN) -> str:
    started = await start(caller, org)
    assert (await connect_in_browser(http, sandbox, started["signInUrl"], upn)).status_code == 200
    payload = await mutate(caller, CONNECT, started["connection"]["id"])
    assert payload["ok"], payload
    return started["connection"]["id"]


async def actions(caller) -> list[str]:
    return [e["node"]["action"] for e in (await caller.graphql(AUDIT))["data"]["auditEvents"]["edges"]]


async def binding(db, organization="contoso") -> OrganizationBinding | None:
    async with db() as session:
        return await session.get(OrganizationBinding, organization)


async def test_another_account_cannot_start_on_a_claimed_organization(
    alice, mallory, sandbox, world, http, db
):
    await connected(alice, sandbox, http)
    refused = await start(mallory)
    assert refused["code"] == "ORGANIZATION_CLAIMED"
    # Nothing about the owner: not its account name, nor its people.
    assert "Acme" not in refused["message"] and "alice" not in refused["message"]
    assert "moveFromOtherAccount" in refused["message"]
    assert (await mallory.graphql(CONNECTIONS))["data"]["connections"] == []
    assert (await mallory.graphql(REPOS))["data"]["repositories"]["totalCount"] == 0


async def test_a_non_administrator_is_refused_and_nothing_changes(alice, mallory, sandbox, world, http, db):
    alice_connection = await connected(alice, sandbox, http)
    started = await start(mallory, move=True)  # "move it to my account", signing in as a mere developer
    page = await http.get(await sign_in(sandbox, started["signInUrl"], DEVELOPER))
    assert page.status_code == 403
    assert "not a Project Collection Administrator of &#x27;contoso&#x27;" in page.text
    assert "NOT_ORGANIZATION_ADMINISTRATOR" in page.text
    owner = await binding(db)
    assert (owner.account_id, owner.connection_id) == (alice.account_id, alice_connection)
    assert (await mutate(mallory, CONNECT, started["connection"]["id"]))["code"] == "CONSENT_REQUIRED"
    assert (await mallory.graphql(REPOS))["data"]["repositories"]["totalCount"] == 0
    assert "connection.administrator_refused" in await actions(mallory)
    statuses = (await alice.graphql(CONNECTIONS))["data"]["connections"]
    assert [c["status"] for c in statuses] == ["CONNECTED"]


async def test_a_person_of_another_tenant_is_refused(alice, sandbox, world, http, db):
    started = await start(alice)
    # Microsoft itself refuses an account of another tenant at the organization's tenant.
    assert "AADSTS50020" in await sign_in_page_error(sandbox, started["signInUrl"], FABRIKAM_ADMIN)
    # Nor can the browser be sent to another tenant's sign-in with our state: the code is redeemed at the
    # organization's tenant, which refuses it.
    forged = started["signInUrl"].replace(CONTOSO_TENANT, FABRIKAM_TENANT)
    page = await http.get(await sign_in(sandbox, forged, FABRIKAM_ADMIN))
    assert page.status_code == 403 and "SIGN_IN_FAILED" in page.text
    assert await binding(db) is None


async def test_an_organization_that_moved_tenants_meanwhile_is_refused(alice, sandbox, world, http, db):
    started = await start(alice)
    callback = await sign_in(sandbox, started["signInUrl"], ADMIN)
    world.organization("contoso").tenant_id = FABRIKAM_TENANT
    page = await http.get(callback)
    assert page.status_code == 403 and "TENANT_MISMATCH" in page.text
    assert await binding(db) is None


async def test_no_sign_in_no_consent_no_connection(mallory, sandbox, world, http, db):
    """The attack as it was: start, then connect, never visiting Microsoft. Azure DevOps is never asked."""
    started = await start(mallory)
    connection_id = started["connection"]["id"]
    sandbox.context.requests.clear()
    for query in (CONNECT, REFRESH):
        payload = await mutate(mallory, query, connection_id)
        assert payload["__typename"] == "AzureConnectionError" and payload["code"] == "CONSENT_REQUIRED"
    assert sandbox.context.count("dev") == sandbox.context.count("vssps") == 0
    # Unsigned callback parameters are no proof: a forged consent callback and a forged sign-in code.
    query = parse_qs(urlsplit(started["signInUrl"]).query)
    forged = await http.get(f"/consent/azure/callback?admin_consent=True&tenant={CONTOSO_TENANT}&state=x")
    assert forged.status_code == 400
    reused = await http.get(
        f"/consent/azure/callback?admin_consent=True&tenant={CONTOSO_TENANT}&state={query['state'][0]}"
    )
    assert reused.status_code == 400
    code = await http.get(f"/signin/azure/callback?code=forged&state={query['state'][0]}")
    assert code.status_code == 403 and "SIGN_IN_FAILED" in code.text
    replay = await http.get(f"/signin/azure/callback?code=forged&state={query['state'][0]}")
    assert replay.status_code == 400
    assert await binding(db) is None
    statuses = (await mallory.graphql(CONNECTIONS))["data"]["connections"]
    assert [c["status"] for c in statuses] == ["PENDING_CONSENT"]


async def test_an_administrator_through_nested_groups_connects(alice, sandbox, world, http, db):
    started = await start(alice)
    refused = await http.get(await sign_in(sandbox, started["signInUrl"], DEVELOPER))
    assert refused.status_code == 403
    # The sign-in link was single use; a new start, and secops@ signs in: they are in Security Operations,
    # inside Security Admins, inside Project Collection Administrators.
    assert (await http.get(await sign_in(sandbox, started["signInUrl"], NESTED_ADMIN))).status_code == 400
    started = await start(alice)
    assert (await connect_in_browser(http, sandbox, started["signInUrl"], NESTED_ADMIN)).status_code == 200
    payload = await mutate(alice, CONNECT, started["connection"]["id"])
    assert payload["ok"] and payload["connection"]["administrator"] == NESTED_ADMIN
    assert (await binding(db)).account_id == alice.account_id


async def test_a_proven_administrator_moves_the_organization(alice, mallory, sandbox, world, http, db):
    alice_connection = await connected(alice, sandbox, http)
    started = await start(mallory, move=True)
    assert (await connect_in_browser(http, sandbox, started["signInUrl"], ADMIN)).status_code == 200
    assert (await mutate(mallory, CONNECT, started["connection"]["id"]))["ok"]
    assert (await binding(db)).account_id == mallory.account_id
    assert "connection.moved_here" in await actions(mallory)
    assert "connection.moved_away" in await actions(alice)
    before = (await alice.graphql(CONNECTIONS))["data"]["connections"][0]
    assert (
        before["status"] == "DISCONNECTED"
        and "moved it to another Panoptica account" in before["statusReason"]
    )
    sandbox.context.requests.clear()
    assert (await mutate(alice, REFRESH, alice_connection))["code"] == "CONSENT_REQUIRED"
    assert sandbox.context.count("dev") == 0
    # Alice keeps her history until she disconnects; disconnecting frees nothing of Mallory's.
    gone = await alice.graphql(
        "mutation($id: ID!) { disconnectAzureOrganization(connectionId: $id) { __typename } }",
        id=alice_connection,
    )
    assert gone["data"]["disconnectAzureOrganization"]["__typename"] == "DisconnectAzureOrganizationSuccess"
    assert (await binding(db)).account_id == mallory.account_id


async def test_disconnect_frees_the_organization(alice, mallory, sandbox, world, http, db):
    connection_id = await connected(alice, sandbox, http)
    await alice.graphql(
        "mutation($id: ID!) { disconnectAzureOrganization(connectionId: $id) { __typename } }",
        id=connection_id,
    )
    assert await binding(db) is None
    assert (await start(mallory))["__typename"] == "StartAzureConnectionSuccess"


async def test_connections_from_before_the_proof_must_prove_it(alice, mallory, sandbox, world, http, db):
    """What migration 0010 leaves: two accounts had connected contoso; neither is verified or scanned."""
    ids = [await seed_repositories(db, who.account_id, 3) for who in (alice, mallory)]
    async with session_scope(db) as session:
        for connection in (await session.exec(select(AzureConnection))).all():
            connection.tenant_id = CONTOSO_TENANT
            connection.status = ConnectionStatus.PROOF_REQUIRED
            session.add(connection)
    sandbox.context.requests.clear()
    payload = await mutate(mallory, REFRESH, ids[1])
    assert payload["code"] == "PROOF_REQUIRED" and "sign in" in payload["message"]
    assert sandbox.context.count("dev") == 0
    # Alice's administrator proves it first: hers from now on, with its history; Mallory is refused.
    started = await start(alice)
    assert started["connection"] == {"id": ids[0], "status": "PROOF_REQUIRED"}
    assert (await connect_in_browser(http, sandbox, started["signInUrl"], ADMIN)).status_code == 200
    assert (await binding(db)).connection_id == ids[0]
    assert (await start(mallory))["code"] == "ORGANIZATION_CLAIMED"


async def test_the_migration_marks_existing_connections(tmp_path):
    """0009 → 0010 on a database holding a connected organization: kept, marked PROOF_REQUIRED."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/old.db")
    try:
        await upgrade_engine(engine, "0009")
        async with engine.begin() as connection:
            await connection.exec_driver_sql(
                "INSERT INTO accounts (id, name, created_at) VALUES ('a1', 'Old', '2026-01-01 00:00:00')"
            )
            await connection.exec_driver_sql(
                "INSERT INTO azure_connections (id, account_id, organization, tenant_id, status, status_reason, "
                "created_by, created_at, checks, discovery_status, discovery_error) VALUES ('c1', 'a1', "
                "'contoso', 't', 'CONNECTED', '', 'x@y', '2026-01-01 00:00:00', '[]', 'SUCCEEDED', '')"
            )
        await upgrade_engine(engine, "head")
        async with session_factory(engine)() as session:
            connection = await session.get(AzureConnection, "c1")
    finally:
        await engine.dispose()
    assert connection.status == ConnectionStatus.PROOF_REQUIRED
    assert "administrator" in connection.status_reason


async def test_an_id_token_not_signed_by_the_tenant_is_refused(services, sandbox, world):
    """MSAL does not check id-token signatures: we do, with the keys the tenant publishes."""
    login = sandbox.authority_host
    claims = {
        "aud": CLIENT_ID,
        "iss": f"{login}/{CONTOSO_TENANT}/v2.0",
        "iat": 1,
        "exp": 2**31,
        "sub": "s",
        "tid": CONTOSO_TENANT,
        "oid": "o",
    }
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(claims, stranger, algorithm="RS256", headers={"kid": "sandbox-signing-key"})
    with pytest.raises(signin.SignInRefused) as refused:
        await signin.verified_id_token(services, CONTOSO_TENANT, forged)
    assert refused.value.code == "SIGN_IN_FAILED"
    genuine = jwt.encode(
        claims, sandbox.context.id_token_key, algorithm="RS256", headers={"kid": "sandbox-signing-key"}
    )
    assert (await signin.verified_id_token(services, CONTOSO_TENANT, genuine))["tid"] == CONTOSO_TENANT
    other_audience = jwt.encode(
        {**claims, "aud": "someone-else"},
        sandbox.context.id_token_key,
        algorithm="RS256",
        headers={"kid": "sandbox-signing-key"},
    )
    with pytest.raises(signin.SignInRefused):
        await signin.verified_id_token(services, CONTOSO_TENANT, other_audience)


async def test_consent_after_sign_in_keeps_the_state_single_use(alice, sandbox, world, http):
    started = await start(alice)
    proven = await http.get(await sign_in(sandbox, started["signInUrl"], ADMIN))
    assert proven.status_code == 303
    consent = await decide(sandbox, proven.headers["location"])
    assert (await http.get(consent)).status_code == 200
    assert (await http.get(consent)).status_code == 400
