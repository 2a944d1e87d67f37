"""`panoptica prune` and `panoptica accounts delete`: the data lifecycle's commands (core/retention)."""

from __future__ import annotations

import asyncio
import sys

from core.settings import load_settings


def add_data_parsers(commands, accounts_commands) -> None:
    prune = commands.add_parser("prune", help="apply the retention settings now (PANOPTICA_RETENTION_*)")
    prune.add_argument(
        "--dry-run", action="store_true", help="print what would go, per table; change nothing"
    )
    prune.set_defaults(handler=prune_command)


def with_sessions(work):
    """Run `work(sessions, settings)` against the configured database; the work commits its own batches."""
    from core.db import create_engine, session_factory
    from core.db.migrate import upgrade

    settings = load_settings()
    if settings.is_sqlite:
        upgrade(settings.database_url)

    async def run():
        engine = create_engine(settings.database_url)
        try:
            return await work(session_factory(engine), settings)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def prune_command(args) -> int:
    from core.retention import flows

    report = with_sessions(
        lambda sessions, settings: flows.prune_now(sessions, settings, dry_run=args.dry_run)
    )
    print(flows.render(report))
    return 0


def fail(message: str) -> int:
    print(f"panoptica: {message}", file=sys.stderr)
    return 2
