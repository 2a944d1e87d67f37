"""The `panoptica` command: `serve`, `worker`, `sandbox`, `db upgrade`, accounts, tokens, exports, `scan`."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys

from api.cli_data import add_data_parsers
from core.observability.logs import configure_logging
from core.settings import Settings, SettingsError, load_settings
from core.severity import ORDER as SEVERITIES

log = logging.getLogger("panoptica")


def main(argv: list[str] | None = None) -> int:
    from core.db.errors import DatabaseUnavailable

    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "handler", None) is None:  # `panoptica`, `panoptica accounts`, ...: that level's help
        (getattr(args, "help_parser", None) or parser).print_help()
        return 0
    # Before settings load (a bad setting is reported through the log format asked for).
    configure_logging("json" if os.environ.get("PANOPTICA_LOG_FORMAT", "").lower() == "json" else "text")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    try:
        return args.handler(args)
    except (SettingsError, DatabaseUnavailable, PortTaken, SandboxExtraMissing) as error:
        print(f"panoptica: {error}", file=sys.stderr)
        return 2


class PortTaken(Exception):
    """The port `serve` was asked to listen on is in use (said before anything else starts)."""


class SandboxExtraMissing(Exception):
    """`serve --sandbox` or `sandbox` without the packages of the emulator (the `sandbox` extra)."""


def require_sandbox_extra() -> None:
    """Before anything starts: the emulator's own packages are an extra, absent from a plain install."""
    import sandbox

    missing = sandbox.missing_packages()
    if missing:
        raise SandboxExtraMissing(
            f"the emulator needs {', '.join(missing)} (the sandbox extra), which is not installed: "
            + sandbox.INSTALL_HINT
        )


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("panoptica-azure")
    except PackageNotFoundError:  # run from a checkout that was not installed
        return "unknown"


def default_port() -> int:
    """PORT (as platforms that run containers set it), else 8000; a bad value is a setting error."""
    text = os.environ.get("PORT", "").strip()
    if not text:
        return 8000
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise SettingsError("invalid setting PORT: must be a port number (1-65535)")
    return int(text)


