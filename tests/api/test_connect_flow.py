"""The connect flow over HTTP (GraphQL and the consent callback) against the Azure emulator."""

import ssl
import time
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from pydantic import SecretStr
from sqlmodel import select

from api.app import create_app
from core.connections.models import ConsentRequest
from core.db import session_scope
from core.db.columns import utcnow
from sandbox.scenario import Fault, Repository, demo_world
from tests.api.conftest import new_caller
from tests.api.consent import decide
from tests.signin import connect_in_browser, sign_in
from tests.support.connect_api import CONNECT, REFRESH, REPOS, connect, consented, start
from tests.support.flows import DEMO_ADMIN
from tests.worlds import CLIENT_ID, CONTOSO_TENANT, FABRIKAM_ADMIN, FABRIKAM_TENANT


def unconsented(world):
    """Contoso before the admin consents: no service principal in the tenant yet."""
    world.tenant(CONTOSO_TENANT).service_principals.clear()
    return world


def by_code(payload: dict) -> dict[str, dict]:
    return {c["code"]: c for c in payload["checks"]}


async def test_happy_path(alice, sandbox, world, http):
    unconsented(world)
    started = await start(alice)
    assert started["__typename"] == "StartAzureConnectionSuccess"
    assert started["connection"]["status"] == "PENDING_CONSENT"
    url = urlsplit(started["signInUrl"])
    query = parse_qs(url.query)
    # The administrator signs in at the organization's own tenant, never /common or /organizations, with
    # PKCE, asking for a delegated Azure DevOps token.
    assert url.path == f"/{CONTOSO_TENANT}/oauth2/v2.0/authorize"
    assert query["client_id"] == [CLIENT_ID] and query["response_type"] == ["code"]
    assert query["code_challenge_method"] == ["S256"] and query["nonce"][0]
    assert "499b84ac-1321-427f-aa17-267ca6975798/user_impersonation" in query["scope"][0].split()
    assert query["redirect_uri"][0].endswith("/signin/azure/callback")
    assert len(query["state"][0]) >= 16

    proven = await http.get(await sign_in(sandbox, started["signInUrl"]))
    assert proven.status_code == 303
    consent_url = urlsplit(proven.headers["location"])
    consent_query = parse_qs(consent_url.query)
    # Consent too is asked in the organization's own tenant.
    assert consent_url.path == f"/{CONTOSO_TENANT}/v2.0/adminconsent"
    assert consent_query["client_id"] == [CLIENT_ID]
    assert consent_query["redirect_uri"][0].endswith("/consent/azure/callback")
    assert len(consent_query["state"][0]) >= 32

    callback = await decide(sandbox, proven.headers["location"])
    page = await http.get(callback)
    assert page.status_code == 200
    assert "Consent granted for contoso" in page.text
    assert "https://dev.azure.com/contoso/_settings/users" in page.text
    assert "Basic" in page.text and "Project Contributors" in page.text

    payload = await connect(alice, started["connection"]["id"])
    assert payload["ok"] is True, payload["checks"]
    assert [c["status"] for c in payload["checks"]] == ["PASS"] * 9
    assert payload["connection"]["status"] == "CONNECTED"
    repos = (await alice.graphql(REPOS))["data"]["repositories"]
    names = {e["node"]["name"]: e["node"] for e in repos["edges"]}
    # Payments, Platform and Open Source are the projects the service principal was added to.
    assert set(names) == {"payments-api", "payments-web", "empty-repo", "infra", "old-infra", "oss-lib"}
    assert names["empty-repo"]["excludedReason"] == "EMPTY"
    assert names["old-infra"]["excludedReason"] == "DISABLED"
    assert payload["connection"]["repositoryCount"] == 6 and payload["connection"]["projectCount"] == 3
    connections = await alice.graphql("{ connections { organization status consentedBy repositoryCount } }")
    assert connections["data"]["connections"] == [
        {
            "organization": "contoso",
            "status": "CONNECTED",
            "consentedBy": "alice@acme.test",
            "repositoryCount": 6,
        }
    ]


