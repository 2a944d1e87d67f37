"""The admin host: the page and its forms, and the JSON API, over HTTPS."""

from __future__ import annotations

import ssl

import httpx
import pytest

from tests.worlds import CLIENT_ID, CLIENT_SECRET, CONTOSO_TENANT, FABRIKAM_TENANT


@pytest.fixture
def admin(sandbox, world):
    verify = ssl.create_default_context(cafile=str(sandbox.ca_path))
    with httpx.Client(base_url=sandbox.urls["admin"], verify=verify, timeout=10) as client:
        yield client


def form(admin: httpx.Client, action: str, **fields) -> httpx.Response:
    return admin.post(f"/forms/{action}", data=fields, follow_redirects=False)


# --- the page ------------------------------------------------------------------------------------


def test_page_lists_tenants_organizations_and_membership(admin, world):
    page = admin.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    text = page.text
    assert '<html lang="en">' in text
    assert "<h1>Sandbox admin</h1>" in text
    for name in ("Contoso", "Fabrikam", "contoso", "fabrikam", "personal-msa", "Payments", "Open Source"):
        assert name in text
    assert "Revoke consent in Contoso" in text  # Contoso consented
    assert "Grant admin consent in Fabrikam" in text  # Fabrikam did not
    assert "access level <strong>Basic</strong>" in text  # the contoso membership
    assert "Microsoft accounts" in text  # personal-msa is MSA-backed
    assert "<script" not in text  # no JavaScript needed


def test_page_escapes_names(admin, world):
    world.tenants[0].name = 'Evil <script>alert("t")</script>'
    world.organizations[0].projects[0].name = "<img src=x onerror=alert(1)>"
    text = admin.get("/", params={"done": "<b>done</b>"}).text
    assert "<script>" not in text and "<img" not in text and "<b>done" not in text
    assert "Evil &lt;script&gt;alert(&quot;t&quot;)&lt;/script&gt;" in text
    assert "&lt;img src=x onerror=alert(1)&gt;" in text
    assert "&lt;b&gt;done&lt;/b&gt;" in text


def test_forms_play_the_devops_administrator(admin, world):
    org = world.organization("contoso")
    response = form(admin, "remove-member", org="contoso")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/?done=")
    assert org.member(CLIENT_ID) is None
    assert "Add the service principal as Basic" in admin.get("/").text

    assert form(admin, "add-member", org="contoso").status_code == 303
    member = org.member(CLIENT_ID)
    assert member.access_level == "express"
    assert member.projects == {p.name: "projectContributor" for p in org.projects}
    assert member.identity_id

    assert form(admin, "set-access-level", org="contoso", access_level="stakeholder").status_code == 303
    assert org.member(CLIENT_ID).access_level == "stakeholder"
    assert form(admin, "set-access-level", org="contoso", access_level="express").status_code == 303
    assert org.member(CLIENT_ID).access_level == "express"

    assert (
        form(admin, "add-to-project", org="contoso", project="Payments", group="projectReader").status_code
        == 303
    )
    assert org.member(CLIENT_ID).projects["Payments"] == "projectReader"
    assert form(admin, "remove-from-project", org="contoso", project="Payments").status_code == 303
    assert "Payments" not in org.member(CLIENT_ID).projects


def test_form_consent_and_its_refusals(admin, world):
    assert form(admin, "revoke-consent", tenant=CONTOSO_TENANT).status_code == 303
    assert world.tenant(CONTOSO_TENANT).principal(CLIENT_ID) is None
    assert form(admin, "grant-consent", tenant=FABRIKAM_TENANT).status_code == 303
    principal = world.tenant(FABRIKAM_TENANT).principal(CLIENT_ID)
    assert principal is not None and principal.object_id and principal.consented_at
    refused = form(admin, "add-member", org="personal-msa")
    assert refused.status_code == 409
    assert 'role="alert"' in refused.text and "Microsoft accounts" in refused.text
    assert world.organization("personal-msa").members == []
    assert form(admin, "no-such-action").status_code == 404


# --- the JSON API --------------------------------------------------------------------------------


def test_api_membership_actions(admin, world):
    org = world.organization("contoso")
    base = "/api/organizations/contoso/service-principal"
    assert admin.put(base + "/access-level", json={"access_level": "stakeholder"}).json()["ok"] is True
    assert org.member(CLIENT_ID).access_level == "stakeholder"

    bad = admin.put(base + "/access-level", json={"access_level": "platinum"})
    assert bad.status_code == 400 and "access_level" in bad.json()["error"]
    assert org.member(CLIENT_ID).access_level == "stakeholder"

    assert admin.put(base + "/projects/Secret Lab", json={"group": "projectReader"}).status_code == 200
    assert org.member(CLIENT_ID).projects["Secret Lab"] == "projectReader"
    assert admin.put(base + "/projects/Nope", json={}).status_code == 404
    assert admin.delete(base + "/projects/Secret Lab").status_code == 200
    assert "Secret Lab" not in org.member(CLIENT_ID).projects

    assert admin.delete(base).status_code == 200
    assert org.member(CLIENT_ID) is None
    assert admin.delete(base).status_code == 404
    added = admin.post(base, json={"access_level": "express", "projects": {"Payments": "projectContributor"}})
    assert added.status_code == 200
    assert org.member(CLIENT_ID).projects == {"Payments": "projectContributor"}
    assert admin.post(base, json={}).status_code == 409  # already a member
    assert admin.post("/api/organizations/nope/service-principal", json={}).status_code == 404


