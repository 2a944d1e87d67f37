"""Imports every table so that `SQLModel.metadata` (migrations, schema tests) sees them all."""

from sqlmodel import SQLModel

from core.accounts.models import Account, ApiToken

__all__ = ["Account", "ApiToken", "SQLModel"]