def add_group(commands, name: str, help_: str):
    """A command with subcommands; bare, it prints its own help."""
    group = commands.add_parser(name, help=help_)
    group.set_defaults(help_parser=group)
    return group, group.add_subparsers(dest=f"{name}_command")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="panoptica",
        description=__doc__,
        epilog="Data lives in PANOPTICA_HOME (default: ~/.local/share/panoptica) unless PANOPTICA_DATABASE_URL says "
        "otherwise. Settings: README, section Production.",
    )
    parser.add_argument("--version", action="version", version=f"panoptica {version()}")
    commands = parser.add_subparsers(dest="command")

    serve = commands.add_parser("serve", help="run the API (and, with --sandbox, the emulator)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=None, help="default: $PORT, else 8000")
    serve.add_argument("--sandbox", action="store_true", help="wire the service to the built-in emulator")
    serve.set_defaults(handler=serve_command)

    sandbox = commands.add_parser("sandbox", help="run the Entra ID / Azure DevOps / Slack emulator alone")
    sandbox.add_argument("--scenario", help="a scenario file (YAML or JSON); default: the demo scenario")
    sandbox.add_argument(
        "--base-port", type=int, default=8440, help="first of seven consecutive ports (0: any)"
    )
    sandbox.set_defaults(handler=sandbox_command)

    _, accounts_commands = add_group(commands, "accounts", "customer accounts")
    list_accounts = accounts_commands.add_parser(
        "list", help="every account: id, name, active tokens, members"
    )
    list_accounts.add_argument("--json", action="store_true")
    list_accounts.set_defaults(handler=accounts_list_command)
    create_account = accounts_commands.add_parser("create", help="create an account and its first API token")
    create_account.add_argument("name")
    create_account.add_argument(
        "--user", default="owner@panoptica.local", help="e-mail named in the audit trail"
    )
    create_account.add_argument("--json", action="store_true")
    create_account.set_defaults(handler=accounts_create_command)
    add_member = accounts_commands.add_parser(
        "add-member", help="let a person (Entra tenant id and object id) sign in to an account's console"
    )
    add_member.add_argument("account_id")
    add_member.add_argument("--tenant-id", required=True, help="the person's Entra tenant id (a GUID)")
    add_member.add_argument("--object-id", required=True, help="the person's Entra object id (a GUID)")
    add_member.add_argument("--upn", default="", help="their sign-in name, for the audit trail")
    add_member.set_defaults(handler=accounts_add_member_command)

    _, tokens_commands = add_group(commands, "tokens", "API tokens")
    list_tokens = tokens_commands.add_parser("list", help="API tokens (never the token itself), newest first")
    list_tokens.add_argument("--account", help="only this account's")
    list_tokens.add_argument("--json", action="store_true")
    list_tokens.set_defaults(handler=tokens_list_command)
    create_token = tokens_commands.add_parser("create", help="issue an API token (shown once)")
    create_token.add_argument("--account", required=True)
    create_token.add_argument("--user", required=True, help="e-mail named in the audit trail")
    create_token.add_argument("--json", action="store_true")
    create_token.set_defaults(handler=tokens_create_command)
    revoke_token = tokens_commands.add_parser("revoke", help="revoke an API token by its id")
    revoke_token.add_argument("token_id")
    revoke_token.set_defaults(handler=tokens_revoke_command)

    _, export_commands = add_group(commands, "export", "export data")
    sarif = export_commands.add_parser("sarif", help="a repository's open findings as SARIF 2.1.0 (stdout)")
    sarif.add_argument("repository_id")
    sarif.set_defaults(handler=export_sarif_command)

    worker = commands.add_parser("worker", help="run background jobs (PostgreSQL: a procrastinate worker)")
    worker.add_argument("--queues", default="quick,long", help="quick (Slack, checks) and/or long (scans)")
    worker.add_argument(
        "--concurrency", type=int, default=None, help="long jobs at once (default: scan concurrency)"
    )
    worker.set_defaults(handler=worker_command)

    _, osv_commands = add_group(commands, "osv", "OSV advisories for air-gapped installs")
    osv_import = osv_commands.add_parser(
        "import", help="store OSV exports (per-ecosystem all.zip, or folders of OSV JSON) in place of the API"
    )
    osv_import.add_argument("paths", nargs="+", metavar="PATH")
    osv_import.set_defaults(handler=osv_import_command)

    add_scan_parser(commands)

    _, slack_commands = add_group(commands, "slack", "the Slack app")
    slack_manifest = slack_commands.add_parser(
        "manifest", help="the Slack app manifest (YAML) to create the app from, with this service's URLs"
    )
    slack_manifest.add_argument("--public-url", help="default: PANOPTICA_PUBLIC_URL")
    slack_manifest.set_defaults(handler=slack_manifest_command)
    add_data_parsers(commands, accounts_commands)  # prune, accounts delete (api/cli_data.py)

    _, db_commands = add_group(commands, "db", "database maintenance")
    upgrade = db_commands.add_parser("upgrade", help="apply the schema migrations")
    upgrade.set_defaults(handler=db_upgrade_command)
    return parser


def severity_name(text: str) -> str:
    if text.upper() not in SEVERITIES:
        raise argparse.ArgumentTypeError(f"not a severity: {text!r} (one of {', '.join(SEVERITIES)})")
    return text.upper()


def positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"not a positive number of seconds: {text!r}")
    return value


def add_scan_parser(commands) -> None:
    scan = commands.add_parser(
        "scan",
        help="scan a local folder or zip with the service's scanners (offline, no database)",
        description="Scan a folder or a zip offline with the service's scanners. Exit codes: 0 complete and "
        "nothing at or above --fail-on; 1 a finding at or above --fail-on; 2 a usage error, an input that "
        "cannot be scanned (nothing is written), or a scanner that failed (the partial result is written).",
    )
    scan.add_argument("path", metavar="PATH", help="a folder, or a zip file")
    scan.add_argument("--format", choices=("table", "json", "sarif"), default="table")
    scan.add_argument("--output", metavar="FILE", help="write the result to FILE instead of stdout")
    scan.add_argument(
        "--scanners", metavar="NAMES", help="comma-separated, e.g. secrets,checkov (default: all)"
    )
    scan.add_argument(
        "--fail-on",
        type=severity_name,
        metavar="SEVERITY",
        help="exit 1 when a finding is this severe or more",
    )
    scan.add_argument(
        "--timeout",
        type=positive_seconds,
        metavar="SECONDS",
        help="per scanner (default: the service's, 600)",
    )
    scan.add_argument(
        "--advisories",
        action="append",
        metavar="PATH",
        help="an OSV export (all.zip or a folder of OSV JSON) to match dependencies against; repeatable",
    )
    scan.add_argument("--quiet", action="store_true", help="no progress on stderr")
    scan.set_defaults(handler=scan_command)