async def test_consent_cancelled_keeps_pending_and_offers_retry(alice, sandbox, world, http):
    unconsented(world)
    started = await start(alice)
    page = await connect_in_browser(http, sandbox, started["signInUrl"], decision="cancel")
    assert page.status_code == 200
    assert "Consent was not granted" in page.text and "Try again" in page.text
    connection = (await alice.graphql("{ connections { status statusReason } }"))["data"]["connections"][0]
    assert connection["status"] == "PENDING_CONSENT"
    assert "consent_required" in connection["statusReason"]
    assert world.tenant(CONTOSO_TENANT).principal(CLIENT_ID) is None


async def test_replayed_forged_and_expired_state_change_nothing(alice, sandbox, world, http, db):
    unconsented(world)
    started = await start(alice)
    proven = await http.get(await sign_in(sandbox, started["signInUrl"]))
    callback = await decide(sandbox, proven.headers["location"])
    assert (await http.get(callback)).status_code == 200
    replay = await http.get(callback)
    assert replay.status_code == 400 and "already used" in replay.text

    forged = await http.get("/consent/azure/callback?admin_consent=True&tenant=x&state=forged-state-value")
    assert forged.status_code == 400
    missing = await http.get("/consent/azure/callback?admin_consent=True&tenant=" + CONTOSO_TENANT)
    assert missing.status_code == 400

    second = await start(alice, "fabrikam")
    proven = await http.get(await sign_in(sandbox, second["signInUrl"], FABRIKAM_ADMIN))
    async with session_scope(db) as session:
        for request in (await session.exec(select(ConsentRequest))).all():
            request.expires_at = utcnow()
            session.add(request)
    expired = await http.get(await decide(sandbox, proven.headers["location"]))
    assert expired.status_code == 400
    statuses = {
        c["organization"]: c["status"]
        for c in (await alice.graphql("{ connections { organization status } }"))["data"]["connections"]
    }
    assert statuses == {"contoso": "CONSENT_GRANTED", "fabrikam": "PENDING_CONSENT"}


@pytest.mark.parametrize(
    ("org", "code"),
    [
        ("not a name!", "INVALID_ORGANIZATION"),
        ("https://evil.example/contoso", "INVALID_ORGANIZATION"),
        ("no-such-org", "ORGANIZATION_NOT_FOUND"),
        ("personal-msa", "ORGANIZATION_NOT_ENTRA_BACKED"),
    ],
)
async def test_start_refuses_bad_organizations(alice, world, org, code):
    started = await start(alice, org)
    assert started["code"] == code
    assert started["message"]
    assert (await alice.graphql("{ connections { id } }"))["data"]["connections"] == []


async def test_already_connected(alice, sandbox, world, http):
    connection_id = await consented(alice, sandbox, http)
    assert (await connect(alice, connection_id))["ok"]
    assert (await start(alice))["code"] == "ALREADY_CONNECTED"


async def test_tenant_mismatch(alice, sandbox, world, http):
    connection_id = await consented(alice, sandbox, http)
    world.organization("contoso").tenant_id = FABRIKAM_TENANT  # the organization moved tenants
    checks = by_code(await connect(alice, connection_id))
    assert checks["TENANT_MATCHES"]["status"] == "FAIL"
    assert FABRIKAM_TENANT in checks["TENANT_MATCHES"]["message"]
    assert CONTOSO_TENANT in checks["TENANT_MATCHES"]["message"]
    assert checks["APP_TOKEN"]["status"] == "SKIPPED"


async def test_service_principal_not_added(alice, sandbox, world, http):
    connection_id = await consented(alice, sandbox, http)
    world.organization("contoso").members.clear()
    payload = await connect(alice, connection_id)
    checks = by_code(payload)
    assert payload["ok"] is False and payload["connection"]["status"] == "CONSENT_GRANTED"
    assert checks["SERVICE_PRINCIPAL_MEMBER"]["status"] == "FAIL"
    assert "TF401444" in checks["SERVICE_PRINCIPAL_MEMBER"]["message"]
    assert "_settings/users" in checks["SERVICE_PRINCIPAL_MEMBER"]["remediation"]
    assert [checks[c]["status"] for c in ("ACCESS_LEVEL_BASIC", "CAN_READ_CODE")] == ["SKIPPED", "SKIPPED"]
    assert (await alice.graphql(REPOS))["data"]["repositories"]["totalCount"] == 0


