"""Playing the customer's admin in the emulator's Entra ID consent page, the way a browser does."""

import re
import ssl
from urllib.parse import urlsplit

import httpx

HIDDEN = re.compile(r'<input type="hidden" name="(\w+)" value="([^"]*)">')


async def decide(sandbox, consent_url: str, decision: str = "accept") -> str:
    """Open the consent page, press Accept or Cancel; return our callback's path and query."""
    async with httpx.AsyncClient(verify=ssl.create_default_context(cafile=str(sandbox.ca_path))) as browser:
        page = await browser.get(consent_url)
        assert page.status_code == 200, page.text
        form = dict(HIDDEN.findall(page.text))
        action = re.search(r'<form method="post" action="([^"]+)"', page.text).group(1)
        answer = await browser.post(sandbox.authority_host + action, data={**form, "decision": decision})
    assert answer.status_code == 302
    location = urlsplit(answer.headers["location"])
    return f"{location.path}?{location.query}"
