"""The service's key for hashing found secrets: stable across restarts, never logged."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from core.settings import Settings


def secret_hash_key(settings: Settings) -> bytes:
    """PANOPTICA_SECRET_HASH_KEY in production; the embedded default keeps a generated key under ./var/."""
    if settings.secret_hash_key is not None:
        return settings.secret_hash_key.get_secret_value().encode()
    path = Path(settings.key_directory) / "secret-hash.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_hex(32))
    return path.read_text().strip().encode()