async def test_stakeholder_fails_naming_basic(alice, sandbox, world, http):
    connection_id = await consented(alice, sandbox, http)
    world.organization("contoso").member(CLIENT_ID).access_level = "stakeholder"
    checks = by_code(await connect(alice, connection_id))
    assert checks["ACCESS_LEVEL_BASIC"]["status"] == "FAIL"
    assert "stakeholder" in checks["ACCESS_LEVEL_BASIC"]["message"].lower()
    assert "Basic" in checks["ACCESS_LEVEL_BASIC"]["remediation"]


async def test_stakeholder_found_by_probing_when_entitlements_are_refused(alice, sandbox, world, http):
    connection_id = await consented(alice, sandbox, http)
    member = world.organization("contoso").member(CLIENT_ID)
    member.access_level, member.entitlement_readable = "stakeholder", False
    checks = by_code(await connect(alice, connection_id))
    assert checks["ACCESS_LEVEL_BASIC"]["status"] == "FAIL"
    assert "probed" in checks["ACCESS_LEVEL_BASIC"]["message"]
    assert "Payments" in checks["ACCESS_LEVEL_BASIC"]["message"]


async def test_no_projects(alice, sandbox, world, http):
    connection_id = await consented(alice, sandbox, http)
    world.organization("contoso").member(CLIENT_ID).projects = {}
    checks = by_code(await connect(alice, connection_id))
    assert checks["PROJECT_MEMBERSHIP"]["status"] == "FAIL"
    assert checks["CONTRIBUTORS_GROUP"]["status"] == "SKIPPED"


async def test_readers_group_warns_but_connects(alice, sandbox, world, http):
    connection_id = await consented(alice, sandbox, http)
    world.organization("contoso").member(CLIENT_ID).projects["Platform"] = "projectReader"
    payload = await connect(alice, connection_id)
    checks = by_code(payload)
    assert checks["CONTRIBUTORS_GROUP"]["status"] == "WARN"
    assert "Platform (projectReader)" in checks["CONTRIBUTORS_GROUP"]["message"]
    assert payload["ok"] is True and payload["connection"]["status"] == "CONNECTED"


async def test_cannot_read_code(alice, sandbox, world, http):
    connection_id = await consented(alice, sandbox, http)
    world.organization("contoso").member(CLIENT_ID).read_denied = ["Platform"]
    payload = await connect(alice, connection_id)
    checks = by_code(payload)
    assert checks["CAN_READ_CODE"]["status"] == "FAIL"
    message = checks["CAN_READ_CODE"]["message"]
    assert "the Security API denies Git Read in Platform" in message
    assert "3 project(s) judged by the Security API" in message and "Payments" not in message
    assert "Deny on Read" in checks["CAN_READ_CODE"]["remediation"]
    assert payload["connection"]["status"] == "CONSENT_GRANTED"
    # Judged without reading any repository: one permission evaluation for the three projects.
    assert [r.path for r in sandbox.context.requests if "/refs" in r.path] == []


async def test_connect_asks_the_security_api_once_and_reads_no_repository(alice, sandbox, world, http):
    connection_id = await consented(alice, sandbox, http)
    sandbox.context.requests.clear()
    payload = await connect(alice, connection_id)
    assert payload["ok"] is True, payload["checks"]
    message = by_code(payload)["CAN_READ_CODE"]["message"]
    assert "May read repository contents in 3 project(s)" in message
    assert "3 project(s) judged by the Security API's permission evaluation" in message
    devops = [r for r in sandbox.context.requests if r.host in ("dev", "vssps", "vsaex")]
    paths = sorted(r.path.removeprefix("/contoso") for r in devops)
    # resource area, tenant probe, identity, entitlement's area and entitlement, projects, repositories,
    # and one evaluation batch: never a refs read per project.
    assert paths == sorted(
        [
            "/_apis/resourceAreas/68ddce18-2501-45f1-a17b-7931a9922690",
            "/_apis/connectionData",
            "/_apis/connectionData",
            "/_apis/git/repositories",
            "/_apis/projects",
            "/_apis/resourceAreas/79134C72-4A58-4B42-976C-04E7115F32BF",
            "/_apis/security/permissionevaluationbatch",
            "/_apis/serviceprincipalentitlements/"
            + world.organization("contoso").member(CLIENT_ID).identity_id,
        ]
    ), paths


