"""One row per account: the state of its on-demand budget (see `core/ondemand/budget.py`)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field

from core.db.columns import timestamp
from core.db.table import TableModel


class OndemandBudget(TableModel, table=True):
    __tablename__ = "ondemand_budgets"

    account_id: str = Field(foreign_key="accounts.id", primary_key=True, max_length=36, ondelete="CASCADE")
    # GCRA's "theoretical arrival time": when the account's budget would be whole again if it asked for
    # nothing more. One timestamp is the whole state of a token bucket; every process reads the same row.
    full_at: datetime = Field(sa_column=timestamp())
