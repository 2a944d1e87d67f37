"""What the posture controls read about one project, fetched once per evaluation.

Every value is a `Read`: the data, or why it could not be read (the service principal was refused, Azure
DevOps did not answer). Controls turn an unreadable `Read` into NOT_EVALUATED with that reason. Only
documented 7.1 endpoints are used (reference azure-devops.md §7 and §8); nothing here needs more than a Basic
service principal in the project's Contributors group, and what it may not read is reported, not guessed.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from core.azure import path_segment
from core.azure.errors import AzureError, Forbidden, NotFound, Unauthorized
from core.azure.models import (
    AgentQueue,
    BuildDefinition,
    CheckConfiguration,
    Commit,
    Environment,
    PipelineGeneralSettings,
    PolicyConfiguration,
    ResourcePipelinePermissions,
    SecureFile,
    ServiceEndpoint,
    VariableGroup,
)
from core.discovery.models import AzureProject, AzureRepository

PREVIEW = "7.1-preview.1"
# AzSK's production stage names, matched as words in an environment's name.
PRODUCTION = re.compile(r"\b(prod|production|pre-?prod|pre-?production)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Read:
    value: Any = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def why(self) -> str:
        """Why the read failed (asked only when it is not ok)."""
        return self.error or ""


@dataclass
class ProjectData:
    project: AzureProject
    organization: str
    repositories: list[AzureRepository]
    general_settings: Read = field(default_factory=Read)
    policies: Read = field(default_factory=Read)
    definitions: Read = field(default_factory=Read)
    endpoints: Read = field(default_factory=Read)
    variable_groups: Read = field(default_factory=Read)
    secure_files: Read = field(default_factory=Read)
    queues: Read = field(default_factory=Read)
    environments: Read = field(default_factory=Read)
    # "{resourceType}/{id}" -> the pipeline permissions of that resource
    permissions: dict[str, Read] = field(default_factory=dict)
    # environment id -> its checks (approvals, branch control)
    environment_checks: dict[str, Read] = field(default_factory=dict)
    # repository row id -> date of the default branch's head commit
    last_commits: dict[str, Read] = field(default_factory=dict)
    # repository row id -> (commit id, committer date) of the heads read in this evaluation, to keep
    head_dates: dict[str, tuple[str, str]] = field(default_factory=dict)
    inactive_days: int = 180
    now: datetime | None = None


def why_unreadable(error: AzureError, what: str) -> str:
    answer = error.detail or error.message
    if isinstance(error, Forbidden | Unauthorized | NotFound):
        return f"The service principal may not read {what} (Azure DevOps answered {answer})."
    return f"Azure DevOps did not return {what} ({answer})."


async def read(what: str, call) -> Read:
    try:
        return Read(await call)
    except AzureError as error:
        return Read(error=why_unreadable(error, what)[:480])


async def collect_project(
    org, project: AzureProject, repositories, *, inactive_days: int, now
) -> ProjectData:
    """Everything the controls need for one project: lists first, then per-resource reads, concurrently."""
    prefix = f"{path_segment(project.ado_id)}/_apis"
    data = ProjectData(project, org.name, repositories, inactive_days=inactive_days, now=now)

    async def listed(model, path: str, params: dict | None = None, *, paged: bool = True) -> list:
        if not paged:
            return await org.list_as(model, f"{prefix}/{path}", params)
        return [item async for item in org.paged_as(model, f"{prefix}/{path}", params)]

    (
        data.general_settings,
        data.policies,
        data.definitions,
        data.endpoints,
        data.variable_groups,
        data.secure_files,
        data.queues,
        data.environments,
    ) = await asyncio.gather(
        read(
            "the project's pipeline settings",
            org.get_as(PipelineGeneralSettings, f"{prefix}/build/generalsettings"),
        ),
        read("the project's branch policies", listed(PolicyConfiguration, "policy/configurations")),
        read(
            "the project's pipeline definitions",
            listed(BuildDefinition, "build/definitions", {"includeAllProperties": "true"}),
        ),
        read(
            "the project's service connections",
            listed(ServiceEndpoint, "serviceendpoint/endpoints", paged=False),
        ),
        read("the project's variable groups", listed(VariableGroup, "distributedtask/variablegroups")),
        read("the project's secure files", listed(SecureFile, "distributedtask/securefiles", paged=False)),
        read("the project's agent queues", listed(AgentQueue, "distributedtask/queues", paged=False)),
        read("the project's environments", listed(Environment, "distributedtask/environments")),
    )
    await asyncio.gather(
        read_permissions(org, prefix, data),
        read_environment_checks(org, prefix, data),
        read_last_commits(org, prefix, data),
    )
    return data


def permission_targets(data: ProjectData) -> list[tuple[str, str]]:
    """The (resourceType, id) whose "open to all pipelines" flag a control reads."""
    targets = [("endpoint", e.id) for e in (data.endpoints.value or [])]
    targets += [("variablegroup", g.id) for g in (data.variable_groups.value or []) if holds_secrets(g)]
    targets += [("securefile", f.id) for f in (data.secure_files.value or [])]
    targets += [("queue", q.id) for q in (data.queues.value or []) if not is_hosted(q)]
    return targets


async def read_permissions(org, prefix: str, data: ProjectData) -> None:
    targets = permission_targets(data)
    reads = await asyncio.gather(
        *(
            read(
                f"who may use {kind} {rid}",
                org.get_as(
                    ResourcePipelinePermissions,
                    f"{prefix}/pipelines/pipelinepermissions/{kind}/{path_segment(rid)}",
                    api_version=PREVIEW,
                ),
            )
            for kind, rid in targets
        )
    )
    data.permissions = {f"{kind}/{rid}": r for (kind, rid), r in zip(targets, reads, strict=True)}


async def read_environment_checks(org, prefix: str, data: ProjectData) -> None:
    production = [e for e in (data.environments.value or []) if is_production(e)]
    reads = await asyncio.gather(
        *(
            read(
                f"the checks of environment {e.name}",
                org.list_as(
                    CheckConfiguration,
                    f"{prefix}/pipelines/checks/configurations",
                    {"resourceType": "environment", "resourceId": e.id, "$expand": "settings"},
                    api_version=PREVIEW,
                ),
            )
            for e in production
        )
    )
    data.environment_checks = {
        e.id: Read(list(r.value or []), r.error) for e, r in zip(production, reads, strict=True)
    }


# How long a head listed by the daily connection job (`core/scans/unchanged.py`) stands for the branch's head.
HEAD_LISTING_FRESH = timedelta(hours=26)


def stored_head_date(repository: AzureRepository, now: datetime | None) -> datetime | None:
    """The date kept for the head the daily job just listed (it is cleared whenever that head moves)."""
    listed, date = repository.head_listed_at, repository.head_committed_at
    if listed is None or date is None or now is None or now - listed > HEAD_LISTING_FRESH:
        return None
    return date


def parse_date(value) -> datetime | None:
    """A commit date as Azure DevOps writes it (ISO 8601, often with a Z); None for what does not parse."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