async def test_security_api_refused_falls_back_to_reading_a_repository_per_project(
    alice, sandbox, world, http
):
    connection_id = await consented(alice, sandbox, http)
    member = world.organization("contoso").member(CLIENT_ID)
    member.refused_apis, member.read_denied = ["security"], ["Platform"]
    sandbox.context.requests.clear()
    checks = by_code(await connect(alice, connection_id))
    message = checks["CAN_READ_CODE"]["message"]
    assert checks["CAN_READ_CODE"]["status"] == "FAIL"
    assert "reading a repository was refused in Platform (TF401019)" in message
    assert "3 by reading a repository's refs because the Security API refused (HTTP 403)" in message
    refs = [r for r in sandbox.context.requests if r.path.endswith("/refs")]
    assert len(refs) == 3  # Payments, Platform and Open Source each have a non-empty repository


async def test_security_api_refused_still_connects_when_code_is_readable(alice, sandbox, world, http):
    connection_id = await consented(alice, sandbox, http)
    world.organization("contoso").refused_apis = ["security"]
    payload = await connect(alice, connection_id)
    assert payload["ok"] is True, payload["checks"]
    message = by_code(payload)["CAN_READ_CODE"]["message"]
    assert "May read repository contents in 3 project(s)" in message and "refs because" in message


async def test_consent_still_propagating_is_retried(alice, sandbox, world, http):
    unconsented(world)
    tenant = world.tenant(CONTOSO_TENANT)
    tenant.consent_propagation_seconds = 1.0
    connection_id = await consented(alice, sandbox, http)
    # Propagation counts from consent; stamp it again just before Connect so that a slow machine, where the
    # consent round trip alone can outlast the window, still sees the principal missing at the first try.
    tenant.principal(CLIENT_ID).consented_at = time.time()
    payload = await connect(alice, connection_id)
    checks = by_code(payload)
    assert checks["APP_TOKEN"]["status"] == "PASS"
    assert "retr" in checks["APP_TOKEN"]["message"]
    assert payload["ok"] is True


async def test_consent_never_propagating_says_it_retried(alice, sandbox, world, http):
    unconsented(world)
    world.tenant(CONTOSO_TENANT).consent_propagation_seconds = 3600
    connection_id = await consented(alice, sandbox, http)
    checks = by_code(await connect(alice, connection_id))
    assert checks["APP_TOKEN"]["status"] == "FAIL"
    assert "retried" in checks["APP_TOKEN"]["message"]
    assert CONTOSO_TENANT in checks["APP_TOKEN"]["message"]


async def test_throttling_and_5xx_during_discovery_are_absorbed(alice, sandbox, world, http):
    connection_id = await consented(alice, sandbox, http)
    world.organization("contoso").faults += [
        Fault(host="dev", route=r"/_apis/git/repositories$", status=429, retry_after=0.05, count=1),
        Fault(host="dev", route=r"/_apis/projects$", status=503, count=2),
    ]
    payload = await connect(alice, connection_id)
    assert payload["ok"] is True
    assert payload["connection"]["repositoryCount"] == 6


async def test_azure_outage_keeps_status_and_stored_repositories(alice, sandbox, world, http):
    connection_id = await consented(alice, sandbox, http)
    assert (await connect(alice, connection_id))["ok"]
    world.organization("contoso").faults.append(
        Fault(host="dev", route=r"/_apis/git/repositories$", status=503)
    )
    payload = await connect(alice, connection_id, REFRESH)
    assert payload["ok"] is False
    assert (
        payload["connection"]["status"] == "CONNECTED"
    )  # Azure was down: nothing about the customer changed
    assert (await alice.graphql(REPOS))["data"]["repositories"]["totalCount"] == 6


