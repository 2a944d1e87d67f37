"""The connect flow as an administrator walks it: Microsoft sign-in, consent page, Accept, callback page,
Connect, result; and a developer who is not an administrator, refused."""

import re
import ssl

import httpx
from playwright.async_api import Page, expect

from tests.worlds import ADMIN, CONTOSO_TENANT, DEVELOPER

START = """mutation($org: String!) { startAzureConnection(organization: $org) { __typename
  ... on StartAzureConnectionSuccess { signInUrl connection { id status } }
  ... on UserError { code message } } }"""


async def start_connection(api, world, organization: str = "contoso") -> str:
    world.tenant(CONTOSO_TENANT).service_principals.clear()  # the tenant's admin has not consented yet
    result = await api.graphql(START, org=organization)
    started = result["data"]["startAzureConnection"]
    assert started["__typename"] == "StartAzureConnectionSuccess", started
    return started["signInUrl"]


def check_result(page: Page, code: str):
    """The Result cell of one row of the checks table, found by its row header."""
    row = page.get_by_role("row").filter(has=page.get_by_role("rowheader", name=code))
    return row.get_by_role("cell").first


async def sign_in_as(page: Page, sign_in_url: str, upn: str) -> None:
    await page.goto(sign_in_url)
    await expect(page.get_by_role("heading", level=1)).to_have_text("Pick an account")
    await page.get_by_role("button", name=re.compile(re.escape(upn))).click()


async def test_consent_accept_then_connect(api, page, live_server, sandbox, world, tmp_path):
    sign_in_url = await start_connection(api, world)

    await sign_in_as(page, sign_in_url, ADMIN)
    await expect(page.get_by_role("heading", level=1)).to_have_text("Permissions requested")
    await page.get_by_role("button", name="Accept").click()

    await page.wait_for_url(re.compile(re.escape(f"{live_server.url}/consent/azure/callback") + r"\?"))
    await expect(page.get_by_role("heading", level=1)).to_have_text("Consent granted for contoso")
    users = "https://dev.azure.com/contoso/_settings/users"
    await expect(page.get_by_role("link", name=users)).to_have_attribute("href", users)
    steps = page.get_by_role("list")
    await expect(steps).to_contain_text("Basic")
    await expect(steps).to_contain_text("Project Contributors")
    # The Connect button is authorized by a cookie that page scripts cannot read.
    assert await page.evaluate("document.cookie") == ""

    # The administrator presses Connect before adding the service principal to Azure DevOps.
    world.organization("contoso").members.clear()
    await page.get_by_role("button", name="Connect").click()
    await page.wait_for_url(f"{live_server.url}/consent/azure/connect")
    await expect(page.get_by_role("heading", level=1)).to_have_text("contoso is not connected yet")
    await expect(check_result(page, "SERVICE_PRINCIPAL_MEMBER")).to_have_text("FAIL")

    # ...adds it (Basic, Payments' contributors) the way the Azure DevOps admin would, and presses Connect again.
    async with httpx.AsyncClient(verify=ssl.create_default_context(cafile=str(sandbox.ca_path))) as admin:
        added = await admin.post(
            f"{sandbox.urls['admin']}/api/organizations/contoso/service-principal",
            json={"access_level": "express", "projects": {"Payments": "projectContributor"}},
        )
    assert added.status_code in (200, 201), added.text
    await page.get_by_role("button", name="Connect").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("contoso is connected")
    await expect(page.get_by_role("status")).to_contain_text("Found 1 project and 3 repositories")
    table = page.get_by_role("link", name="Repositories table")
    await expect(table).to_have_attribute("href", "/repositories?org=contoso")  # the console's page
    await expect(check_result(page, "SERVICE_PRINCIPAL_MEMBER")).to_have_text("PASS")

    screenshot = tmp_path / "connected.png"
    await page.screenshot(path=str(screenshot), full_page=True)
    assert screenshot.stat().st_size > 0


async def test_a_developer_is_refused_at_sign_in(api, page, live_server, world):
    sign_in_url = await start_connection(api, world)

    await sign_in_as(page, sign_in_url, DEVELOPER)
    await page.wait_for_url(re.compile(re.escape(f"{live_server.url}/signin/azure/callback") + r"\?"))
    await expect(page.get_by_role("alert")).to_contain_text("not a Project Collection Administrator")


async def test_consent_cancelled_offers_retry(api, page, live_server, world):
    sign_in_url = await start_connection(api, world)

    await sign_in_as(page, sign_in_url, ADMIN)
    await page.get_by_role("button", name="Cancel").click()

    await page.wait_for_url(re.compile(re.escape(f"{live_server.url}/consent/azure/callback") + r"\?"))
    await expect(page.get_by_role("heading", level=1)).to_have_text("Consent was not granted for contoso")
    retry = page.get_by_role("link", name="Try again")
    await expect(retry).to_be_visible()
    await expect(retry).to_have_attribute("href", re.compile(r"^https://127\.0\.0\.1:\d+/.+/adminconsent\?"))
