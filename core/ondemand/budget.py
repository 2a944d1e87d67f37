"""A per-account budget for on-demand work, kept in the database so that every API process shares it.

On-demand work is what a person asks for now: `scanConnection`, `scanRepository`, `refreshAzureConnection`,
`evaluatePosture` and Slack's `/panoptica scan`. Each request that queues (or runs) new work spends one unit;
a request answered by work already queued or running spends nothing.

The budget is a token bucket stored as one timestamp per account (GCRA, the "generic cell rate algorithm"):
an account may make `PANOPTICA_ONDEMAND_BURST` requests at once, then one more every
3600 / `PANOPTICA_ONDEMAND_PER_HOUR` seconds. A refusal says exactly when the next request will be accepted.

Usage, in the transaction that queues the work:

    budget = await hold(session, account_id)   # first: locks the account's row until commit
    ...validate, look for work already queued (answer it: nothing spent)...
    await budget.spend(session, settings)      # RateLimited: roll back, nothing changed
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col

from core import errors
from core.db import session_scope
from core.db.columns import utcnow
from core.ondemand.models import OndemandBudget

if TYPE_CHECKING:
    from core.services import Services


log = logging.getLogger(__name__)
TABLE = OndemandBudget.__table__


class RateLimited(errors.RateLimited):
    """The account spent its on-demand budget; nothing was changed."""

    def __init__(self, retry_after_seconds: int, retry_at: datetime) -> None:
        seconds = retry_after_seconds
        wait = f"{seconds} s" if seconds < 120 else f"{math.ceil(seconds / 60)} min"
        message = (
            f"Too many on-demand requests for this account: try again in {wait} (at {retry_at:%H:%M:%S} UTC)."
        )
        super().__init__(message, retry_after_seconds, retry_at)


def admit(full_at: datetime, now: datetime, burst: int, per_hour: int) -> datetime:
    """GCRA: the account's new `full_at` when one more request is admitted now; RateLimited otherwise.

    `full_at` is when the bucket would be full again; each request pushes it one interval later, and a
    request is admitted while `full_at` stays within `burst` intervals of now.
    """
    interval = timedelta(seconds=3600 / per_hour)
    pushed = max(full_at, now) + interval
    excess = pushed - now - interval * burst
    if excess > timedelta(0):
        seconds = max(1, math.ceil(excess.total_seconds()))
        raise RateLimited(seconds, now + timedelta(seconds=seconds))
    return pushed


@dataclass
class Hold:
    """The account's budget row, locked for the caller's transaction."""

    account_id: str
    full_at: datetime
    now: datetime

    async def spend(self, session, settings) -> None:
        """Spend one unit, or raise RateLimited (the caller's transaction then rolls back)."""
        try:
            self.full_at = admit(self.full_at, self.now, settings.ondemand_burst, settings.ondemand_per_hour)
        except RateLimited as refused:
            log.info(
                "on-demand budget of account %s spent; retry in %s s",
                self.account_id,
                refused.retry_after_seconds,
            )
            raise
        await session.exec(
            update(OndemandBudget)
            .where(col(OndemandBudget.account_id) == self.account_id)
            .values(full_at=self.full_at)
        )


async def hold(session, account_id: str) -> Hold:
    """Create (first use) and lock the account's budget row until the caller's transaction ends.

    Call it first in the transaction: concurrent on-demand requests of one account, in any process, then
    decide one after the other, so two of them can neither both queue the same work nor overspend. One
    upsert does it on both databases: PostgreSQL locks the row it updates; SQLite takes its write lock.
    """
    now = utcnow()
    insert = pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(OndemandBudget)
        .values(account_id=account_id, full_at=now)
        .on_conflict_do_update(index_elements=["account_id"], set_={"full_at": TABLE.c.full_at})
        .returning(TABLE.c.full_at)
    )
    full_at = (await session.exec(statement)).scalar_one()
    return Hold(account_id, full_at, now)


async def spend_now(services: Services, account_id: str) -> None:
    """Spend one unit in a transaction of its own (work that is not queued, e.g. a refresh run inline)."""
    async with session_scope(services.sessions) as session:
        budget = await hold(session, account_id)
        await budget.spend(session, services.settings)
