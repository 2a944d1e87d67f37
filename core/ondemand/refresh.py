"""`refreshAzureConnection`: concurrent refreshes of one connection run its diagnosis once.

A refresh runs the diagnosis and discovery inline (`flows.connect`: a dozen Azure DevOps requests, seconds),
waiting at most PANOPTICA_REFRESH_WAIT_SECONDS: past that it answers VERIFICATION_RUNNING. While one runs in this process, another refresh of the same connection by the same account joins it: it
waits for that diagnosis and answers its result, spending nothing. A refresh that starts after it finished
runs again, because the admin may just have fixed what the last one reported. A new diagnosis spends one
unit of the account's on-demand budget, so refreshes in a loop (or spread over several API processes, which
share only the database) are bounded by the budget.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from core.accounts.service import Principal
from core.connections import flows
from core.connections.service import ConnectError
from core.ondemand import budget

if TYPE_CHECKING:
    from core.services import Services


# (account id, connection id) -> the diagnosis running in this process. The account is part of the key:
# another account's request must never be answered with this account's result.
RUNNING: dict[tuple[str, str], asyncio.Task] = {}


async def refresh(services: Services, principal: Principal, connection_id: str) -> flows.ConnectResult | None:
    """Re-verify and rediscover. None for an unknown (or another account's) connection; budget.RateLimited
    when a new diagnosis would exceed the account's budget (nothing is called, nothing changes)."""
    key = (principal.account_id, connection_id)
    known = key in RUNNING or await flows.load_connection(services, principal.account_id, connection_id)
    if not known:
        return None  # answered before the budget: an unknown id spends nothing
    task = RUNNING.get(key)  # looked up again: another refresh may have started during the await
    if task is None:
        task = asyncio.ensure_future(diagnose(services, principal, connection_id))
        RUNNING[key] = task
        task.add_done_callback(lambda done: forget(key, done))
    # Shielded: a client that hangs up (or stops waiting, below) does not cancel the diagnosis others wait for.
    try:
        return await asyncio.wait_for(asyncio.shield(task), timeout=services.settings.refresh_wait_seconds)
    except TimeoutError:
        raise still_running(services.settings) from None


def still_running(settings) -> ConnectError:
    """Azure is slow or refusing and retries are under way: answer now; the verification goes on."""
    limit = int(settings.azure_retry_budget_seconds)
    return ConnectError(
        "VERIFICATION_RUNNING",
        f"Azure DevOps is slow to answer, so the verification goes on in the background (retries stop after "
        f"{limit} s). Refresh again to get its result (it joins this verification and costs nothing), or watch "
        "the connection's status and checks.",
    )


async def diagnose(
    services: Services, principal: Principal, connection_id: str
) -> flows.ConnectResult | None:
    await budget.spend_now(services, principal.account_id)
    return await flows.connect(services, principal, connection_id, "refresh")


def forget(key: tuple[str, str], done: asyncio.Task) -> None:
    if RUNNING.get(key) is done:
        del RUNNING[key]
    if not done.cancelled():
        done.exception()  # retrieved here too, so that an outcome nobody waited for is not reported as lost
