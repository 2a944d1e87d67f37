"""The console in a real browser, the integration's whole journey against the emulator: sign in, Add
Repository → Azure → sign-in and consent in a new tab → the instructions overlay → Connect fails with the
fix shown → the service principal is added (the emulator's admin API, as the Azure DevOps admin would) →
Connect succeeds → the Repositories table (filter, search, page, back button) → scan the organization and
watch its progress → a repository's file tree and findings → suppress one → Scan now on the repository →
CI/CD posture → Trends. Each page is saved as a screenshot under var/screenshots/ (for the README).
"""

from __future__ import annotations

import re
import secrets
import ssl
import string
from pathlib import Path

import httpx
from playwright.async_api import Page, expect

from core.accounts import service as accounts
from core.accounts import sessions
from core.accounts.service import Principal
from core.connections import flows
from core.db import session_scope
from core.services import open_services
from tests.signin import grant
from tests.worlds import ADMIN, CONTOSO_TENANT

SCREENSHOTS = Path("var/screenshots")


def github_token() -> str:
    """A real-looking token made at test time (never a committed literal)."""
    return "ghp_" + "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(36))


async def shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 0


def check_row(page: Page, code: str):
    return (
        page.get_by_role("dialog")
        .get_by_role("row")
        .filter(has=page.get_by_role("rowheader", name=re.compile(code)))
    )


async def add_service_principal(sandbox) -> None:
    async with httpx.AsyncClient(verify=ssl.create_default_context(cafile=str(sandbox.ca_path))) as admin:
        added = await admin.post(
            f"{sandbox.urls['admin']}/api/organizations/contoso/service-principal",
            json={
                "access_level": "express",
                "projects": {"Payments": "projectContributor", "Platform": "projectContributor"},
            },
        )
    assert added.status_code in (200, 201), added.text