def test_api_consent_gates_adding_the_service_principal(admin, world):
    fabrikam = "/api/organizations/fabrikam/service-principal"
    refused = admin.post(fabrikam, json={})
    assert refused.status_code == 409 and "consent" in refused.json()["error"]
    assert admin.post(f"/api/tenants/{FABRIKAM_TENANT}/consent").status_code == 200
    assert admin.post(fabrikam, json={}).status_code == 200
    assert world.organization("fabrikam").member(CLIENT_ID).projects == {"Web": "projectContributor"}

    assert admin.delete("/api/tenants/contoso.onmicrosoft.com/consent").status_code == 200
    assert world.tenant(CONTOSO_TENANT).service_principals == []
    assert admin.delete(f"/api/tenants/{CONTOSO_TENANT}/consent").status_code == 404
    assert admin.post("/api/organizations/personal-msa/service-principal", json={}).status_code == 409
    forced = admin.post("/api/organizations/personal-msa/service-principal", json={"force": True})
    assert forced.status_code == 200  # tests may build impossible worlds on purpose


def test_api_acts_on_the_given_client_id(admin, world):
    other = "11111111-2222-4333-8444-555555555555"
    world.apps = [*world.apps, {"client_id": other, "display_name": "Other"}]
    assert (
        admin.post(f"/api/tenants/{CONTOSO_TENANT}/consent", params={"client_id": other}).status_code == 200
    )
    assert world.tenant(CONTOSO_TENANT).principal(other) is not None
    assert world.tenant(CONTOSO_TENANT).principal(CLIENT_ID) is not None


def test_get_world_redacts_secrets_and_round_trips(sandbox, admin, world):
    response = admin.get("/api/world")
    assert response.status_code == 200
    assert CLIENT_SECRET not in response.text
    assert world.slack.bot_token not in response.text
    data = response.json()
    assert data["apps"][0]["secret"] == "(redacted)"
    data["organizations"] = [o for o in data["organizations"] if o["name"] != "fabrikam"]
    assert admin.put("/api/world", json=data).status_code == 200
    assert [o.name for o in sandbox.world.organizations] == ["contoso", "personal-msa"]
    assert admin.get("/api/world").json()["organizations"][0]["name"] == "contoso"


def test_put_world_keeps_the_secret_behind_the_redaction(sandbox, admin, world):
    data = admin.get("/api/world").json()
    assert admin.put("/api/world", json=data).status_code == 200
    assert sandbox.world.apps[0].secret == CLIENT_SECRET
    assert sandbox.world.slack.bot_token == world.slack.bot_token


def test_bad_put_changes_nothing(sandbox, admin, world):
    before = sandbox.world.model_dump()
    bad = admin.put("/api/world", json={"organizations": [{"name": "x", "tenant_id": 5, "bogus": True}]})
    assert bad.status_code == 400
    assert "bogus" in bad.json()["error"]
    assert admin.put("/api/world", content=b"{not json").status_code == 400
    assert admin.put("/api/world", json=[1, 2]).status_code == 400
    assert sandbox.world is world
    assert sandbox.world.model_dump() == before


def test_faults_api(sandbox, admin, world):
    added = admin.post("/api/organizations/contoso/faults", json={"host": "dev", "status": 503, "count": 2})
    assert added.status_code == 200
    assert world.organization("contoso").faults[0].status == 503
    assert (
        admin.post("/api/faults", json={"host": "slack", "status": 429, "retry_after": 2}).status_code == 200
    )
    assert world.faults[0].host == "slack"
    bad = admin.post("/api/organizations/contoso/faults", json={"host": "nowhere"})
    assert bad.status_code == 400 and "host" in bad.json()["error"]
    assert admin.delete("/api/faults").status_code == 200
    assert world.faults == [] and all(o.faults == [] for o in world.organizations)


def test_requests_counts(sandbox, admin, world):
    admin.get("/")
    admin.get("/api/world")
    counts = admin.get("/api/requests").json()
    assert counts["by_host"]["admin"] >= 2
    assert counts["total"] >= 2
    assert counts["by_host_and_status"]["admin 200"] >= 2
    assert counts["recent"][-1]["path"] == "/api/requests"
    assert admin.delete("/api/requests").status_code == 200
    assert admin.get("/api/requests").json()["total"] == 1  # only itself