async def test_a_changed_azure_answer_is_reported_as_not_understood(alice, sandbox, world, http):
    connection_id = await consented(alice, sandbox, http)
    assert (await connect(alice, connection_id))["ok"]
    renamed = {"count": 1, "value": [{"repositoryId": "r1", "name": "api"}]}  # "id" renamed by Microsoft
    world.organization("contoso").faults.append(
        Fault(host="dev", route=r"/_apis/git/repositories$", answer=renamed)
    )
    payload = await connect(alice, connection_id, REFRESH)
    check = by_code(payload)["CAN_READ_CODE"]
    assert payload["ok"] is False and check["status"] == "FAIL"
    assert check["message"] == (
        "Azure DevOps answered GET _apis/git/repositories in a shape the service does not understand "
        "(field 'value.0.id': Field required)."
    )
    assert "Nothing to change on your side" in check["remediation"]
    assert (await alice.graphql(REPOS))["data"]["repositories"]["totalCount"] == 6  # nothing stored changed


async def test_rediscovery_after_renames_removals_and_additions(alice, sandbox, world, http):
    connection_id = await consented(alice, sandbox, http)
    assert (await connect(alice, connection_id))["ok"]
    before = {
        e["node"]["name"]: e["node"] for e in (await alice.graphql(REPOS))["data"]["repositories"]["edges"]
    }
    await alice.graphql(
        "mutation($ids: [ID!]!) { setRepositorySelection(ids: $ids, selected: false) { __typename } }",
        ids=[before["payments-api"]["id"]],
    )
    org = world.organization("contoso")
    payments = org.project("Payments")
    payments.repositories[0].name = "payments-core"  # renamed: same id
    payments.repositories = [r for r in payments.repositories if r.name != "payments-web"]  # removed
    payments.repositories.append(
        Repository(
            name="payments-new",
            id="11111111-2222-3333-4444-555555555555",
            files={"a": "b"},
            head_commit="abc",
        )
    )
    assert (await connect(alice, connection_id, REFRESH))["ok"]
    edges = (await alice.graphql(REPOS))["data"]["repositories"]["edges"]
    after = {e["node"]["name"]: e["node"] for e in edges}
    assert "payments-core" in after and "payments-api" not in after
    assert after["payments-core"]["id"] == before["payments-api"]["id"]
    assert after["payments-core"]["selected"] is False
    assert "payments-new" in after and after["payments-new"]["selected"] is True
    assert "payments-web" not in after  # hidden once removed...
    with_removed = await alice.graphql(REPOS)  # ...but kept: the default filter hides removed rows
    assert with_removed["data"]["repositories"]["totalCount"] == 6


async def test_disconnect_removes_everything(alice, sandbox, world, http):
    connection_id = await consented(alice, sandbox, http)
    assert (await connect(alice, connection_id))["ok"]
    result = await alice.graphql(
        "mutation($id: ID!) { disconnectAzureOrganization(connectionId: $id) { __typename } }",
        id=connection_id,
    )
    assert result["data"]["disconnectAzureOrganization"]["__typename"] == "DisconnectAzureOrganizationSuccess"
    assert (await alice.graphql(REPOS))["data"]["repositories"]["totalCount"] == 0
    assert (await alice.graphql("{ connections { id } }"))["data"]["connections"] == []
    actions = [
        e["node"]["action"]
        for e in (await alice.graphql("{ auditEvents { edges { node { action } } } }"))["data"][
            "auditEvents"
        ]["edges"]
    ]
    assert actions[0] == "connection.disconnected"
    assert {"connection.started", "consent.granted", "connection.connect.succeeded"} <= set(actions)


async def test_accounts_cannot_touch_each_others_connections(alice, mallory, sandbox, world, http):
    connection_id = await consented(alice, sandbox, http)
    assert (await connect(alice, connection_id))["ok"]
    for query in (CONNECT, REFRESH):
        payload = await connect(mallory, connection_id, query)
        assert payload == {
            "__typename": "NotFoundError",
            "code": "NOT_FOUND",
            "message": "No such connection.",
        }
    gone = await mallory.graphql(
        "mutation($id: ID!) { disconnectAzureOrganization(connectionId: $id) { __typename } }",
        id=connection_id,
    )
    assert gone["data"]["disconnectAzureOrganization"]["__typename"] == "NotFoundError"
    assert (await mallory.graphql("query($id: ID!) { connection(id: $id) { id } }", id=connection_id))[
        "data"
    ] == {"connection": None}
    assert (await mallory.graphql("{ connections { id } }"))["data"]["connections"] == []
    assert (await mallory.graphql(REPOS))["data"]["repositories"]["totalCount"] == 0
    assert (await mallory.graphql(REPOS, filter={"connectionId": connection_id}))["data"]["repositories"][
        "totalCount"
    ] == 0
    assert (await alice.graphql("{ connections { status } }"))["data"]["connections"][0][
        "status"
    ] == "CONNECTED"