async def test_the_integration_journey_in_the_console(console, console_server, db, world, sandbox):
    # Contoso has not consented yet and our service principal is not in the organization.
    world.tenant(CONTOSO_TENANT).service_principals.clear()
    contoso = world.organization("contoso")
    contoso.members.clear()
    api = contoso.project("Payments").repositories[0]
    api.files = {
        "README.md": "# payments-api\n",
        "deploy/release.sh": f"#!/bin/sh\nexport GH_TOKEN={github_token()}\necho deploying\n",
    }
    api.head_commit = api.tree_digest()
    tenant, admin = world.user(ADMIN)
    async with session_scope(db) as session:
        account = await accounts.create_account(session, "Acme")
        await sessions.add_member(session, account.id, tenant.id, admin.object_id, ADMIN)

    page = await console.new_page()
    base = console_server.url
    # Everything the console loads comes from us (the sign-in pages are Microsoft's: the emulator's login host);
    # nothing breaks its Content-Security-Policy.
    requests: list[str] = []
    violations: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)

    # Sign in: the console sends the browser to Microsoft's page; one click on the demo admin.
    await page.goto(base + "/")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Pick an account")
    await page.get_by_role("button", name=re.compile(re.escape(ADMIN))).click()
    await page.wait_for_url(base + "/")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Repositories")
    await expect(page.get_by_text("No repositories yet.")).to_be_visible()
    await expect(page.get_by_text(f"{ADMIN} · Acme")).to_be_visible()
    assert await page.evaluate("document.cookie") == ""  # the session cookie is HttpOnly
    await shot(page, "01-repositories-empty")
    # The keyboard: the first Tab reaches "Skip to content", which moves the focus to the page's content.
    await page.keyboard.press("Tab")
    await expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(page.locator("#main")).to_be_focused()

    # +Add Repository → Azure DevOps → organization → sign-in and consent in a new tab.
    await page.get_by_role("link", name="+ Add Repository").click()
    provider = page.get_by_label("Source-code provider")
    await expect(provider.locator("option", has_text="GitHub (not available yet)")).to_be_disabled()
    await provider.select_option("AZURE_DEVOPS")
    await page.get_by_label("Azure DevOps organization").fill("contoso")
    async with console.expect_page() as opened:
        await page.get_by_role("button", name="Sign in and consent").click()
    tab = await opened.value
    await expect(tab.get_by_role("heading", level=1)).to_have_text("Pick an account")
    dialog = page.get_by_role("dialog", name="Connect contoso")
    await expect(dialog).to_contain_text("Waiting for an administrator of contoso")
    await tab.get_by_role("button", name=re.compile(re.escape(ADMIN))).click()
    await expect(tab.get_by_role("heading", level=1)).to_have_text("Permissions requested")
    await tab.get_by_role("button", name="Accept").click()
    await expect(tab.get_by_role("heading", level=1)).to_have_text("Consent granted for contoso")
    await tab.close()

    # The overlay now shows the organization's instructions, then Connect fails with the fix.
    users = "https://dev.azure.com/contoso/_settings/users"
    await expect(dialog.get_by_role("link", name=users)).to_have_attribute("href", users)
    await expect(dialog.get_by_role("list")).to_contain_text("Project Contributors")
    await shot(page, "02-connect-instructions")
    await dialog.get_by_role("button", name="Connect").click()
    await expect(dialog.get_by_role("alert")).to_contain_text("contoso is not connected yet")
    failing = check_row(page, "SERVICE_PRINCIPAL_MEMBER")
    await expect(failing.get_by_role("cell").first).to_have_text("FAIL")
    await expect(failing).to_contain_text("choose Add users")  # how to fix it
    await shot(page, "03-connect-diagnosis")

    await add_service_principal(sandbox)
    await dialog.get_by_role("button", name="Connect").click()
    await expect(dialog.get_by_role("status").last).to_contain_text("contoso is connected")
    await expect(check_row(page, "SERVICE_PRINCIPAL_MEMBER").get_by_role("cell").first).to_have_text("PASS")
    await dialog.get_by_role("link", name="Show the repositories").click()

    # The table, its filters, search and paging; the URL keeps them and the back button works.
    table = page.get_by_role("table")
    filters = page.get_by_role("search", name="Filter repositories")
    await expect(table.get_by_role("rowheader", name="payments-api")).to_be_visible()
    await expect(table.get_by_role("rowheader", name="infra", exact=True)).to_be_visible()
    await shot(page, "04-repositories")
    await filters.get_by_label("Search").fill("payments-")
    await expect(page).to_have_url(re.compile(r"q=payments-"))
    await expect(table.get_by_role("rowheader")).to_have_text(["payments-api", "payments-web"])
    await expect(filters.get_by_label("Search")).to_be_focused()  # typing on is not interrupted
    await filters.get_by_label("Search").fill("")
    await expect(page).not_to_have_url(re.compile(r"q="))
    await expect(table.get_by_role("rowheader")).to_have_count(5)
    await filters.get_by_label("Page size").select_option("2")
    await expect(page).to_have_url(re.compile(r"size=2"))
    await expect(table.get_by_role("rowheader")).to_have_count(2)
    await expect(page.get_by_role("navigation", name="Pages")).to_contain_text("5 repositories")
    first_page = await table.get_by_role("rowheader").all_text_contents()
    await page.get_by_role("button", name="Next").click()
    await expect(page).to_have_url(re.compile(r"after="))
    await expect(table.get_by_role("rowheader")).not_to_have_text(first_page)
    await page.go_back()
    await expect(table.get_by_role("rowheader")).to_have_text(first_page)
    await filters.get_by_label("Page size").select_option("25")
    await expect(page).to_have_url(re.compile(r"size=25"))
    # The page of 25 is shown (all five) before the next choice: the filters are drawn again with the page.
    await expect(table.get_by_role("rowheader")).to_have_count(5)
    await filters.get_by_label("Scan status").select_option("NEVER_SCANNED")
    await expect(page).to_have_url(re.compile(r"status=NEVER_SCANNED"))
    await expect(table.get_by_role("rowheader", name="payments-api")).to_be_visible()
    # Choose and reorder columns (kept in the URL, and for next time).
    await page.get_by_role("button", name="Columns").click()
    await page.locator("#columns-panel").get_by_label("Project", exact=True).uncheck()
    await expect(table.get_by_role("columnheader")).to_have_text(
        ["Repository", "Organization", "Scan status", "Last scanned", "Open findings"]
    )
    await page.get_by_role("button", name="Columns").click()
    await page.get_by_role("button", name="Move Open findings up").click()
    await expect(table.get_by_role("columnheader")).to_have_text(
        ["Repository", "Organization", "Scan status", "Open findings", "Last scanned"]
    )
    await expect(page).to_have_url(re.compile(r"cols=name%2Corganization%2Cstatus%2Cfindings%2ClastScanned"))

    # Scan the organization and follow it to the end.
    await page.get_by_role("link", name="Scans").click()
    await page.get_by_role("button", name="Scan contoso now").click()
    progress = page.locator(".progress")
    await expect(progress).to_contain_text("repositories scanned", timeout=30_000)
    await expect(progress).to_contain_text("Scan finished.", timeout=90_000)
    await expect(progress).to_contain_text("3 of 3 repositories scanned")
    await expect(page.get_by_role("table")).to_contain_text("payments-api")
    await shot(page, "05-scans")

    # The repository page: its file tree, the finding, suppress it.
    await page.get_by_role("link", name="Repositories").click()
    await filters.get_by_label("Scan status").select_option("")
    await expect(table.get_by_role("rowheader", name="payments-api")).to_be_visible()
    payments = table.get_by_role("row").filter(has=page.get_by_role("rowheader", name="payments-api"))
    await expect(payments.get_by_role("img")).to_have_attribute(
        "aria-label", re.compile(r"[1-9]\d* critical")
    )
    await payments.get_by_role("link", name="payments-api").click()
    tree = page.get_by_role("navigation", name="Files with findings")
    await tree.get_by_role("link", name=re.compile("release.sh")).click()
    await expect(page.get_by_role("heading", level=2, name="deploy/release.sh")).to_be_visible()
    # The head scan's finding, and the history scan's of the same secret (on by default), still in the head.
    finding = page.get_by_role("article", name="CRITICAL GitHub token", exact=True)
    in_history = page.get_by_role("article", name="CRITICAL GitHub token in git history")
    await expect(in_history).to_contain_text("In head")
    await expect(finding).to_contain_text("line 2")
    await expect(finding).to_contain_text("ghp_…")
    # The link to that line at the scanned commit in Azure DevOps.
    line = finding.get_by_role("link", name="Line 2 in Azure DevOps")
    await expect(line).to_have_attribute(
        "href", re.compile(r"/contoso/Payments/_git/payments-api\?.*release\.sh.*")
    )
    await expect(line).to_have_attribute("href", re.compile(r"line=2"))
    await shot(page, "06-repository")
    await finding.get_by_role("button", name="Suppress…").click()
    await finding.get_by_label("Reason").fill("Revoked on GitHub; rotating the script")
    await finding.get_by_role("button", name="Suppress finding").click()
    await expect(finding).to_have_count(0)
    # The history finding is its own: the secret was committed, so it stays open until rotated and suppressed.
    await expect(in_history).to_have_count(1)
    await expect(tree.get_by_role("link", name=re.compile("release.sh"))).to_have_count(1)
    await page.get_by_role("link", name="Show suppressed too").click()
    suppressed = page.get_by_role("article", name="CRITICAL GitHub token", exact=True)
    await expect(suppressed).to_contain_text("Suppressed: Revoked on GitHub; rotating the script")

    # Scan now on the repository: the run's status until it ends.
    await page.get_by_role("button", name="Scan now").click()
    await expect(page.locator(".progress")).to_contain_text(re.compile(r"SUCCEEDED|PARTIAL"), timeout=60_000)
    await expect(page.locator(".progress")).to_contain_text("reused")
    await shot(page, "07-repository-rescanned")

    # CI/CD posture of the connection; Trends from the stored runs.
    await page.get_by_role("link", name="CI/CD posture").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("CI/CD posture: contoso")
    await expect(page.locator(".summary")).to_contain_text("Failed")
    await expect(page.get_by_role("heading", name=re.compile("^Project Payments"))).to_be_visible()
    await shot(page, "08-posture")
    await page.get_by_role("link", name="Trends").click()
    await expect(page.get_by_role("img", name=re.compile("Open findings over time"))).to_be_visible()
    await expect(page.get_by_role("table", name="Per day")).to_contain_text("1")
    await shot(page, "09-trends")

    # Findings across repositories, searched.
    await page.get_by_role("link", name="Findings").click()
    await page.get_by_label("Status").select_option("SUPPRESSED")
    await expect(page.get_by_role("table")).to_contain_text("GitHub token")
    await shot(page, "10-findings")

    # Settings: an API token created (shown once, works for a program), then revoked; the audit log.
    await page.get_by_role("link", name="Settings").click()
    await page.get_by_role("button", name="Create an API token").click()
    token = await page.locator("#new-token code").text_content()
    assert token and token.startswith("pan_")
    async with httpx.AsyncClient(base_url=base) as program:
        query = {"query": "{ apiTokens { id } }"}
        headers = {"Authorization": f"Bearer {token}"}
        assert (await program.post("/graphql", json=query, headers=headers)).status_code == 200
        await page.get_by_role("button", name=re.compile("^Revoke the token")).click()
        await expect(page.get_by_role("table").first).to_contain_text("revoked")
        assert (await program.post("/graphql", json=query, headers=headers)).status_code == 401
    await page.reload()
    await expect(page.get_by_role("table").last).to_contain_text("api_token.revoked")
    await shot(page, "12-settings")

    # On a phone's width the table still reads (rows become blocks).
    await page.set_viewport_size({"width": 390, "height": 844})
    await page.get_by_role("link", name="Repositories").click()
    await expect(table.get_by_role("rowheader", name="payments-api")).to_be_visible()
    await shot(page, "11-repositories-phone")

    # Sign out: the console is gone until the next sign-in.
    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("You are signed out")
    await page.goto(base + "/repositories")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Pick an account")
    login = console_server.settings.entra_authority_host
    assert [url for url in requests if not url.startswith((base + "/", login + "/"))] == []
    assert any(url.startswith(base + "/console/static/") for url in requests)
    assert violations == []


