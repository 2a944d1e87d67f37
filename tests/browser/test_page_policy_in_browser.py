"""Our pages under their Content-Security-Policy in a real browser: the stylesheet (allowed by its hash) applies,
nothing is reported as a violation, and a script injected into the page does not run."""

import contextlib

from playwright.async_api import Page, expect


async def test_the_consent_page_renders_under_its_policy_and_runs_no_injected_script(page: Page, live_server):
    violations: list[str] = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    response = await page.goto(f"{live_server.url}/consent/azure/callback?state=forged")
    assert response is not None and response.status == 400
    notice = page.get_by_role("alert")
    await expect(notice).to_be_visible()
    # The layout's stylesheet applied: the notice has its red left border.
    assert await notice.evaluate("e => getComputedStyle(e).borderLeftColor") == "rgb(176, 0, 32)"
    assert violations == []
    # An inline script (what an injection would add) is refused by the policy.
    with contextlib.suppress(Exception):  # Playwright may report the refused script as an error
        await page.add_script_tag(content="window.injected = true;")
    assert await page.evaluate("() => window.injected === undefined")
    assert any("script" in violation for violation in violations), violations
