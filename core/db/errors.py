"""A database that is missing or cannot be reached, said in one line (commands print it instead of a traceback)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy.engine import make_url


class DatabaseUnavailable(Exception):
    """The configured database does not exist or does not answer; the message is one line, without secrets."""


def where(database_url: str) -> str:
    """The database as a person recognises it: the SQLite file, or the PostgreSQL URL without its password."""
    if database_url.startswith("sqlite"):
        return sqlite_path(database_url) or database_url
    try:
        return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=True)
    except Exception:
        return database_url.split("://", 1)[0] + "://..."


def sqlite_path(database_url: str) -> str:
    return database_url.split("///", 1)[1] if "///" in database_url else ""


def missing_sqlite_file(database_url: str) -> Path | None:
    """The SQLite file that does not exist yet (None on PostgreSQL, in memory, or when it exists)."""
    path = sqlite_path(database_url) if database_url.startswith("sqlite") else ""
    if not path or path == ":memory:" or Path(path).exists():
        return None
    return Path(path)


def describe(error: BaseException, database_url: str) -> str | None:
    """One line for an error that means the database is missing or unreachable; None for any other error."""
    reason = _reason(error)
    return None if reason is None else f"database {where(database_url)} unavailable: {reason}"


def _reason(error: BaseException) -> str | None:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        name = type(current).__name__
        if name == "InvalidCatalogNameError":  # asyncpg: database "x" does not exist
            return _first_line(current)
        if name in ("InvalidPasswordError", "InvalidAuthorizationSpecificationError"):
            return "authentication refused (check the user and password in PANOPTICA_DATABASE_URL)"
        if isinstance(current, sqlite3.OperationalError) and "unable to open" in str(current):
            return "cannot open the SQLite file (does its folder exist and may we write it?)"
        if isinstance(current, ConnectionRefusedError):
            return "connection refused (is PostgreSQL running on that host and port?)"
        if isinstance(current, TimeoutError):
            return "no answer (timed out)"
        if isinstance(current, OSError) and name in ("gaierror", "OSError", "ConnectionError"):
            return _first_line(current) or "cannot connect"
        current = current.__cause__ or current.__context__
    return None


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