async def read_last_commits(org, prefix: str, data: ProjectData) -> None:
    """Each repository's head commit date: kept from an earlier read while its head has not moved, else read
    (`commits?$top=1`); what was read is kept (`data.head_dates`) for the next evaluation."""
    repos = [r for r in data.repositories if r.default_branch]
    kept = {r.id: date for r in repos if (date := stored_head_date(r, data.now)) is not None}
    to_read = [r for r in repos if r.id not in kept]

    async def head_commit(repo: AzureRepository) -> Commit | None:
        commits = await org.list_as(
            Commit,
            f"{prefix}/git/repositories/{path_segment(repo.ado_id)}/commits",
            {
                "searchCriteria.$top": 1,
                "searchCriteria.itemVersion.version": (repo.default_branch or "").removeprefix(
                    "refs/heads/"
                ),  # repos: those with one
            },
        )
        return commits[0] if commits else None

    reads = await asyncio.gather(*(read(f"the history of {r.name}", head_commit(r)) for r in to_read))
    data.last_commits = {rid: Read(date.isoformat()) for rid, date in kept.items()}
    for repo, answer in zip(to_read, reads, strict=True):
        commit = answer.value
        data.last_commits[repo.id] = Read(commit.committer.date if commit else None, answer.error)
        if commit is not None and commit.commit_id and commit.committer.date:
            data.head_dates[repo.id] = (commit.commit_id, commit.committer.date)


def check_type(check: CheckConfiguration) -> str:
    return check.type.name


def enabled_checks(
    checks: list[CheckConfiguration], type_name: str
) -> tuple[list[CheckConfiguration], list[CheckConfiguration]]:
    """The checks of that type (`Approval`, `Task Check` for branch control and business hours, `ExclusiveLock`…)
    split into (enabled, disabled). A check with `isDisabled: true` (CheckConfiguration) does not run: it is no
    protection, and every control that reads checks counts it as absent."""
    typed = [c for c in checks if check_type(c) == type_name]
    return [c for c in typed if not c.is_disabled], [c for c in typed if c.is_disabled]


def holds_secrets(group: VariableGroup) -> bool:
    if group.type == "AzureKeyVault":
        return True  # every variable of a Key Vault group is a secret
    return any(v.is_secret for v in group.variables.values())


def is_hosted(queue: AgentQueue) -> bool:
    return queue.pool.is_hosted


def is_production(environment: Environment) -> bool:
    return bool(PRODUCTION.search(environment.name))
