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

    delete = accounts_commands.add_parser(
        "delete", help="delete an account and every row of it (asks for its name to confirm)"
    )
    delete.add_argument("account_id")
    delete.set_defaults(handler=accounts_delete_command)


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


def accounts_delete_command(args) -> int:
    from core.retention import accounts

    print("This deletes the account and everything stored for it; it cannot be undone.", file=sys.stderr)
    print("Type the account's name to confirm: ", end="", file=sys.stderr, flush=True)
    typed = sys.stdin.readline()

    def run(sessions, settings):
        return accounts.delete_account(sessions, settings, args.account_id, typed, actor="cli")

    try:
        done = with_sessions(run)
    except LookupError as error:
        return fail(str(error).strip("'"))
    except accounts.ConfirmationMismatch as error:
        return fail(error.message.rstrip("."))
    print(accounts.render(done))
    return 0


def fail(message: str) -> int:
    print(f"panoptica: {message}", file=sys.stderr)
    return 2