def scan_command(args) -> int:
    """Parse, call core.scans.local.scan_path, render. Exit codes: see `add_scan_parser`."""
    from pathlib import Path

    from core.scans import local

    settings = load_settings()
    # stderr carries the progress lines; the scanners' INFO logs would bury them (unless asked for).
    logging.getLogger("core").setLevel(os.environ.get("PANOPTICA_LOG_LEVEL", "WARNING").upper())
    output = Path(args.output) if args.output else None
    if output is not None and (output.is_dir() or not output.parent.is_dir()):
        print(f"panoptica: --output {output}: not a file in an existing folder", file=sys.stderr)
        return 2
    try:
        scanners = local.select_scanners(settings.scanners if args.scanners is None else args.scanners)
        scan = local.scan_path(
            Path(args.path),
            scanners=scanners,
            secret_key=local.local_secret_key(settings),
            timeout_seconds=args.timeout or settings.scan_timeout_seconds,
            advisories=[Path(p) for p in args.advisories or []],
            progress=None if args.quiet else print_scan_progress,
        )
    except local.InputRejected as error:
        print(f"panoptica: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # the zip's folder is removed on the way out; nothing is written
        print("panoptica: interrupted, nothing written", file=sys.stderr)
        return 130
    text = render_scan(scan, args.format)
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        write_replacing(output, text)
    if not args.quiet and (output is not None or args.format != "table"):
        print(f"panoptica: {summary_line(scan)}", file=sys.stderr)
    failing = args.fail_on is not None and bool(scan.at_or_above(args.fail_on))
    return 2 if not scan.complete else 1 if failing else 0


def print_scan_progress(event) -> None:
    if event.phase == "started":
        text = f"{event.scanner}: started"
    elif event.phase == "failed":
        text = f"{event.scanner}: FAILED after {event.seconds:.1f} s: {event.reason}"
    else:
        text = f"{event.scanner}: complete, {plural(event.findings, 'finding')} in {event.seconds:.1f} s"
    print(f"panoptica: {text}", file=sys.stderr, flush=True)


def render_scan(scan, format_: str) -> str:
    import json

    from core.scans import local

    if format_ == "json":
        return json.dumps(local.as_json(scan), indent=2) + "\n"
    if format_ == "sarif":
        return json.dumps(local.as_sarif(scan), indent=2) + "\n"
    return scan_table(scan)


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def summary_line(scan) -> str:
    counts = ", ".join(f"{n} {severity}" for severity, n in scan.counts().items())
    outcomes = []
    for o in scan.outcomes:
        if o.status == "failed":
            outcomes.append(f"{o.name} FAILED ({o.reason})")
        else:
            outcomes.append(
                f"{o.name} complete ({plural(o.findings, 'finding')}{'; ' + o.note if o.note else ''})"
            )
    return f"{plural(len(scan.findings), 'finding')} ({counts}); scanners: {'; '.join(outcomes)}"


def scan_table(scan) -> str:
    """Severity, rule, path:line, message; most severe first (core.scans.local sorts), then the summary."""
    rows = []
    for f in scan.findings:
        where = f"{f.path}:{f.line}" if f.line else f.path
        message = f.message or f.title
        rows.append((f.severity, f.rule_id, where, f"{message} [{f.preview}]" if f.preview else message))
    header = ("SEVERITY", "RULE", "LOCATION", "MESSAGE")
    widths = [min(max(len(r[i]) for r in [header, *rows]), limit) for i, limit in ((0, 8), (1, 40), (2, 70))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row[:3], widths, strict=True)) + "  " + row[3]
        for row in [header, *rows]
    ]
    if not rows:
        lines = ["no findings"]
    return "\n".join([*lines, "", summary_line(scan)]) + "\n"


