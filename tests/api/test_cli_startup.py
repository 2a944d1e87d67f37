"""The `panoptica` command as an operator meets it: the installed command in a subprocess, its output and exit code.

Where the data lives (PANOPTICA_HOME, whatever the current directory), help and --version, accounts and tokens
listed, a bad setting / a missing database / a taken port said in one line before anything starts, and the
emulator's temporary folder (its TLS private key) gone after every stop.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from core.settings import load_settings

PANOPTICA = str(Path(sys.executable).with_name("panoptica"))


def environment(tmp_path: Path, **extra: str) -> dict:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path / "user"), "TMPDIR": str(tmp_path / "tmp")}
    (tmp_path / "tmp").mkdir(exist_ok=True)
    env.update(extra)
    return env


def run(env: dict, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [PANOPTICA, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=180, check=False
    )


def one_line(result: subprocess.CompletedProcess) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_bare_command_prints_help_and_version_is_the_installed_one(tmp_path):
    from importlib.metadata import version

    env = environment(tmp_path)
    bare = run(env)
    assert bare.returncode == 0 and "usage: panoptica" in bare.stdout and "serve" in bare.stdout
    group = run(env, "tokens")
    assert group.returncode == 0 and "list" in group.stdout and "revoke" in group.stdout
    shown = run(env, "--version")
    assert shown.returncode == 0 and shown.stdout.strip() == f"panoptica {version('panoptica-azure')}"


def test_default_home_is_the_users_data_directory_not_the_current_one(tmp_path):
    env = environment(tmp_path)  # no PANOPTICA_HOME, no XDG_DATA_HOME: ~/.local/share/panoptica
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    created = run(env, "accounts", "create", "Acme", "--json", cwd=tmp_path / "a")
    assert created.returncode == 0, created.stderr
    account_id = json.loads(created.stdout)["account_id"]
    assert (tmp_path / "user" / ".local" / "share" / "panoptica" / "panoptica.db").is_file()
    assert not (tmp_path / "a" / "var").exists()

    listed = run(env, "accounts", "list", "--json", cwd=tmp_path / "b")
    assert listed.returncode == 0, listed.stderr
    assert [(a["id"], a["name"], a["active_tokens"], a["members"]) for a in json.loads(listed.stdout)] == [
        (account_id, "Acme", 1, 0)
    ]


def test_accounts_and_tokens_are_listed_without_the_token(tmp_path):
    env = environment(tmp_path, PANOPTICA_HOME=str(tmp_path / "home"))
    acme = json.loads(run(env, "accounts", "create", "Acme", "--json").stdout)
    beta = json.loads(run(env, "accounts", "create", "Beta", "--json").stdout)
    second = json.loads(
        run(
            env, "tokens", "create", "--account", acme["account_id"], "--user", "x@acme.test", "--json"
        ).stdout
    )
    assert run(env, "tokens", "revoke", second["token_id"]).returncode == 0

    accounts = run(env, "accounts", "list")
    assert accounts.returncode == 0, accounts.stderr
    lines = accounts.stdout.splitlines()
    assert lines[0].split() == ["ID", "NAME", "CREATED", "TOKENS", "MEMBERS"]
    assert [line.split()[:2] + line.split()[-2:] for line in lines[1:]] == [
        [acme["account_id"], "Acme", "1", "0"],
        [beta["account_id"], "Beta", "1", "0"],
    ]

    tokens = run(env, "tokens", "list", "--account", acme["account_id"], "--json")
    assert tokens.returncode == 0, tokens.stderr
    rows = json.loads(tokens.stdout)
    assert {r["id"]: r["revoked_at"] is None for r in rows} == {
        acme["token_id"]: True,
        second["token_id"]: False,
    }
    everything = run(env, "tokens", "list")
    for secret in (acme["token"], beta["token"], second["token"]):
        assert secret not in everything.stdout and secret not in tokens.stdout
    assert "revoked" in everything.stdout and everything.stdout.count("active") == 2

    unknown = run(env, "tokens", "list", "--account", "00000000-0000-0000-0000-000000000000")
    assert unknown.returncode == 2 and "no account" in one_line(unknown)


def test_a_read_command_never_creates_an_empty_database(tmp_path):
    env = environment(tmp_path, PANOPTICA_HOME=str(tmp_path / "elsewhere"))
    for args in (("export", "sarif", "some-id"), ("accounts", "list"), ("tokens", "list")):
        result = run(env, *args)
        assert result.returncode == 2
        line = one_line(result)
        assert (
            f"no database at {tmp_path / 'elsewhere' / 'panoptica.db'}" in line and "PANOPTICA_HOME" in line
        )
    assert not (tmp_path / "elsewhere" / "panoptica.db").exists()


def test_an_unreachable_or_missing_postgresql_is_one_line(tmp_path):
    closed = free_port()
    env = environment(
        tmp_path, PANOPTICA_DATABASE_URL=f"postgresql://u:hunter2pw@127.0.0.1:{closed}/panoptica"
    )
    for args in (("db", "upgrade"), ("accounts", "list"), ("serve", "--port", str(free_port()))):
        result = run(env, *args)
        assert result.returncode == 2
        line = one_line(result)
        assert f"127.0.0.1:{closed}/panoptica unavailable: connection refused" in line
        assert "hunter2pw" not in result.stderr and result.stdout == ""
    url = os.environ.get("PANOPTICA_TEST_DATABASE_URL", "")
    if url.startswith(
        "postgres"
    ):  # the suite's PostgreSQL run: a database that does not exist on a real server
        missing = url.rsplit("/", 1)[0] + "/panoptica_no_such_database"
        result = run(environment(tmp_path, PANOPTICA_DATABASE_URL=missing), "tokens", "list")
        assert result.returncode == 2
        assert 'database "panoptica_no_such_database" does not exist' in one_line(result)


def test_every_bad_setting_stops_start_up_in_one_line(tmp_path):
    home = tmp_path / "home"
    cases = {
        "PANOPTICA_SCANNERS": ("secrets,foo", "unknown scanner(s) foo (known: "),
        "PANOPTICA_SCAN_CONCURRENCY": ("zero", "valid integer"),
        "PANOPTICA_DIGEST_TIME": ("25:00", "match pattern"),
        "PORT": ("eighty", "must be a port number"),
    }
    for variable, (value, reason) in cases.items():
        env = environment(tmp_path, PANOPTICA_HOME=str(home), **{variable: value})
        for command in (("serve", "--sandbox"), ("worker",)) if variable != "PORT" else (("serve",),):
            result = run(env, *command)
            assert result.returncode == 2, (variable, result.stderr)
            line = one_line(result)
            assert line.startswith(f"panoptica: invalid setting {variable}: ") and reason in line, line
            assert result.stdout == ""  # nothing started: no emulator, no token
    assert not home.exists()


def test_a_taken_port_fails_before_anything_else(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        env = environment(tmp_path, PANOPTICA_HOME=str(tmp_path / "home"), PORT=str(port))
        result = run(env, "serve", "--sandbox")
    assert result.returncode == 2
    assert one_line(result) == (
        f"panoptica: port {port} on 127.0.0.1 is in use: choose another with --port N or PORT=N"
    )
    assert result.stdout == ""  # no token printed, no emulator started
    assert not (tmp_path / "home").exists() and list((tmp_path / "tmp").iterdir()) == []


def start(env: dict, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [PANOPTICA, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def read_until(process: subprocess.Popen, marker: str, seconds: float = 120) -> list[str]:
    lines: list[str] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip("\n"))
        if marker in line:
            return lines
    process.kill()
    raise AssertionError(f"{marker!r} never printed:\n" + "\n".join(lines))


def test_serve_with_the_emulator_leaves_no_temporary_files_on_sigterm_or_ctrl_c(tmp_path):
    port = free_port()
    env = environment(tmp_path, PANOPTICA_HOME=str(tmp_path / "home"), PORT=str(port))
    world = tmp_path / "home" / "sandbox" / "world.json"
    for stop, note in (
        (signal.SIGTERM, "  world: fresh from demo.yaml"),
        (signal.SIGINT, "  world: restored from"),
    ):
        process = start(env, "serve", "--sandbox")
        try:
            lines = read_until(process, "Application startup complete")  # uvicorn's, after our banner
            assert any(line.startswith(f"Console:   http://127.0.0.1:{port}/") for line in lines)
            assert any(line.startswith(note) for line in lines), lines  # the second start is the same world
            sandbox_dirs = list((tmp_path / "tmp").glob("panoptica-sandbox-*"))
            assert len(sandbox_dirs) == 1 and (sandbox_dirs[0] / "key.pem").is_file()
        finally:
            process.send_signal(stop)
            rest, _ = process.communicate(timeout=60)
        assert process.returncode == 0, rest
        assert "Traceback" not in rest
        assert list((tmp_path / "tmp").iterdir()) == []
    assert (tmp_path / "home" / "panoptica.db").is_file() and world.is_file()  # both in PANOPTICA_HOME


def test_the_emulator_alone_removes_its_folder_on_sigterm(tmp_path):
    env = environment(tmp_path)
    process = start(env, "sandbox", "--base-port", "0")
    try:
        read_until(process, "admin page:")
        assert len(list((tmp_path / "tmp").glob("panoptica-sandbox-*"))) == 1
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=60)
    assert process.returncode == 0
    assert list((tmp_path / "tmp").iterdir()) == []


def test_home_is_fixed_at_start_up(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PANOPTICA_DATABASE_URL", raising=False)
    monkeypatch.setenv("PANOPTICA_HOME", "var")
    settings = load_settings()
    assert settings.home == tmp_path / "var"
    assert settings.database_url == f"sqlite+aiosqlite:///{tmp_path}/var/panoptica.db"
    assert settings.key_directory == str(tmp_path / "var")


def test_every_setting_is_documented_in_the_readme():
    import re

    from core.settings import Settings

    root = Path(__file__).resolve().parents[2]
    readme = (root / "README.md").read_text()
    names = {f"PANOPTICA_{name.upper()}" for name in Settings.model_fields}
    for package in ("core", "api", "bot"):  # the variables read directly (scanner executables, ...)
        for source in (root / package).rglob("*.py"):
            # Not a family mentioned as PANOPTICA_X_*: its members are the settings themselves.
            names |= set(re.findall(r"\bPANOPTICA_[A-Z][A-Z0-9_]*[A-Z0-9](?![A-Z0-9_*])", source.read_text()))
    names -= {"PANOPTICA_TEST_DATABASE_URL"}
    assert sorted(n for n in names if f"`{n}`" not in readme) == []


def test_make_run_installs_every_scanner_with_progress_and_keeps_var(tmp_path):
    root = Path(__file__).resolve().parents[2]
    # -B: as on a fresh clone (every prerequisite rebuilt); -n: print the commands, run nothing.
    plan = subprocess.run(
        ["make", "-n", "-B", "run", "PORT=8123"], cwd=root, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    installs = [line for line in plan if "pip install" in line]
    assert installs and all(" -q" not in line for line in installs)
    serve = next(i for i, line in enumerate(plan) if "panoptica serve" in line)
    for tool in ("tools/checkov-requirements.txt", "tools/semgrep-requirements.txt", "git-http-backend"):
        assert any(tool in line for line in plan[:serve]), tool
    assert plan[serve] == f'PANOPTICA_HOME="{root}/var" .venv/bin/panoptica serve --sandbox --port 8123'
