"""Two workers, an API process, 200 repositories: every scan once, a worker killed mid-scan, nothing lost."""

from __future__ import annotations

import httpx
from sqlalchemy import text
from sqlmodel import func, select

from core.db import session_scope
from core.db.columns import utcnow
from core.discovery.models import AzureRepository
from core.findings.models import Finding
from core.jobs import service as jobs
from core.jobs.models import Job
from core.scans.models import ScanRun
from core.services import open_services
from sandbox.scenario import Fault
from sandbox.slack import calls, response_url
from tests.support.workers import connect, plant_organization
from tests.workers.conftest import wait_for


async def count(sessions, query) -> int:
    async with sessions() as session:
        row = (await session.exec(query)).one()
    return row if isinstance(row, int) else row[0]  # a text query answers rows


async def test_every_scan_runs_once_when_a_worker_dies_mid_scan(
    worker_settings, processes, pg_sessions, sandbox, world, unused_port
):
    plant_organization(world, 200)
    sandbox.holder.replace(world)
    _, token, _ = await connect(worker_settings)

    # The API process serves; the workers' periodic tick finds the connection's daily slot due and runs it.
    # Archive downloads are slow at first, so the first worker is surely mid-scan when it is killed.
    sandbox.world.faults.append(Fault(host="dev", route="/items", latency_ms=3000))
    processes.start("serve", "--port", str(unused_port))
    first = processes.start("worker", "--concurrency", "4")

    async def first_worker_scanning() -> bool:
        # Repository scans in flight in the first worker process (the first two workers to register).
        query = text(
            "SELECT count(*) FROM procrastinate_jobs p JOIN jobs j ON j.id = p.args->>'job_id' "
            "WHERE p.status = 'doing' AND j.kind = 'scans.repository' "
            "AND p.worker_id IN (SELECT id FROM procrastinate_workers ORDER BY id LIMIT 2)"
        )
        return await count(pg_sessions, query) > 0

    await wait_for(first_worker_scanning, what="the first worker's scans", processes=processes)
    processes.start("worker", "--concurrency", "4")
    processes.kill(first)
    sandbox.world.faults.clear()

    async def all_scanned() -> bool:
        done = select(func.count()).select_from(ScanRun).where(ScanRun.status == "SUCCEEDED")
        return await count(pg_sessions, done) == 200

    await wait_for(all_scanned, what="200 scans", processes=processes)

    async with pg_sessions() as session:
        runs = (
            await session.exec(select(ScanRun.repository_id, func.count()).group_by(ScanRun.repository_id))
        ).all()
        findings = (await session.exec(select(Finding))).all()
        retried = (
            await session.exec(
                select(func.count()).select_from(Job).where(Job.kind == "scans.repository", Job.attempts > 1)
            )
        ).one()
        repositories = (await session.exec(select(func.count()).select_from(AzureRepository))).one()
    assert repositories == 200
    assert len(runs) == 200 and {n for _, n in runs} == {1}  # each repository scanned once
    assert len(findings) == 200 and {(f.rule_id, f.status) for f in findings} == {("ADO-PIPE-13", "OPEN")}
    assert retried >= 1  # the killed worker's scans ran again elsewhere

    async def api_ready() -> bool:
        try:
            async with httpx.AsyncClient() as client:
                return (await client.get(f"http://127.0.0.1:{unused_port}/readyz")).status_code == 200
        except httpx.HTTPError:
            return False

    await wait_for(api_ready, what="the API process", processes=processes)
    async with httpx.AsyncClient() as client:  # the API process reads what the workers stored
        answer = await client.post(
            f"http://127.0.0.1:{unused_port}/graphql",
            json={"query": "{ findings(first: 1) { totalCount } }"},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert answer.json()["data"]["findings"]["totalCount"] == 200

    async def digest_sent() -> bool:
        return len([c for c in calls(sandbox.context, "chat.postMessage") if c["ok"]]) >= 1

    await wait_for(digest_sent, what="the daily digest", processes=processes)
    await wait_for(lambda: _settled(pg_sessions), what="no job left", processes=processes)
    posts = [c for c in calls(sandbox.context, "chat.postMessage") if c["ok"]]
    assert [p["body"]["channel"] for p in posts] == ["C1"]  # one digest, sent once


async def _settled(sessions) -> bool:
    pending = select(func.count()).select_from(Job).where(Job.status.in_(("queued", "running")))
    return await count(sessions, pending) == 0


async def test_the_periodic_tick_fires_once_per_period_with_three_workers(
    worker_settings, processes, pg_sessions
):
    for _ in range(3):
        processes.start("worker", "--concurrency", "1")

    # Every period's tick is a procrastinate job carrying its timestamp: count them per timestamp.
    per_period_query = text(
        "SELECT args->>'timestamp', count(*) FROM procrastinate_jobs "
        "WHERE task_name = 'panoptica.tick' AND status = 'succeeded' GROUP BY 1"
    )

    async def periods() -> int:
        async with pg_sessions() as session:
            return len((await session.exec(per_period_query)).all())

    async def all_registered() -> bool:  # three processes, a quick and a long worker each
        return await count(pg_sessions, text("SELECT count(*) FROM procrastinate_workers")) == 6

    await wait_for(all_registered, timeout=60, what="three worker processes", processes=processes)
    start = await periods()

    async def five_more() -> bool:
        return await periods() >= start + 5

    await wait_for(five_more, timeout=60, what="five periods with all three", processes=processes)
    async with pg_sessions() as session:
        per_period = (await session.exec(per_period_query)).all()
    assert {n for _, n in per_period} == {1}


async def test_a_slack_follow_up_is_not_held_by_a_scan_backlog(
    worker_settings, processes, pg_sessions, sandbox, world
):
    plant_organization(world, 200)
    sandbox.holder.replace(world)
    account_id, _, _ = await connect(worker_settings)
    settings = worker_settings.model_copy(
        update={"job_runner": "procrastinate", "scan_schedule": "0 0 1 1 *"}
    )
    processes.settings = settings
    async with open_services(settings) as services, session_scope(services.sessions) as session:
        repositories = (await session.exec(select(AzureRepository))).all()
        from core.scans.service import queue_scan

        for round_ in range(3):  # 600 scans: every repository three times over
            for repository in repositories:
                await queue_scan(session, repository, "MANUAL", dedupe=f"scan:{repository.id}:{round_}")
    processes.start("worker", "--concurrency", "1")

    async def scanning() -> bool:
        query = select(func.count()).select_from(ScanRun).where(ScanRun.status == "SUCCEEDED")
        return await count(pg_sessions, query) >= 1

    await wait_for(scanning, what="the first scan", processes=processes)
    url = response_url(sandbox.context)
    async with session_scope(pg_sessions) as session:
        await jobs.enqueue(
            session,
            "slack.command",
            {
                "account_id": account_id,
                "team_id": "T0DEMO",
                "user_id": "U0NOBODY",
                "channel_id": "C1",
                "response_url": url,
                "issued_at": utcnow().isoformat(),  # response_url is used for 30 minutes
                "command": "scan",
                "args": {"repository": "repo-0-000"},
            },
        )

    async def replied() -> bool:
        return any(
            c["body"] and c.get("path", url).endswith(url.rsplit("/", 1)[1])
            for c in calls(sandbox.context, "response_url")
        )

    await wait_for(replied, what="the Slack reply", processes=processes)
    queued = (
        select(func.count()).select_from(Job).where(Job.kind == "scans.repository", Job.status == "queued")
    )
    assert await count(pg_sessions, queued) >= 500  # answered while the scan backlog is still there
