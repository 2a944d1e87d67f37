"""The job registry: one composition root that refuses an incomplete process, typed payloads checked at
enqueue and at run, transient errors named by their domains, and the worker built from it."""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

import httpx
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.slack_response import SlackResponse
from sqlmodel import select

from api.wiring import CORE, build_registry
from core.azure.errors import TokenRequestFailed, TokenServiceUnavailable
from core.db import session_scope
from core.digests.payloads import BUILD_DIGESTS
from core.jobs import service
from core.jobs.models import Job
from core.jobs.registry import JobKind, MissingHandlers, PayloadError, Registry
from core.jobs.runner import JobRunner
from core.jobs.worker import build_app
from core.scans.payloads import SCAN_CONNECTION, SCAN_REPOSITORY, ScanConnection, ScanRepository
from core.slack.payloads import WATCH_SCAN, SlackCommand, WatchScan


@dataclass(frozen=True)
class Greet:
    name: str
    times: int = 1


GREET = JobKind("test.greet", Greet, queue="long", max_attempts=2)


async def stored_jobs(db) -> list[Job]:
    async with db() as session:
        return list((await session.exec(select(Job))).all())


def test_the_composition_root_knows_every_job_and_tick():
    registry = build_registry()
    assert sorted(registry.handlers) == [
        "digests.build",
        "digests.deliver",
        "posture.connection",
        "retention.prune",
        "scans.connection",
        "scans.repository",
        "slack.check_connection",
        "slack.command",
        "slack.consent_followup",
        "slack.scan_outcome",
    ]
    assert [name for name, _ in registry.ticks] == ["scans", "digests", "retention"]


def test_a_process_without_the_slack_surface_refuses_to_start():
    """Core enqueues three kinds whose handlers live in bot/: leaving bot out is a start-up error."""
    with pytest.raises(MissingHandlers) as refused:
        build_registry(CORE)
    message = str(refused.value)
    assert "digests.build (enqueued by core.digests.schedule)" in message
    assert "slack.consent_followup (enqueued by core.connections.service)" in message
    assert "slack.scan_outcome (enqueued by core.slack.feedback)" in message


def test_a_handler_reading_another_payload_type_is_refused():
    registry = Registry()
    registry.enqueues(BUILD_DIGESTS, by="core.digests.schedule")
    registry.add(JobKind(BUILD_DIGESTS.name, Greet), lambda services, payload: None)
    with pytest.raises(MissingHandlers, match="enqueues BuildDigests, its handler reads Greet"):
        registry.check()


def test_two_handlers_for_one_kind_are_refused():
    registry = Registry()
    registry.add(GREET, lambda services, payload: None)
    with pytest.raises(ValueError, match="two handlers"):
        registry.add(GREET, lambda services, payload: None)


def test_stored_payloads_keep_the_shape_of_the_untyped_jobs():
    """A job queued before payloads were typed loads; a new one is stored with the same keys."""
    assert SCAN_REPOSITORY.dump(ScanRepository(run_id="r1")) == {"run_id": "r1"}
    assert SCAN_CONNECTION.dump(ScanConnection(connection_id="c1", slot="manual:x")) == {
        "connection_id": "c1",
        "slot": "manual:x",
    }
    assert SCAN_CONNECTION.load({"connection_id": "c1"}) == ScanConnection("c1", "")
    before = {
        "account_id": "a1",
        "team_id": "T1",
        "user_id": "U1",
        "channel_id": "C1",
        "response_url": "https://hooks.slack.test/1",
        "issued_at": "2026-12-01T10:00:00+00:00",
        "run_id": "r1",
        "watch_started": "2026-12-01T10:00:01+00:00",
        "looks": 2,
    }
    watch = WATCH_SCAN.load(before)
    assert (watch.run_id, watch.looks, watch.team_id) == ("r1", 2, "T1")
    assert WATCH_SCAN.dump(watch) == before


async def test_a_payload_of_the_wrong_type_or_values_is_refused_at_enqueue_and_nothing_is_stored(db):
    async with session_scope(db) as session:
        with pytest.raises(PayloadError, match="must be a Greet, not dict"):
            await service.enqueue(session, GREET, {"name": "x"})
        with pytest.raises(
            PayloadError, match=r"payload does not fit Greet \(name: Input should be a valid string"
        ):
            await service.enqueue(session, GREET, Greet(name=42))  # type: ignore[arg-type]
        with pytest.raises(PayloadError, match="must be a SlackCommand, not WatchScan"):
            await service.enqueue(
                session,
                JobKind("slack.command", SlackCommand),
                WatchScan(run_id="r", watch_started="t", looks=0),
            )
    assert await stored_jobs(db) == []


async def test_the_kind_sets_queue_and_attempts_and_the_handler_gets_the_typed_payload(db):
    seen: list[Greet] = []

    async def greet(services, payload: Greet) -> None:
        seen.append(payload)

    registry = Registry()
    registry.add(GREET, greet)
    async with session_scope(db) as session:
        await service.enqueue(session, GREET, Greet(name="Ada", times=2))
    [job] = await stored_jobs(db)
    assert (job.queue, job.max_attempts, job.payload) == ("long", 2, {"name": "Ada", "times": 2})
    await JobRunner(SimpleNamespace(sessions=db, jobs=registry)).run_until_idle()
    assert seen == [Greet(name="Ada", times=2)]


async def test_a_stored_payload_that_does_not_fit_fails_its_job_at_once_with_the_reason(db):
    called = []
    registry = Registry()
    registry.add(GREET, lambda services, payload: called.append(payload))
    async with session_scope(db) as session:
        await service.enqueue(
            session, GREET.name, {"times": "often"}, max_attempts=5
        )  # a raw, untyped enqueue
    await JobRunner(SimpleNamespace(sessions=db, jobs=registry)).run_until_idle()
    [job] = await stored_jobs(db)
    assert called == []
    assert (job.status, job.attempts) == ("failed", 1)  # no attempt would make it fit
    assert job.last_error.startswith("job test.greet: payload does not fit Greet (")
    assert (
        "name: Field required" in job.last_error
        and "times: Input should be a valid integer" in job.last_error
    )


def slack_error(status: int) -> SlackApiError:
    response = SlackResponse(
        client=None, http_verb="POST", api_url="https://slack.test/api/chat.postMessage", req_args={},
        data={"ok": False, "error": "x"}, headers={}, status_code=status,
    )  # fmt: skip
    return SlackApiError("refused", response)


def test_domains_name_their_transient_errors():
    registry = build_registry()
    assert registry.is_transient(TokenServiceUnavailable())
    assert not registry.is_transient(TokenRequestFailed())
    assert registry.is_transient(slack_error(429)) and registry.is_transient(slack_error(503))
    assert not registry.is_transient(slack_error(404))
    assert registry.is_transient(httpx.ConnectError("reset")) and registry.is_transient(TimeoutError())
    assert not registry.is_transient(ValueError("a bug"))
    assert not Registry().is_transient(TokenServiceUnavailable())  # without core/azure's rule: not retried


def test_a_runner_without_a_registry_says_where_to_get_one():
    with pytest.raises(ValueError, match="build_registry"):
        JobRunner(SimpleNamespace(sessions=None, jobs=None))


def test_the_worker_is_built_from_the_registry(settings):
    services = SimpleNamespace(settings=settings, jobs=build_registry())
    app = build_app(services)
    assert {"panoptica.job", "panoptica.tick", "panoptica.recover_stalled", "panoptica.prune"} <= set(
        app.tasks
    )