def write_replacing(path, text: str) -> None:
    """All or nothing: a reader (or a pipeline step after a crash) never sees half a report."""
    import tempfile

    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)  # as `> FILE` would create it (mkstemp makes it private)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def slack_manifest_command(args) -> int:
    from bot import manifest

    public_url = load_settings(**({"public_url": args.public_url} if args.public_url else {})).public_url
    if not public_url.startswith("https://") and args.public_url is None:
        print(
            f"panoptica: note: PANOPTICA_PUBLIC_URL is {public_url}; Slack needs https URLs", file=sys.stderr
        )
    sys.stdout.write(manifest.render(public_url))
    return 0


def worker_command(args) -> int:
    from api.worker import worker_command as run_worker

    check_database(load_settings())  # a missing or unreachable database: one line, before any worker starts
    return run_worker(args)


def db_upgrade_command(args) -> int:
    from core.db import errors
    from core.db.migrate import upgrade

    settings = load_settings()
    try:
        upgrade(settings.database_url)
    except Exception as error:
        if (line := errors.describe(error, settings.database_url)) is None:
            raise
        raise errors.DatabaseUnavailable(line) from None
    print(f"database {errors.where(settings.database_url)} is at the latest schema")
    return 0


def _with_session(work, *, creates: bool = False):
    """Run `work(session)` in one committed unit of work against the configured database.

    Only a command that `creates` something makes a SQLite database that is not there: any other command
    says where it looked (a command run with another PANOPTICA_HOME must not answer from an empty database).
    A database that is missing or unreachable is DatabaseUnavailable (one line), not a traceback."""
    import asyncio

    from core.db import create_engine, errors, session_factory, session_scope
    from core.db.migrate import upgrade

    settings = load_settings()
    missing = errors.missing_sqlite_file(settings.database_url)
    if missing is not None and not creates:
        raise errors.DatabaseUnavailable(
            f"no database at {missing} (PANOPTICA_HOME is {settings.home}; "
            "`panoptica serve` or `panoptica accounts create` makes one)"
        )

    async def run():
        engine = create_engine(settings.database_url)
        try:
            async with session_scope(session_factory(engine)) as session:
                return await work(session)
        finally:
            await engine.dispose()

    try:
        if settings.is_sqlite:
            upgrade(settings.database_url)
        return asyncio.run(run())
    except Exception as error:
        if (line := errors.describe(error, settings.database_url)) is None:
            raise
        raise errors.DatabaseUnavailable(line) from None


def _print_token(account_id: str, issued, as_json: bool) -> None:
    import json

    if as_json:
        print(json.dumps({"account_id": account_id, "token_id": issued.token_id, "token": issued.token}))
    else:
        print(f"account id: {account_id}\ntoken id:   {issued.token_id}\ntoken:      {issued.token}")
        print("The token is shown once; store it now.")


def accounts_create_command(args) -> int:
    from core.accounts import service

    async def work(session):
        account = await service.create_account(session, args.name)
        return account.id, await service.issue_token(session, account.id, args.user)

    try:
        account_id, issued = _with_session(work, creates=True)
    except ValueError as error:
        print(f"panoptica: {error}", file=sys.stderr)
        return 2
    _print_token(account_id, issued, args.json)
    return 0


def accounts_add_member_command(args) -> int:
    from core.accounts import sessions

    async def work(session):
        return await sessions.add_member(
            session, args.account_id, args.tenant_id, args.object_id, args.upn or args.object_id
        )

    try:
        member = _with_session(work)
    except (LookupError, ValueError) as error:
        print(f"panoptica: {str(error).strip(chr(39))}", file=sys.stderr)
        return 2
    print(
        f"{member.upn} ({member.tenant_id}/{member.object_id}) may now sign in to account {member.account_id}"
    )
    return 0


def accounts_list_command(args) -> int:
    import json

    from core.accounts.listing import list_accounts

    rows = _with_session(list_accounts)
    if args.json:
        print(json.dumps([{**vars(r), "created_at": r.created_at.isoformat()} for r in rows], indent=2))
        return 0
    if not rows:
        print("no accounts (create one: panoptica accounts create NAME)")
        return 0
    table = [("ID", "NAME", "CREATED", "TOKENS", "MEMBERS")]
    table += [
        (r.id, r.name, f"{r.created_at:%Y-%m-%d %H:%M}", str(r.active_tokens), str(r.members)) for r in rows
    ]
    print(render_table(table))
    return 0


