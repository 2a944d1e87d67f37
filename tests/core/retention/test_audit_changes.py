"""The audit log records changes, not repetitions: the daily re-verification of a connection that changes
nothing moves its "last verified" time and writes no event; a change of state is one event, once."""

from sqlmodel import select

from core.audit.models import AuditEvent
from core.connections.models import AzureConnection
from core.scans.schedule import scan_connection
from tests.api.conftest import alice, app, http  # noqa: F401 - fixtures
from tests.support.connect_api import connect, consented


async def verify_events(db, connection_id: str) -> list[AuditEvent]:
    async with db() as session:
        rows = (await session.exec(select(AuditEvent).order_by(AuditEvent.created_at))).all()
    return [e for e in rows if e.action.startswith("connection.verify.") and e.subject == "contoso"]


async def last_verified(db, connection_id: str):
    async with db() as session:
        return (await session.get(AzureConnection, connection_id)).last_verified_at


async def test_daily_verification_records_changes_not_repetitions(alice, sandbox, world, http, app, db):  # noqa: F811
    connection_id = await consented(alice, sandbox, http)
    assert (await connect(alice, connection_id))["ok"] is True
    services = app.state.services
    connected_at = await last_verified(db, connection_id)

    for day in ("2026-12-01", "2026-12-02"):
        await scan_connection(services, connection_id, f"{day}T02:00:00+00:00", trigger="SCHEDULE")
    assert await verify_events(db, connection_id) == []  # nothing changed: no event
    assert await last_verified(db, connection_id) > connected_at  # but the time it was verified moved

    world.organization("contoso").members.clear()  # the service principal was removed from the organization
    await scan_connection(services, connection_id, "2026-12-03T02:00:00+00:00", trigger="SCHEDULE")
    await scan_connection(services, connection_id, "2026-12-04T02:00:00+00:00", trigger="SCHEDULE")
    events = await verify_events(db, connection_id)
    assert [e.action for e in events] == ["connection.verify.failed"]  # the change, once
    assert events[0].details["changed"]["status"] == {"from": "CONNECTED", "to": "DEGRADED"}
    assert events[0].details["failed"]

    async with db() as session:
        connection = await session.get(AzureConnection, connection_id)
    assert connection.status == "DEGRADED"
