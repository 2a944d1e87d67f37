"""Slack tells whoever asked how their `/panoptica scan` ended (once, even when the report's job runs twice),
`status` shows repositories whose latest scan failed, and `subscriptions` says when digests are sent."""

import asyncio
import json

from sqlmodel import select

from core.jobs import service as jobs
from core.jobs.models import Job
from core.scans.models import ScanRun
from core.slack import feedback
from tests.api.seed import seed_repositories


async def wait_for_reply(bot, marker: str, rounds: int = 40) -> list[str]:
    """The report comes from a job that looks at the run every few seconds: run the jobs until it is there."""
    for _ in range(rounds):
        found = [r for r in bot.replies() if marker in r]
        if found:
            return found
        await asyncio.sleep(1)
        await bot.run_jobs()
    raise AssertionError(f"no reply with {marker!r}: {bot.replies()[-3:]}")


async def test_a_failed_scan_is_reported_once_with_its_reason_and_shows_in_status(bot, db):
    await bot.link()
    # A connection whose tenant Entra ID does not know: the scan really runs against the emulator and fails.
    await seed_repositories(bot.db, bot.caller.account_id, 2)
    await bot.command("scan proj-1/repo-001")
    assert "Scan of `repo-001` queued; I will tell you how it ends" in bot.replies()[-1]

    reports = await wait_for_reply(bot, "Scan of `repo-001` failed")
    async with db() as session:
        run = (await session.exec(select(ScanRun))).one()
    assert run.status == "FAILED" and run.error
    assert len(reports) == 1
    report = json.loads(reports[0])
    assert report["text"].startswith(":x: Scan of `repo-001` failed: ")
    assert run.error[:60] in report["text"]

    # The same report asked again (a duplicated or retried job): nothing more is sent.
    async with db() as session:
        payloads = [
            j.payload
            for j in (await session.exec(select(Job).where(Job.kind == feedback.SCAN_OUTCOME))).all()
        ]
        await jobs.enqueue(session, feedback.SCAN_OUTCOME, {**payloads[-1], "looks": 0})
        await session.commit()
    await bot.run_jobs()
    assert len([r for r in bot.replies() if "Scan of `repo-001` failed" in r]) == 1

    response, _ = await bot.command("status")
    status = json.dumps(response.json(), ensure_ascii=False)
    assert "Latest scan failed for 1, partial for 0 repositories" in status
    assert "`repo-001` failed: " in status


async def test_subscriptions_say_when_digests_are_sent_and_the_threshold(bot):
    await bot.link()
    await bot.command("subscribe severity>=CRITICAL")
    response, _ = await bot.command("subscriptions")
    text = json.dumps(response.json(), ensure_ascii=False)
    assert "severity ≥ CRITICAL" in text
    next_at = feedback.next_digest_at("09:00")
    assert (
        f"Sent daily at 09:00 UTC, with the findings at or above each threshold (next: {next_at:%Y-%m-%d} 09:00 UTC)"
        in text
    )
