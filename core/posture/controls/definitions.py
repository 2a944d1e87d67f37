"""Build definitions (ADO-PIPE-08, 09, 15): plaintext secrets, queue-time variables, fork builds.

Read from `build/definitions?includeAllProperties=true` (one paged list per project, variables and triggers
included). Whether a value is a secret is `core/posture/secret_values.py`'s call. A secret value is never put in a
reason: the variable's name (and what made it a secret) is enough to find it.
"""

from __future__ import annotations

from core.azure.models import BuildDefinition
from core.posture.control import Control, Resource, Status, control
from core.posture.controls.pipeline_settings import project_resource
from core.posture.data import ProjectData
from core.posture.secret_values import named_secrets

DOCS = "https://learn.microsoft.com/en-us/azure/devops/pipelines/process/set-secret-variables"


def definitions(check: Control, data: ProjectData):
    """(resource, definition) for each definition, or one NOT_EVALUATED result when they are unreadable."""
    if not data.definitions.ok:
        return None, [check.result(project_resource(data), Status.NOT_EVALUATED, data.definitions.why)]
    pairs = [(Resource("definition", d.id, d.name or d.id), d) for d in data.definitions.value or []]
    return pairs, []


@control(
    id="ADO-PIPE-08",
    title="No plaintext secrets in pipeline variables",
    severity="HIGH",
    resource_type="definition",
    rationale="A secret in a variable that is not marked secret is shown to everyone who can view the "
    "pipeline, printed in logs, and kept in the definition's history. Judged by the value (our secret "
    "detectors, then entropy per character set), the name only raising confidence: a URL, a Key Vault "
    "secret's name, a path or a `$(reference)` is not a secret.",
    remediation="Rotate the credential, then store it as a secret variable (lock icon), in a variable group "
    "linked to Azure Key Vault, or in a service connection.",
    help_uri=DOCS,
    sources=("AzSK Build_DP_No_PlainText_Secrets_In_Definition",),
)
def plaintext_secrets(check: Control, data: ProjectData):
    pairs, unreadable = definitions(check, data)
    yield from unreadable
    for resource, definition in pairs or []:
        found = named_secrets(definition.variables)
        yield check.check(
            resource,
            not found,
            f"Pipeline {resource.name}: no variable holds a plaintext secret.",
            f"Pipeline {resource.name}: variable(s) {found} hold a secret in plain text.",
        )


@control(
    id="ADO-PIPE-09",
    title="Pipeline variables are not settable at queue time",
    severity="MEDIUM",
    resource_type="definition",
    rationale="A variable settable at queue time lets whoever queues the pipeline change what its scripts "
    "do (URLs, tool paths, flags) without a code change.",
    remediation="Clear 'Let users override this value when running this pipeline' on variables that do not "
    "need it, and turn on the project's 'Limit variables that can be set at queue time'.",
    help_uri="https://learn.microsoft.com/en-us/azure/devops/pipelines/process/variables#allow-at-queue-time",
    sources=("AzSK Build_SI_Review_Variables_Settable_At_Queue_Time",),
)
def queue_time_variables(check: Control, data: ProjectData):
    pairs, unreadable = definitions(check, data)
    yield from unreadable
    for resource, definition in pairs or []:
        names = sorted(n for n, v in definition.variables.items() if v.allow_override)
        yield check.check(
            resource,
            not names,
            f"Pipeline {resource.name}: no variable can be set at queue time.",
            f"Pipeline {resource.name}: {', '.join(names)} can be set at queue time.",
        )


@control(
    id="ADO-PIPE-15",
    title="Pipelines do not give fork builds secrets or a full-scope token",
    severity="HIGH",
    resource_type="definition",
    rationale="A pull request from a fork runs untrusted code; a pipeline that hands it secrets or a "
    "full-access token lets any outsider steal them.",
    remediation="Edit the pipeline → Triggers → Pull request validation: clear 'Make secrets available to "
    "builds of forks' and 'Make fork builds have the same permissions as regular builds'.",
    help_uri="https://learn.microsoft.com/en-us/azure/devops/pipelines/repos/github#contributions-from-forks",
    sources=("AzSK Build_DP_Dont_Make_Secrets_Available_To_Forked_Builds", "Defender for Cloud (High)"),
)
def fork_build_secrets(check: Control, data: ProjectData):
    pairs, unreadable = definitions(check, data)
    yield from unreadable
    for resource, definition in pairs or []:
        problems = fork_trigger_problems(definition)
        yield check.check(
            resource,
            not problems,
            f"Pipeline {resource.name}: fork builds get no secrets and no full-scope token.",
            f"Pipeline {resource.name}: fork builds {' and '.join(problems)}.",
        )


def fork_trigger_problems(definition: BuildDefinition) -> list[str]:
    problems = []
    for trigger in definition.triggers:
        if trigger.trigger_type != "pullRequest":
            continue
        forks, settings = trigger.forks, trigger.pipeline_trigger_settings
        if not forks.enabled and not settings.builds_enabled_for_forks:
            continue
        if forks.allow_secrets or settings.enforce_no_access_to_secrets_from_forks is False:
            problems.append("get the pipeline's secrets")
        if forks.allow_full_access_token or settings.enforce_job_auth_scope_for_forks is False:
            problems.append("get a full-scope token")
    return sorted(set(problems))
