"""Azure DevOps organization names: the only way a customer-typed name becomes part of a URL."""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit

from core.azure.errors import InvalidOrganization, shorten

# Letters, digits and hyphens; starts and ends with a letter or digit; at most 50 characters.
ORGANIZATION_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,48}[A-Za-z0-9])?$")
MAX_INPUT = 2048  # anything longer is not an organization URL; refuse before parsing
NEW_HOST = "dev.azure.com"
LEGACY_SUFFIX = ".visualstudio.com"


def parse_organization(text: str) -> str:
    """The organization name (lowercase) from `contoso`, `https://dev.azure.com/contoso[/...]` or
    `https://contoso.visualstudio.com[/...]`. Raises InvalidOrganization for anything else."""
    raw = (text or "").strip()
    if not raw or len(raw) > MAX_INPUT:
        raise _invalid(raw)
    candidate = _name_from_url(raw) if ("/" in raw or "." in raw or ":" in raw) else raw
    if candidate is None or not ORGANIZATION_NAME.fullmatch(candidate):
        raise _invalid(raw)
    return candidate.lower()


def is_valid_organization(name: str) -> bool:
    return bool(ORGANIZATION_NAME.fullmatch(name or ""))


def path_segment(value: str) -> str:
    """URL-encode one path segment (project names have spaces; nothing may add a `/` or `..`)."""
    encoded = quote(str(value), safe="")
    if encoded in ("", ".", ".."):
        raise ValueError("empty or relative path segment")
    return encoded


def _name_from_url(raw: str) -> str | None:
    # Accept the host without a scheme too (people paste `dev.azure.com/contoso`), but only https.
    url = raw if "://" in raw else f"https://{raw}"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme.lower() != "https" or parts.username or parts.password or port not in (None, 443):
        return None
    host = (parts.hostname or "").lower()
    if host == NEW_HOST:
        segments = [s for s in parts.path.split("/") if s]
        return segments[0] if segments else None
    if host.endswith(LEGACY_SUFFIX) and host.count(".") == 2:
        return host.removesuffix(LEGACY_SUFFIX)
    return None


def _invalid(raw: str) -> InvalidOrganization:
    shown = shorten(raw, 60) if raw else "(empty)"
    return InvalidOrganization(
        f"'{shown}' is not a valid Azure DevOps organization. Enter its name (e.g. contoso) or URL "
        "(https://dev.azure.com/contoso or https://contoso.visualstudio.com)."
    )
