"""GraphiQL in a real browser: the page loads from our origin only (no CDN, nothing else contacted), runs under
its strict Content-Security-Policy, and a query with an API token in the Headers tab answers."""

import json

from playwright.async_api import Page, expect

QUERY = "{ scmProviders { name available } }"


async def set_editor(page: Page, selector: str, text: str) -> None:
    """Replace an editor's text as a person pasting it would: click in, select all, insert."""
    editor = page.locator(f"{selector} >> visible=true").first
    await editor.click()
    await page.keyboard.press("Control+A")
    await page.keyboard.insert_text(text)
    await expect(editor).to_contain_text(text[:20])


async def result_text(page: Page) -> str:
    return await page.evaluate(
        "() => document.querySelector('.graphiql-response .CodeMirror').CodeMirror.getValue()"
    )


async def test_graphiql_runs_a_query_with_an_api_token_and_contacts_no_other_origin(
    page: Page, live_server, api
):
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    violations: list[str] = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    failed: list[str] = []
    page.on("pageerror", lambda error: failed.append(str(error)))

    response = await page.goto(f"{live_server.url}/graphql")
    assert response is not None and response.status == 200
    run = page.get_by_role("button", name="Execute query (Ctrl-Enter)")
    await expect(run).to_be_visible()

    await set_editor(page, ".graphiql-query-editor .CodeMirror", QUERY)
    # Without a token the API says why (and GraphiQL shows it).
    await page.get_by_role("button", name="Headers").click()
    await set_editor(page, ".graphiql-editor-tool .CodeMirror", "{}")
    await run.click()
    await expect(page.locator(".graphiql-response")).to_contain_text("Missing or invalid API token")

    await set_editor(
        page, ".graphiql-editor-tool .CodeMirror", json.dumps({"Authorization": f"Bearer {api.token}"})
    )
    await run.click()
    await expect(page.locator(".graphiql-response")).to_contain_text("Azure DevOps")
    answer = json.loads(await result_text(page))
    assert {"name": "Azure DevOps", "available": True} in answer["data"]["scmProviders"]

    assert failed == [] and violations == []
    foreign = [
        url for url in requested if not url.startswith(live_server.url) and not url.startswith("data:")
    ]
    assert foreign == [], foreign
    assert any(url.endswith("/graphql/assets/graphiql.min.js") for url in requested)