def tokens_list_command(args) -> int:
    import json

    from core.accounts.listing import list_tokens

    try:
        rows = _with_session(lambda session: list_tokens(session, args.account))
    except LookupError as error:
        print(f"panoptica: {str(error).strip(chr(39))}", file=sys.stderr)
        return 2
    if args.json:
        print(
            json.dumps(
                [
                    {
                        **vars(r),
                        "created_at": r.created_at.isoformat(),
                        "revoked_at": r.revoked_at.isoformat() if r.revoked_at else None,
                    }
                    for r in rows
                ],
                indent=2,
            )
        )
        return 0
    if not rows:
        print("no tokens")
        return 0
    table = [("ID", "ACCOUNT", "USER", "CREATED", "STATUS")]
    for r in rows:
        status = f"revoked {r.revoked_at:%Y-%m-%d %H:%M}" if r.revoked_at else "active"
        table.append((r.id, r.account_name, r.user_email, f"{r.created_at:%Y-%m-%d %H:%M}", status))
    print(render_table(table))
    return 0


def render_table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows)


def tokens_create_command(args) -> int:
    from core.accounts import service

    try:
        issued = _with_session(lambda session: service.issue_token(session, args.account, args.user))
    except (LookupError, ValueError) as error:
        print(f"panoptica: {str(error).strip(chr(39))}", file=sys.stderr)
        return 2
    _print_token(args.account, issued, args.json)
    return 0


def tokens_revoke_command(args) -> int:
    from core.accounts import service

    if not _with_session(lambda session: service.revoke_token(session, args.token_id)):
        print(f"panoptica: no active token {args.token_id}", file=sys.stderr)
        return 2
    print(f"token {args.token_id} revoked")
    return 0


def osv_import_command(args) -> int:
    import asyncio
    from pathlib import Path

    from core.db import create_engine
    from core.dependencies.osv_import import ImportRefused, import_exports

    settings = load_settings()
    if settings.is_sqlite:
        from core.db.migrate import upgrade

        upgrade(settings.database_url)

    async def run():
        engine = create_engine(settings.database_url)
        try:
            return await import_exports(engine, [Path(p) for p in args.paths])
        finally:
            await engine.dispose()

    try:
        summary = asyncio.run(run())
    except ImportRefused as error:
        print(f"panoptica: nothing imported: {error}", file=sys.stderr)
        return 1
    print(summary.describe())
    return 0


def export_sarif_command(args) -> int:
    """An operator's export: any repository by id (the API serves each account its own)."""
    import json

    from core.discovery.models import AzureRepository
    from core.findings.sarif import repository_sarif

    async def work(session):
        repository = await session.get(AzureRepository, args.repository_id)
        if repository is None:
            raise LookupError(args.repository_id)
        return await repository_sarif(session, repository.account_id, repository.id)

    try:
        sarif = _with_session(work)
    except LookupError:
        print(f"panoptica: no repository {args.repository_id}", file=sys.stderr)
        return 2
    print(json.dumps(sarif, indent=2))
    return 0


def serve_command(args) -> int:
    """In this order, so that nothing is started, printed or written before a problem is said in one line: the
    port (bound here and handed to uvicorn), the settings, the database; then the emulator, then the service."""
    import uvicorn

    from api.app import create_app

    if args.sandbox:
        require_sandbox_extra()
    port = args.port if args.port is not None else default_port()
    listener = bind_port(args.host, port)
    stop_on_terminate()
    running = keeper = None
    try:
        settings = load_settings()  # every setting, before the emulator starts
        check_database(settings)
        overrides: dict = {}
        if args.sandbox:
            # The emulator's world is kept beside the database, so a restarted demo is the same world.
            running, overrides, keeper = start_sandbox(8440, settings.home / "sandbox" / "world.json")
            overrides["public_url"] = f"http://{args.host}:{port}"
            # The emulated workspace's page sends its slash commands to us, signed with this run's secret.
            running.context.slack_app = {
                "url": f"{overrides['public_url']}/slack/events",
                "signing_secret": overrides["slack_signing_secret"],
            }
        settings = load_settings(**overrides)
        if running is not None:
            print_walkthrough(settings, running, demo_account_token(running.world))
        print(
            f"serving on http://{args.host}:{port}  (health: http://{args.host}:{port}/healthz)", flush=True
        )
        config = uvicorn.Config(create_app(settings), host=args.host, port=port, log_level="info")
        uvicorn.Server(config).run(sockets=[listener])
    except KeyboardInterrupt:  # Ctrl-C, SIGTERM, SIGHUP: a normal stop
        pass
    finally:
        listener.close()
        if keeper is not None:
            keeper.stop()  # the world as it is now, for the next start
        if running is not None:
            running.stop()
    return 0


