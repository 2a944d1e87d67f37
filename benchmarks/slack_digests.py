"""Delivering a day of digests: 1,000 subscriptions over 200 channels, paced per channel.

    .venv/bin/python benchmarks/slack_digests.py [--subscriptions 1000] [--channels 200] [--max-channels 50]
        [--emulator process]

Builds the outbox (one row per subscription) on a fresh SQLite database, then runs one delivery pass
(`core.digests.delivery.deliver_due`, real clock, real pacer) against the emulator's Slack fake over HTTPS with
a real slack_sdk AsyncWebClient; the emulator runs in its own process (benchmarks/harness.py). Figures come
from the fake's own call log (its admin host): messages per channel, and the shortest interval between two
posts to one channel (the maximum observed rate per channel). Printed beside the floor: one request per
digest, and Slack's pace of about one message per second per channel, so the busiest channel's n messages
need at least n - 1 seconds. No peer: no free tool delivers these digests.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pydantic import SecretStr

from benchmarks.harness import add_arguments, emulator
from bot.digests import render_digest
from core.accounts.service import create_account
from core.db import create_engine, session_factory, session_scope
from core.db.migrate import upgrade_engine
from core.digests.delivery import MAX_CHANNELS, Pacer, deliver_due
from core.digests.outbox import build_day
from core.settings import Settings
from core.slack.models import SlackSubscription, SlackWorkspace
from sandbox.scenario import SlackWorkspace as FakeWorkspace
from sandbox.scenario import World


@dataclass
class BenchServices:
    settings: Settings
    engine: object
    sessions: object
    woken: list = field(default_factory=list)

    def wake_jobs(self) -> None:
        self.woken.append(True)


async def run(subscriptions: int, channels: int, max_channels: int, mode: str) -> None:
    fake = FakeWorkspace(
        channels={f"C{i:05d}": {"name": f"team-{i}", "is_member": True} for i in range(channels)}
    )
    with emulator(World(slack=fake), mode) as sandbox:
        directory = Path(tempfile.mkdtemp(prefix="panoptica-bench-digests-"))
        settings = Settings(
            database_url=f"sqlite+aiosqlite:///{directory}/bench.db",
            ca_bundle=sandbox.ca_path,
            slack_api_url=sandbox.slack_api_url,
            slack_bot_token=SecretStr(fake.bot_token),
            public_url="https://panoptica.example",
        )
        engine = create_engine(settings.database_url)
        await upgrade_engine(engine)
        services = BenchServices(settings, engine, session_factory(engine))
        try:
            async with session_scope(services.sessions) as session:
                account = await create_account(session, "Bench")
                session.add(SlackWorkspace(team_id=fake.team_id, account_id=account.id, linked_by="U0ADMIN"))
                for i in range(subscriptions):
                    session.add(
                        SlackSubscription(
                            account_id=account.id,
                            team_id=fake.team_id,
                            channel_id=f"C{i % channels:05d}",
                            organization=f"org-{i // channels}",
                            created_by="U0ADMIN",
                        )
                    )
            started = time.perf_counter()
            built = await build_day(
                services, "2030-01-02", partial(render_digest, console_url=settings.public_url)
            )
            build_seconds = time.perf_counter() - started

            sandbox.clear_requests()
            started = time.perf_counter()
            result = await deliver_due(services, pacer=Pacer(), max_channels=max_channels)
            deliver_seconds = time.perf_counter() - started
        finally:
            await engine.dispose()

        posted = [c for c in sandbox.slack_calls("chat.postMessage") if c["ok"]]
        by_channel: dict[str, list[float]] = defaultdict(list)
        for call in posted:
            by_channel[call["channel"]].append(call["at"])
        counts = [len(v) for v in by_channel.values()]
        gaps = [b - a for at in by_channel.values() for a, b in zip(sorted(at), sorted(at)[1:], strict=False)]
        rejected = sum(1 for r in sandbox.records() if r["host"] == "slack" and r["status"] >= 400)
        slack_requests = sandbox.request_counts()["by_host"].get("slack", 0)
        floor_seconds = max(counts) - 1 if counts else 0
        print(
            f"subscriptions {subscriptions}, channels {channels}, concurrent channels {max_channels}, "
            f"emulator in a {mode}"
        )
        print(f"build: {built} digests in {build_seconds:.2f} s")
        print(
            f"delivery: {result.sent} sent, {result.retried} retried, {result.failed} failed "
            f"in {deliver_seconds:.2f} s ({result.sent / deliver_seconds:.0f} messages/s overall)"
        )
        print(f"messages per channel: min {min(counts)}, max {max(counts)} over {len(by_channel)} channels")
        if gaps:
            print(
                f"shortest interval between two posts to one channel: {min(gaps):.3f} s "
                f"(max observed rate {1 / min(gaps):.2f} messages/s per channel)"
            )
        print(f"HTTP errors from Slack (429 included): {rejected}")
        print(f"{'':8}{'seconds':>9}{'x floor':>9}{'Slack requests':>16}{'x floor':>9}")
        print(f"{'floor':8}{floor_seconds:>9.2f}{1.0:>9.1f}{built:>16}{1.0:>9.1f}")
        ratio = deliver_seconds / floor_seconds if floor_seconds else float("nan")
        print(
            f"{'ours':8}{deliver_seconds:>9.2f}{ratio:>9.1f}{slack_requests:>16}"
            f"{slack_requests / max(built, 1):>9.2f}"
        )
        print(
            f"floor: one post per digest; the busiest channel's {max(counts) if counts else 0} messages at "
            "Slack's one per second per channel; no peer (none runs here)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscriptions", type=int, default=1000)
    parser.add_argument("--channels", type=int, default=200)
    parser.add_argument("--max-channels", type=int, default=MAX_CHANNELS)
    add_arguments(parser)
    args = parser.parse_args()
    asyncio.run(run(args.subscriptions, args.channels, args.max_channels, args.emulator))


if __name__ == "__main__":
    main()
