"""`panoptica accounts add-member`, run as an operator runs it: the installed command in a subprocess."""

import json
import subprocess
import sys
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text

PANOPTICA = str(Path(sys.executable).with_name("panoptica"))


def run(database: Path, *args: str) -> subprocess.CompletedProcess:
    env = {"PANOPTICA_DATABASE_URL": f"sqlite+aiosqlite:///{database}", "PATH": "/usr/bin:/bin"}
    return subprocess.run([PANOPTICA, *args], env=env, capture_output=True, text=True, timeout=120)


def members(database: Path) -> list[tuple]:
    engine = create_engine(f"sqlite:///{database}")
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT account_id, tenant_id, object_id, upn FROM account_members"))
        return [tuple(row) for row in rows]


def test_an_operator_adds_a_member_and_bad_input_changes_nothing(tmp_path):
    database = tmp_path / "panoptica.db"
    created = run(database, "accounts", "create", "Acme", "--json")
    assert created.returncode == 0, created.stderr
    account_id = json.loads(created.stdout)["account_id"]
    tenant, person = str(uuid.uuid4()), str(uuid.uuid4()).upper()

    added = run(
        database,
        "accounts",
        "add-member",
        account_id,
        "--tenant-id",
        tenant,
        "--object-id",
        person,
        "--upn",
        "alice@acme.test",
    )
    assert added.returncode == 0, added.stderr
    assert "alice@acme.test" in added.stdout and account_id in added.stdout
    again = run(database, "accounts", "add-member", account_id, "--tenant-id", tenant, "--object-id", person)
    assert again.returncode == 0  # idempotent
    assert members(database) == [(account_id, tenant, person.lower(), "alice@acme.test")]

    not_a_guid = run(
        database, "accounts", "add-member", account_id, "--tenant-id", "contoso", "--object-id", person
    )
    assert not_a_guid.returncode == 2 and "GUIDs" in not_a_guid.stderr
    no_account = run(
        database,
        "accounts",
        "add-member",
        str(uuid.uuid4()),
        "--tenant-id",
        tenant,
        "--object-id",
        str(uuid.uuid4()),
    )
    assert no_account.returncode == 2 and "no account" in no_account.stderr
    assert len(members(database)) == 1