async def test_connect_button_on_the_callback_page(alice, sandbox, world, http):
    unconsented(world)
    started = await start(alice)
    page = await connect_in_browser(http, sandbox, started["signInUrl"])
    assert "panoptica_consent" in page.headers["set-cookie"]
    assert "httponly" in page.headers["set-cookie"].lower()
    assert 'action="/consent/azure/connect"' in page.text
    connection_id = started["connection"]["id"]

    world.organization("contoso").members.clear()  # the admin has not added the service principal yet
    first = await http.post("/consent/azure/connect", data={"connection_id": connection_id})
    assert first.status_code == 200
    assert "contoso is not connected yet" in first.text and "TF401444" in first.text

    # The admin adds it, as Basic in Payments' Contributors, through the emulator's admin API.
    async with httpx.AsyncClient(verify=ssl.create_default_context(cafile=str(sandbox.ca_path))) as admin:
        added = await admin.post(
            f"{sandbox.urls['admin']}/api/organizations/contoso/service-principal",
            json={"access_level": "express", "projects": {"Payments": "projectContributor"}},
        )
    assert added.status_code in (200, 201), added.text
    second = await http.post("/consent/azure/connect", data={"connection_id": connection_id})
    assert "contoso is connected" in second.text, second.text[second.text.find("<tbody>") :]
    assert "Found 1 project and 3 repositories" in second.text


async def test_connect_button_needs_the_consent_cookie(alice, sandbox, world, http):
    connection_id = await consented(alice, sandbox, http)
    http.cookies.clear()
    refused = await http.post("/consent/azure/connect", data={"connection_id": connection_id})
    assert refused.status_code == 403
    status = (await alice.graphql("{ connections { status lastVerifiedAt } }"))["data"]["connections"][0]
    assert status == {"status": "CONSENT_GRANTED", "lastVerifiedAt": None}


async def test_the_newcomers_walkthrough_on_the_demo_scenario(sandbox, world, settings, db):
    """What `make run` prints, step by step, on the built-in demo scenario with its demo app."""
    demo = demo_world()
    sandbox.holder.replace(demo)
    app_registration = demo.apps[0]
    demo_settings = settings.model_copy(
        update={
            "entra_client_id": app_registration.client_id,
            "entra_client_secret": SecretStr(app_registration.secret),
        }
    )
    app = create_app(demo_settings, run_jobs=False)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http,
    ):
        caller = await new_caller(db, http, "Demo", "admin@contoso.test")
        started = await start(caller, "contoso-demo")
        assert started["__typename"] == "StartAzureConnectionSuccess", started
        page = await connect_in_browser(http, sandbox, started["signInUrl"], DEMO_ADMIN)
        assert page.status_code == 200, page.text
        async with httpx.AsyncClient(verify=ssl.create_default_context(cafile=str(sandbox.ca_path))) as admin:
            url = f"{sandbox.urls['admin']}/api/organizations/contoso-demo/service-principal"
            assert (await admin.post(url, json={})).status_code in (200, 201)
        payload = await connect(caller, started["connection"]["id"])
        assert payload["ok"] is True, payload["checks"]
        repos = (await caller.graphql(REPOS))["data"]["repositories"]
    total = sum(len(p.repositories) for p in sandbox.world.organization("contoso-demo").projects)
    assert repos["totalCount"] == total
    reasons = {e["node"]["name"]: e["node"]["excludedReason"] for e in repos["edges"]}
    assert reasons["platform-scratch"] == "EMPTY" and reasons["payments-legacy"] == "DISABLED"
    assert reasons["mobile-release"] == "IN_MAINTENANCE"
    assert {e["node"]["name"] for e in repos["edges"] if e["node"]["isFork"]} == {"infra-terraform-fork"}