def bind_port(host: str, port: int):
    """The listening socket, or PortTaken naming the port and the way out."""
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
    except OSError as error:
        listener.close()
        reason = "is in use" if error.errno == 98 else f"cannot be used ({error.strerror})"
        raise PortTaken(f"port {port} on {host} {reason}: choose another with --port N or PORT=N") from None
    listener.listen(2048)
    listener.set_inheritable(True)
    return listener


def check_database(settings: Settings) -> None:
    """SQLite (the embedded default) migrates itself; PostgreSQL must answer (deployments run `panoptica db
    upgrade` once per release: /readyz says when that is due). DatabaseUnavailable in one line otherwise."""
    import asyncio

    from sqlalchemy import text

    from core.db import create_engine, errors

    async def ping() -> None:
        engine = create_engine(settings.database_url)
        try:
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        finally:
            await engine.dispose()

    try:
        if settings.is_sqlite:
            from core.db.migrate import upgrade

            upgrade(settings.database_url)
        else:
            asyncio.run(asyncio.wait_for(ping(), timeout=15))
    except Exception as error:
        if (line := errors.describe(error, settings.database_url)) is None:
            raise
        raise errors.DatabaseUnavailable(line) from None


def demo_account_token(world=None) -> str:
    """The demo account's token; the emulator's organization administrators become its console members."""
    from core.accounts import service, sessions

    async def work(session):
        account_id, issued = await service.demo_token(session, "Demo (sandbox)", "admin@contoso.test")
        organizations = world.organizations if world else []
        tenants = world.tenants if world else []
        for organization in organizations:
            for tenant in tenants:
                for user in tenant.users:
                    if organization.is_administrator(user.upn):
                        await sessions.add_member(session, account_id, tenant.id, user.object_id, user.upn)
        return issued

    return _with_session(work).token


def demo_people(world, organization: str) -> tuple[str, str]:
    """An administrator of the organization and someone who is not, as the sign-in page lists them."""
    org = world.organization(organization)
    people = [user.upn for tenant in world.tenants for user in tenant.users]
    admin = next((p for p in people if org and org.is_administrator(p)), "an administrator")
    other = next(
        (p for p in people if org and org.has_user(p) and not org.is_administrator(p)), "anyone else"
    )
    return admin, other


def print_walkthrough(settings: Settings, running, token: str) -> None:
    organization = running.world.organizations[0].name if running.world.organizations else "contoso-demo"
    admin, developer = demo_people(running.world, organization)
    graphiql = f"{settings.public_url}/graphql"
    print(
        f"""
Console:   {settings.public_url}/  (sign in as {admin}: one click on the emulator's sign-in page)
Slack:     {running.urls["slack"]}/  (the emulated workspace: type /panoptica help as an admin; link it with
           /panoptica link CODE, the code from the console's Settings)
GraphiQL:  {graphiql}
API token for the demo account (add the header  Authorization: Bearer <token>  in GraphiQL):
  {token}

Walkthrough (the emulator's pages use its own CA: accept the browser's certificate warning):
  1. mutation {{ startAzureConnection(organization: "{organization}") {{ ... on StartAzureConnectionSuccess {{ signInUrl connection {{ id }} }} ... on UserError {{ code message }} }} }}
  2. Open the signInUrl in a browser and sign in as {admin} (the organization's administrator; {developer}
     is refused: not a Project Collection Administrator), then press Accept on the consent page: you land on
     our callback page with the next steps.
  3. On the emulator's admin page {running.urls["admin"]}/ press "Add the service principal as Basic" for {organization}.
  4. Press Connect on the callback page (or: mutation {{ connectAzureOrganization(connectionId: "<id>") {{ ... on ConnectAzureOrganizationSuccess {{ ok connection {{ status }} checks {{ code status message remediation }} }} ... on UserError {{ code message }} }} }}).
  5. query {{ repositories(first: 50) {{ totalCount edges {{ node {{ name project excludedReason }} }} }} }}
  6. mutation {{ scanConnection(id: "<id>") {{ ... on ScanQueued {{ message run {{ id status }} }} ... on UserError {{ code message }} }} }}: secrets,
     IaC, SAST, pipelines, dependencies and CI/CD posture; follow it with query {{ node(id: "<run id>") {{ ... on ConnectionScan {{ status phase repositoriesDone repositoriesTotal }} }} }},
     then query {{ findings(first: 20) {{ totalCount edges {{ node {{ category ruleId severity path }} }} }} }}
     and query {{ postureChecks(connectionId: "<id>") {{ summary {{ passed failed notEvaluated }} }} }}
After a restart the emulator's world (consent, memberships) is the one saved in {settings.home}/sandbox: step 1 answers
ALREADY_CONNECTED for a connected organization; re-check it with
     mutation {{ refreshAzureConnection(connectionId: "<id>") {{ ... on ConnectAzureOrganizationSuccess {{ ok connection {{ status }} }} ... on UserError {{ code message }} }} }}
""",
        flush=True,
    )


