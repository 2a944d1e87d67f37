"""`panoptica prune --dry-run` prints what would go, per table, and changes nothing; `panoptica prune` does it."""

from datetime import timedelta

from sqlalchemy import func, select

from api.cli import main
from core.db import session_scope
from core.jobs.models import Job
from tests.core.retention.rows import insert


async def count_jobs(db) -> int:
    async with db() as session:
        return (await session.exec(select(func.count()).select_from(Job))).scalar_one()


def line_of(output: str, table: str) -> list[str]:
    return next(line.split() for line in output.splitlines() if line.startswith(table + " "))


async def test_dry_run_prints_per_table_and_keeps_everything(db, now, database_url, monkeypatch, capsys):
    async with session_scope(db) as session:
        for age in (8, 9, 1):
            finished = now - timedelta(days=age)
            await insert(
                session, Job, kind="k", status="done", finished_at=finished, dedupe_key=None, lock=None
            )
    monkeypatch.setenv("PANOPTICA_DATABASE_URL", database_url)

    assert await run_cli(["prune", "--dry-run"]) == 0
    output = capsys.readouterr().out
    assert line_of(output, "jobs")[1] == "2"
    assert "rows would go" in output
    assert await count_jobs(db) == 3

    assert await run_cli(["prune"]) == 0
    assert line_of(capsys.readouterr().out, "jobs")[1] == "2"
    assert await count_jobs(db) == 1


async def run_cli(argv: list[str]) -> int:
    import asyncio

    # The command runs its own event loop (asyncio.run), so it runs in a thread beside the test's loop.
    return await asyncio.to_thread(main, argv)
