"""CODE (SAST) findings in the console, in a real browser: the CWE and OWASP category beside each, the CODE
category and the CWE and language filters (kept in the URL), and a CWE the API would refuse stopped by the form."""

from __future__ import annotations

import re

from playwright.async_api import expect
from sqlmodel import select

from core.accounts import service as accounts
from core.accounts import sessions
from core.db import session_scope
from core.discovery.models import AzureRepository
from core.findings.models import Finding
from tests.api.seed import seed_repositories
from tests.worlds import ADMIN

SEEDED = (
    ("CODE-PY-001", "SQL built from input", "app/db.py", "CODE"),
    ("CODE-JAVA-010", "Weak hash", "src/Hash.java", "CODE"),
    ("ADO-PIPE-10", "Pipeline step", "azure-pipelines.yml", "PIPELINE"),
)


async def test_code_findings_show_cwe_and_owasp_and_filter(console, console_server, db, world, sandbox):
    tenant, admin = world.user(ADMIN)
    async with session_scope(db) as session:
        account = await accounts.create_account(session, "Acme")
        await sessions.add_member(session, account.id, tenant.id, admin.object_id, ADMIN)
    await seed_repositories(db, account.id, count=1)
    async with session_scope(db) as session:
        repo = (
            await session.exec(select(AzureRepository).where(AzureRepository.account_id == account.id))
        ).one()
        for rule, title, path, category in SEEDED:
            session.add(
                Finding(
                    account_id=account.id,
                    repository_id=repo.id,
                    scanner="semgrep" if category == "CODE" else "pipelines",
                    rule_id=rule,
                    title=title,
                    severity="HIGH",
                    category=category,
                    path=path,
                    line=4,
                    fingerprint=rule,
                )
            )

    page = await console.new_page()
    await page.goto(console_server.url + "/findings")
    await page.get_by_role("button", name=re.compile(re.escape(ADMIN))).click()
    await page.get_by_role("link", name="Findings").click()
    table = page.get_by_role("table")
    python_row = table.get_by_role("row").filter(has_text="SQL built from input")
    await expect(python_row).to_contain_text("CWE-89 · OWASP A03:2021 - Injection")
    await expect(python_row.get_by_role("link", name="CWE-89")).to_have_attribute(
        "href", "https://cwe.mitre.org/data/definitions/89.html"
    )
    await expect(table.get_by_role("row").filter(has_text="Weak hash")).to_contain_text("CWE-327, CWE-328")
    await expect(table.get_by_role("row").filter(has_text="Pipeline step")).not_to_contain_text("CWE")

    await page.get_by_label("Category").select_option("CODE")
    await expect(table.get_by_role("row")).to_have_count(3)  # the header and two CODE findings
    await page.get_by_label("Language (code)").select_option("JAVA")
    await expect(page).to_have_url(re.compile(r"category=CODE.*language=JAVA|language=JAVA.*category=CODE"))
    await expect(table.get_by_role("row")).to_have_count(2)
    await expect(table).to_contain_text("Weak hash")

    await page.get_by_label("Language (code)").select_option("")
    await expect(page).not_to_have_url(re.compile(r"language="))  # the page is drawn again: then type
    await expect(table.get_by_role("row")).to_have_count(3)
    await page.get_by_label("CWE (code)").fill("89")
    await page.get_by_role("button", name="Search").click()
    await expect(page).to_have_url(re.compile(r"cwe=89"))
    await expect(table.get_by_role("row")).to_have_count(2)
    await expect(table).to_contain_text("SQL built from input")

    # Not a CWE id: the browser refuses the form, nothing is sent and the URL keeps the last good filter.
    await page.get_by_label("CWE (code)").fill("SQL injection")
    await page.get_by_role("button", name="Search").click()
    assert await page.get_by_label("CWE (code)").evaluate("input => !input.validity.valid")
    await expect(page).to_have_url(re.compile(r"cwe=89"))