def sandbox_command(args) -> int:
    import time

    require_sandbox_extra()
    from sandbox.scenario import demo_world, load_world

    world = load_world(args.scenario) if args.scenario else demo_world()
    stop_on_terminate()
    running = _start(world, args.base_port)
    try:
        print_sandbox(running)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        running.stop()  # removes its folder (CA, TLS key, git repositories)
    return 0


def stop_on_terminate() -> None:
    """SIGTERM and SIGHUP end the process as Ctrl-C does, so `finally` blocks remove temporary files."""
    import signal

    def interrupt(_signum, _frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGHUP, interrupt)


def start_sandbox(base_port: int, state_path):
    """Start the emulator with the demo scenario, or the world saved at `state_path` from it (sandbox/state.py);
    return it, the settings that point at it, and the keeper that saves its world."""
    import secrets

    from sandbox import state
    from sandbox.scenario import DEMO_SCENARIO

    loaded = state.load(state_path, DEMO_SCENARIO)
    running = _start(loaded.world, base_port)
    keeper = state.Keeper(running.holder, state_path, DEMO_SCENARIO).start()
    print_sandbox(running)
    print(f"  world: {loaded.note}", flush=True)
    app = running.world.apps[0]
    overrides = {
        "entra_client_id": app.client_id,
        "entra_client_secret": app.secret,
        "entra_authority_host": running.authority_host,
        "azure_devops_url": running.devops_url,
        "ca_bundle": running.ca_path,
        "osv_url": running.osv_url,
        # Slack on, against the emulated workspace (its page: the slack URL's /).
        "slack_bot_token": running.world.slack.bot_token,
        "slack_signing_secret": secrets.token_hex(16),
        "slack_api_url": running.slack_api_url,
    }
    return running, overrides, keeper


def _start(world, base_port: int):
    from sandbox.osv import default_advisories
    from sandbox.server import HOSTS, Sandbox

    if not world.advisories:  # a scenario without advisories gets the default few
        world.advisories = default_advisories()

    ports = {name: base_port + i for i, name in enumerate(HOSTS)} if base_port else None
    try:
        return Sandbox(world, ports=ports).start()
    except OSError:
        log.warning("sandbox ports from %s are taken; using free ports", base_port)
        return Sandbox(world).start()


def print_sandbox(running) -> None:
    world = running.world
    lines = ["Sandbox (emulated Entra ID, Azure DevOps and Slack) is running:"]
    lines += [f"  {name:<6} {url}" for name, url in running.urls.items()]
    lines.append(f"  CA file to trust: {running.ca_path}")
    for tenant in world.tenants:
        lines.append(f"  tenant {tenant.name}: {tenant.id}")
    for org in world.organizations:
        lines.append(f"  organization {org.name} (tenant {org.tenant_id})")
    for app in world.apps:
        # The demo secret is a well-known sandbox value, printed so a newcomer can configure a client.
        lines.append(f"  app {app.display_name}: client id {app.client_id}, secret {app.secret}")
    lines.append(f"  admin page: {running.urls['admin']}/")
    print("\n".join(lines), flush=True)


__all__ = ["Settings", "main"]
