"""Secrets found in git history, in the console in a real browser: the repository is scanned for real (Scan now,
the emulator's git over smart HTTP), then a secret committed and deleted says "Only in history" with its
occurrence (commit, file, line, date, author as git records it) and the remediation to rotate it, a secret still
in the files says "In head", the repository page says how much history was read, and the findings filter keeps
only one kind or the other in the URL; a history that goes on past the bound says where the scan stopped."""

from __future__ import annotations

import re
import secrets
import string

import pytest
from playwright.async_api import expect
from sqlmodel import select

from core.accounts import service as accounts
from core.accounts import sessions
from core.accounts.service import Principal
from core.connections import flows
from core.db import session_scope
from core.discovery.models import AzureRepository
from core.services import open_services
from sandbox import gitrepos
from sandbox.scenario import Commit
from tests.signin import grant
from tests.worlds import ADMIN


@pytest.fixture
def settings(settings):
    """A bound of three commits for this module's server: the first test's three are read whole, the last
    test's twelve stop at it."""
    return settings.model_copy(update={"history_max_commits": 3})


def github_token() -> str:
    """A real-looking token made at test time (never a committed literal); always with a digit."""
    return "ghp_1" + "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(35))


async def connect_contoso(settings, db, world) -> tuple[str, str]:
    """The console admin's account, connected to the emulator's contoso: (account id, payments-api's id)."""
    tenant, admin = world.user(ADMIN)
    async with session_scope(db) as session:
        account = await accounts.create_account(session, "Acme")
        await sessions.add_member(session, account.id, tenant.id, admin.object_id, ADMIN)
    async with open_services(settings) as services:
        principal = Principal(account.id, ADMIN, "")
        started = await flows.start(services, principal, "contoso")
        await grant(services, started)
        assert (await flows.connect(services, principal, started.connection.id)).diagnosis.ok
    async with db() as session:
        repo = (
            await session.exec(
                select(AzureRepository).where(
                    AzureRepository.account_id == account.id, AzureRepository.name == "payments-api"
                )
            )
        ).one()
    return account.id, repo.id