# A connection that became DEGRADED (the service principal was removed from the organization after it was
# connected): the console says so above the Repositories table, and its check page shows each check with what
# was seen and how to fix it; once the admin adds the principal back, Connect recovers it.
async def test_a_degraded_connection_shows_why_and_recovers(console, console_server, db, world, sandbox):
    tenant, admin = world.user(ADMIN)
    async with session_scope(db) as session:
        account = await accounts.create_account(session, "Acme")
        await sessions.add_member(session, account.id, tenant.id, admin.object_id, ADMIN)
    principal = Principal(account.id, ADMIN, "")
    async with open_services(console_server.settings) as services:
        started = await flows.start(services, principal, "contoso")
        await grant(services, started)
        assert (await flows.connect(services, principal, started.connection.id)).diagnosis.ok
        world.organization("contoso").members.clear()  # an Azure DevOps admin removed our principal
        result = await flows.connect(services, principal, started.connection.id, action="refresh")
        assert result.connection.status == "DEGRADED"

    page = await console.new_page()
    await page.goto(console_server.url + "/repositories")
    await page.get_by_role("button", name=re.compile(re.escape(ADMIN))).click()
    notice = page.get_by_role("alert").filter(has_text="contoso is degraded")
    await expect(notice).to_contain_text("not a member of organization 'contoso'")
    await shot(page, "13-repositories-degraded")
    await notice.get_by_role("link", name="Check the connection").click()

    dialog = page.get_by_role("dialog", name="Connect contoso")
    await expect(dialog).to_contain_text("This connection is degraded.")
    failing = check_row(page, "SERVICE_PRINCIPAL_MEMBER")
    await expect(failing.get_by_role("cell").first).to_have_text("FAIL")
    await expect(failing).to_contain_text("choose Add users")
    await shot(page, "14-degraded-checks")

    await add_service_principal(sandbox)
    await dialog.get_by_role("button", name="Connect").click()
    await expect(dialog.get_by_role("status").last).to_contain_text("contoso is connected")
    await dialog.get_by_role("link", name="Show the repositories").click()
    await expect(page.get_by_role("alert").filter(has_text="degraded")).to_have_count(0)
    await expect(page.get_by_role("table").get_by_role("rowheader", name="payments-api")).to_be_visible()
