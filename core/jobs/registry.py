"""What a process knows about its jobs: every kind with its handler, the periodic ticks, and which failures are
worth another attempt. Each domain fills it from its own `jobs.py` (`register(registry)`, an explicit call); one
composition root (`api/wiring.py: build_registry()`) calls them all and refuses to start when a kind that some
module enqueues has no handler. No module-level state: tests build the registry they need.

`core/jobs` is a leaf: it imports no domain module, and domains name their own errors as transient.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar, cast

import httpx
import pydantic
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

P = TypeVar("P")
Handler = Callable[[Any, Any], Awaitable[None]]
Tick = Callable[[Any, datetime], Awaitable[object]]


class PayloadError(ValueError):
    """A payload that does not fit its job kind: refused at enqueue, and a stored one fails its job at once."""


@dataclass(frozen=True)
class JobKind(Generic[P]):
    """A kind of job: its name (stored in `jobs.kind`), its payload type, where and how often it runs.

    `payload` is a dataclass (or any type pydantic validates); None keeps the payload a plain dict. The stored
    JSON is the dataclass's fields by name, so a job queued before an upgrade still loads."""

    name: str
    payload: type[P] | None = None
    queue: str = "quick"
    max_attempts: int = 5

    def dump(self, payload: object) -> dict[str, Any]:
        """The payload as stored (JSON-ready), checked against the kind's type."""
        if self.payload is None:
            if not isinstance(payload, dict):
                raise PayloadError(
                    f"job {self.name}: the payload must be a dict, not {type(payload).__name__}"
                )
            return cast("dict[str, Any]", payload)
        if not isinstance(payload, self.payload):
            raise PayloadError(
                f"job {self.name}: the payload must be a {self.payload.__name__}, not {type(payload).__name__}"
            )
        data = _adapter(self.payload).dump_python(payload, mode="json", warnings=False)
        self.load(data)  # the values too: a str field given an int is refused here, not at run time
        return data

    def load(self, data: dict[str, Any]) -> P:
        """The stored payload as the kind's type; a clear PayloadError when it does not fit."""
        if self.payload is None:
            return data  # type: ignore[return-value]
        try:
            return _adapter(self.payload).validate_python(data)
        except pydantic.ValidationError as error:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'payload'}: {e['msg']}" for e in error.errors()
            )
            raise PayloadError(
                f"job {self.name}: payload does not fit {self.payload.__name__} ({problems})"
            ) from None


_ADAPTERS: dict[type, pydantic.TypeAdapter[Any]] = {}


def _adapter(payload_type: type) -> pydantic.TypeAdapter[Any]:
    # A cache of validators, not of state: one TypeAdapter per payload type (building one costs more than using it).
    if payload_type not in _ADAPTERS:
        _ADAPTERS[payload_type] = pydantic.TypeAdapter(payload_type)
    return _ADAPTERS[payload_type]


def as_kind(kind: JobKind[Any] | str) -> JobKind[Any]:
    return kind if isinstance(kind, JobKind) else JobKind(kind)


@dataclass(frozen=True)
class Registered:
    kind: JobKind[Any]
    handler: Handler


class MissingHandlers(RuntimeError):
    """Refuses to start a process that would enqueue jobs nobody runs."""


# Failures that another attempt may not meet: the network, a database failover. Domains add their own
# (an Azure outage, a Slack rate limit) with `Registry.transient`.
TRANSIENT = (ConnectionError, TimeoutError, httpx.TransportError, OperationalError, InterfaceError)


@dataclass
class Registry:
    handlers: dict[str, Registered] = field(default_factory=dict[str, Registered])
    # Kinds some module enqueues, with the module that declared it: each must have a handler at start-up.
    enqueued: dict[str, tuple[JobKind[Any], str]] = field(default_factory=dict[str, tuple[JobKind[Any], str]])
    ticks: list[tuple[str, Tick]] = field(default_factory=list[tuple[str, Tick]])
    transient_rules: list[tuple[type[BaseException], Callable[[Any], bool]]] = field(
        default_factory=list[tuple[type[BaseException], Callable[[Any], bool]]]
    )

    def add(self, kind: JobKind[P] | str, handler: Callable[[Any, P], Awaitable[None]]) -> None:
        kind = as_kind(kind)
        if kind.name in self.handlers:
            raise ValueError(f"job kind {kind.name} has two handlers")
        self.handlers[kind.name] = Registered(kind, handler)

    def enqueues(self, kind: JobKind[Any] | str, by: str) -> None:
        """Declares that `by` (a module) enqueues `kind`, whose handler may live elsewhere (a surface)."""
        kind = as_kind(kind)
        self.enqueued[kind.name] = (kind, by)

    def tick(self, name: str, function: Tick) -> None:
        """A periodic schedule: `function(services, now)` enqueues due work (with dedupe keys)."""
        self.ticks.append((name, function))

    def transient(
        self, error_type: type[BaseException], rule: Callable[[Any], bool] = lambda error: True
    ) -> None:
        """Errors of `error_type` are retried when `rule(error)` holds, failed at once otherwise."""
        self.transient_rules.append((error_type, rule))

    def get(self, name: str) -> Registered | None:
        return self.handlers.get(name)

    def missing(self) -> dict[str, str]:
        return {name: by for name, (_, by) in sorted(self.enqueued.items()) if name not in self.handlers}

    def check(self) -> Registry:
        """The registry, when every enqueued kind has a handler that reads the payload type it is given."""
        missing = self.missing()
        if missing:
            listed = ", ".join(f"{name} (enqueued by {by})" for name, by in missing.items())
            raise MissingHandlers(f"job kinds without a handler: {listed}; register them before starting")
        for name, (kind, by) in sorted(self.enqueued.items()):
            handled = self.handlers[name].kind
            if handled.payload is not kind.payload:
                raise MissingHandlers(
                    f"job kind {name}: {by} enqueues {getattr(kind.payload, '__name__', 'a dict')}, its handler "
                    f"reads {getattr(handled.payload, '__name__', 'a dict')}"
                )
        return self

    def is_transient(self, error: BaseException) -> bool:
        """Retry only what may pass; a bug or a refusal fails the job at once, with its reason kept."""
        for error_type, rule in self.transient_rules:
            if isinstance(error, error_type):
                return bool(rule(error))
        if isinstance(error, DBAPIError) and error.connection_invalidated:
            return True
        return isinstance(error, TRANSIENT)


def fields_of(payload: object) -> dict[str, Any]:
    """A payload dataclass as the dict a handler written for dicts reads (its stored shape)."""
    return dataclasses.asdict(payload) if dataclasses.is_dataclass(payload) else dict(payload)  # type: ignore[arg-type]