async def test_history_findings_show_where_the_secret_is_with_its_occurrences(
    console,
    console_server,
    db,
    world,
    sandbox,
):
    deleted, kept = github_token(), github_token()
    repo = world.organization("contoso").project("Payments").repositories[0]
    repo.files = {"README.md": "# payments-api\n", "ci/deploy.sh": f"export GH_TOKEN={kept}\n"}
    repo.generated_commits = 0
    gitrepos.rewrite(
        repo,
        [
            Commit(
                message="Add the release settings",
                author="Dana Developer",
                files={"config/old.env": f"# release\nGITHUB_TOKEN={deleted}\n"},
                days_ago=30,
            ),
            Commit(
                message="Move the token to the pipeline library", files={"config/old.env": None}, days_ago=29
            ),
        ],
    )
    introducing = gitrepos.build_history(repo).commits[0]
    _, repository_id = await connect_contoso(console_server.settings, db, world)

    page = await console.new_page()
    base = console_server.url
    await page.goto(f"{base}/repositories/{repository_id}")
    await page.get_by_role("button", name=re.compile(re.escape(ADMIN))).click()
    await expect(page.get_by_text("Git history: not scanned yet.")).to_be_visible()
    await page.get_by_role("button", name="Scan now").click()
    await expect(page.locator(".progress")).to_contain_text("SUCCEEDED", timeout=90_000)
    await page.reload()

    # How much history was read (two scenario commits and the head's files), nothing stopped it.
    history = page.get_by_role("group", name="Git history scan")
    await expect(history).to_contain_text("Git history: 3 commits scanned")
    await expect(history).to_contain_text("3 new commit(s) scanned, 2 secret occurrence(s) found")
    await expect(history.get_by_role("note")).to_have_count(0)

    # The deleted secret: only in history, where it was added, and the remediation open: rotate it.
    tree = page.get_by_role("navigation", name="Files with findings")
    await tree.get_by_role("link", name=re.compile("old.env")).click()
    await expect(page.get_by_role("heading", level=2, name="config/old.env")).to_be_visible()
    finding = page.get_by_role("article").filter(has_text="in git history")
    await expect(finding).to_have_count(1)
    await expect(finding.locator(".badge.history-only")).to_have_text("Only in history")
    occurrences = finding.get_by_role("table")
    await expect(occurrences.get_by_role("columnheader")).to_have_text(
        ["Commit", "File", "Line", "Date", "Author", "Where"]
    )
    body = occurrences.locator("tbody tr")
    await expect(body).to_have_count(1)
    await expect(body.get_by_role("cell")).to_have_text(
        [
            introducing[:12],
            "config/old.env",
            "2",
            re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d UTC$"),
            "Dana Developer",
            "only in history",
        ]
    )
    await expect(body.get_by_role("cell").first).to_have_attribute("title", introducing)
    fix = finding.locator("details")
    await expect(fix).to_have_attribute("open", "")
    await expect(fix).to_contain_text("Rotate the credential")
    assert deleted not in await page.content() and kept not in await page.content()

    # The secret still in the files: the history finding says so, beside the head scan's own finding.
    await tree.get_by_role("link", name=re.compile("deploy.sh")).click()
    await expect(page.get_by_role("heading", level=2, name="ci/deploy.sh")).to_be_visible()
    in_head = page.get_by_role("article").filter(has_text="in git history")
    await expect(in_head.locator(".badge.in-head")).to_have_text("In head")
    await expect(in_head.get_by_role("table").locator("tbody tr")).to_contain_text("still in the head")
    head_scan = page.get_by_role("article").filter(has_not_text="in git history")
    await expect(head_scan).to_have_count(1)
    await expect(head_scan.locator(".badge.history-only, .badge.in-head")).to_have_count(0)

    # The findings list: the badges, and the filter (kept in the URL) for one kind or the other.
    await page.get_by_role("link", name="Findings").click()
    table = page.get_by_role("table")
    await expect(table.get_by_role("row")).to_have_count(4)  # the header, two history findings, the head one
    await page.get_by_label("Git history (secrets)").select_option("only")
    await expect(page).to_have_url(re.compile(r"history=only"))
    await expect(table.get_by_role("row")).to_have_count(2)
    await expect(table.get_by_role("row").last).to_contain_text("Only in history")
    await expect(table.get_by_role("row").last).to_contain_text("config/old.env")
    await page.get_by_label("Git history (secrets)").select_option("head")
    await expect(page).to_have_url(re.compile(r"history=head"))
    await expect(table.get_by_role("row")).to_have_count(2)
    await expect(table.get_by_role("row").last).to_contain_text("In head")
    await expect(table.get_by_role("row").last).to_contain_text("ci/deploy.sh")
    await page.reload()  # the URL alone draws the same filter
    await expect(page.get_by_label("Git history (secrets)")).to_have_value("head")
    await expect(table.get_by_role("row")).to_have_count(2)


async def test_the_repository_page_says_where_the_history_scan_stopped_at_the_bound(
    console,
    console_server,
    db,
    world,
    sandbox,
):
    repo = world.organization("contoso").project("Payments").repositories[0]
    repo.files = {"README.md": "# payments-api\n"}
    repo.generated_commits = 12
    gitrepos.rewrite(repo, [])
    commits = gitrepos.build_history(repo).commits  # oldest first; the scan reads the newest three
    _, repository_id = await connect_contoso(console_server.settings, db, world)

    page = await console.new_page()
    await page.goto(f"{console_server.url}/repositories/{repository_id}")
    await page.get_by_role("button", name=re.compile(re.escape(ADMIN))).click()
    await page.get_by_role("button", name="Scan now").click()
    await expect(page.locator(".progress")).to_contain_text("SUCCEEDED", timeout=90_000)
    await page.reload()
    history = page.get_by_role("group", name="Git history scan")
    await expect(history).to_contain_text(
        f"Git history: 3 commits scanned · oldest commit read {commits[-3][:12]}"
    )
    await expect(history.get_by_role("note")).to_have_text(
        "Stopped at the bound: The first history scan stopped at the bound (730 days or 3 commits, whichever "
        "came first: PANOPTICA_HISTORY_MAX_DAYS, PANOPTICA_HISTORY_MAX_COMMITS); older commits were not scanned."
    )
