"""The unit of posture: a self-describing control, its per-resource result, and the registry that finds them.

Each control (prowler's model) carries its id, title, severity, rationale, remediation and sources, with its
evaluation code beside it in `core/posture/controls/`. A control yields one result per resource it covers:
PASS, FAIL, or NOT_EVALUATED with the reason. Never PASS when the data could not be read.
"""

from __future__ import annotations

import enum
import importlib
import pkgutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from core.scans.scanner import Rule


class Status(enum.StrEnum):
    PASS = "PASS"  # noqa: S105 - a status, not a password
    FAIL = "FAIL"
    NOT_EVALUATED = "NOT_EVALUATED"


@dataclass(frozen=True)
class Resource:
    """What a result is about: the project itself, one of its repositories, pipelines or resources."""

    type: str  # project, repository, definition, endpoint, variablegroup, securefile, queue, environment
    id: str  # the Azure DevOps id (the project's id for project-level results)
    name: str
    repository_id: str | None = None  # our repository row, for repository results

    @property
    def locator(self) -> str:
        return f"{self.type}/{self.name}"


@dataclass(frozen=True)
class Result:
    control_id: str
    resource: Resource
    status: Status
    reason: str  # one sentence naming the resource and why (prowler's status_extended)


@dataclass(frozen=True)
class Control:
    id: str
    title: str
    severity: str
    resource_type: str
    rationale: str
    remediation: str
    help_uri: str = ""
    sources: tuple[str, ...] = ()
    evaluate: Callable[..., Iterable[Result]] = field(default=lambda c, data: (), compare=False, repr=False)

    @property
    def rule(self) -> Rule:
        return Rule(
            id=self.id,
            title=self.title,
            severity=self.severity,
            category="POSTURE",
            rationale=self.rationale,
            remediation=self.remediation,
            help_uri=self.help_uri,
        )

    def run(self, data) -> list[Result]:
        return list(self.evaluate(self, data))

    def result(self, resource: Resource, status: Status, reason: str) -> Result:
        return Result(self.id, resource, status, reason)

    def check(self, resource: Resource, passed: bool, pass_reason: str, fail_reason: str) -> Result:
        return self.result(
            resource, Status.PASS if passed else Status.FAIL, pass_reason if passed else fail_reason
        )


REGISTRY: dict[str, Control] = {}


def control(**metadata) -> Callable:
    """Declare the decorated function `evaluate(control, data) -> Iterable[Result]` as a control."""

    def register(evaluate: Callable[..., Iterable[Result]]) -> Callable:
        declared = Control(**metadata, evaluate=evaluate)
        if declared.id in REGISTRY:
            raise ValueError(f"posture control {declared.id} is declared twice")
        REGISTRY[declared.id] = declared
        return evaluate

    return register


def all_controls() -> list[Control]:
    """Every control in `core/posture/controls/` (found by convention: importing a module registers them)."""
    import core.posture.controls as package

    for module in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"{package.__name__}.{module.name}")
    return sorted(REGISTRY.values(), key=lambda c: c.id)
