"""Project pipeline settings (ADO-PIPE-01…07): `build/generalsettings`, one result per project.

Each control reads one or a few documented fields of `PipelineGeneralSettings` (reference azure-devops.md
§8.2). The organization-level switches override these when set, but they have no documented API: a project
value is what this service principal can read, and the reason says which field decided.
"""

from __future__ import annotations

from core.azure.models import PipelineGeneralSettings
from core.posture.control import Control, Resource, Result, Status, control
from core.posture.data import ProjectData

DOCS = "https://learn.microsoft.com/en-us/azure/devops/pipelines/security/misc"
SETTINGS_PATH = "Project settings → Pipelines → Settings"


def project_resource(data: ProjectData) -> Resource:
    return Resource("project", data.project.ado_id, data.project.name)


def unreadable_settings(check: Control, data: ProjectData, fields) -> Result | None:
    """NOT_EVALUATED when the settings could not be read or lack a field the control decides by."""
    resource = project_resource(data)
    if not data.general_settings.ok:
        return check.result(resource, Status.NOT_EVALUATED, data.general_settings.why)
    missing = [name for name in fields if not data.general_settings.value.reported(name)]
    if missing:
        reason = f"{data.project.name}: the pipeline settings do not report {', '.join(missing)}."
        return check.result(resource, Status.NOT_EVALUATED, reason)
    return None


def judge_settings(check: Control, data: ProjectData, secure: dict[str, bool], meaning: str):
    """PASS when every listed field has its secure value; the reason names the fields that do not."""
    resource = project_resource(data)
    unreadable = unreadable_settings(check, data, secure)
    if unreadable is not None:
        yield unreadable
        return
    values = data.general_settings.value
    wrong = [name for name, want in secure.items() if bool(values.setting(name)) != want]
    yield check.check(
        resource,
        not wrong,
        f"{data.project.name}: {meaning}.",
        f"{data.project.name}: not {meaning} ({', '.join(f'{n}={values.setting(n)}' for n in wrong)}).",
    )


@control(
    id="ADO-PIPE-01",
    title="Pipeline job tokens are limited to the current project",
    severity="HIGH",
    resource_type="project",
    rationale="A job token scoped to the whole collection lets any pipeline read every project's code and "
    "artifacts: one compromised pipeline reaches the organization.",
    remediation=f"{SETTINGS_PATH}: turn on 'Limit job authorization scope to current project for "
    "non-release pipelines'.",
    help_uri=DOCS,
    sources=("AzSK Project_AuthZ_Limit_Non_Release_Pipeline_Scope", "Scorecard Token-Permissions"),
)
def job_scope(check: Control, data: ProjectData):
    return judge_settings(check, data, {"enforceJobAuthScope": True}, "job tokens are limited to the project")


@control(
    id="ADO-PIPE-02",
    title="Release pipeline job tokens are limited to the current project",
    severity="MEDIUM",
    resource_type="project",
    rationale="Release pipelines run with deployment credentials; a collection-wide token widens what a "
    "compromised release can touch.",
    remediation=f"{SETTINGS_PATH}: turn on 'Limit job authorization scope to current project for release "
    "pipelines'.",
    help_uri=DOCS,
    sources=("AzSK Project_AuthZ_Limit_Release_Pipeline_Scope",),
)
def release_job_scope(check: Control, data: ProjectData):
    return judge_settings(
        check,
        data,
        {"enforceJobAuthScopeForReleases": True},
        "release job tokens are limited to the project",
    )


@control(
    id="ADO-PIPE-03",
    title="Job tokens reach only explicitly referenced repositories",
    severity="MEDIUM",
    resource_type="project",
    rationale="Otherwise a pipeline's token can clone every repository of the project, not just the ones "
    "its YAML checks out.",
    remediation=f"{SETTINGS_PATH}: turn on 'Protect access to repositories in YAML pipelines'.",
    help_uri=DOCS,
    sources=("AzSK Project_AuthZ_Limit_Pipeline_Scope_To_Referenced_Repos",),
)
def referenced_repositories(check: Control, data: ProjectData):
    return judge_settings(
        check,
        data,
        {"enforceReferencedRepoScopedToken": True},
        "job tokens reach only the repositories a pipeline references",
    )


@control(
    id="ADO-PIPE-04",
    title="Only variables marked settable can be set at queue time",
    severity="MEDIUM",
    resource_type="project",
    rationale="Queue-time variables can change what scripts run (e.g. a URL or a tool path); unrestricted, "
    "anyone who can queue a build can inject values.",
    remediation=f"{SETTINGS_PATH}: turn on 'Limit variables that can be set at queue time'.",
    help_uri=DOCS,
    sources=("AzSK Project_SI_Limit_Variables_Settable_At_Queue_Time",),
)
def settable_variables(check: Control, data: ProjectData):
    return judge_settings(
        check, data, {"enforceSettableVar": True}, "only settable variables can be set at queue time"
    )


@control(
    id="ADO-PIPE-05",
    title="Classic pipelines cannot be created",
    severity="MEDIUM",
    resource_type="project",
    rationale="Classic build and release pipelines are edited outside code review and lack YAML's resource "
    "protections.",
    remediation=f"{SETTINGS_PATH}: turn on 'Disable creation of classic build pipelines' and '… classic "
    "release pipelines'.",
    help_uri=DOCS,
    sources=("AzSK Project_DP_Disable_Creation_Of_Classic_Pipeline",),
)
def classic_pipelines(check: Control, data: ProjectData):
    values = data.general_settings.value
    if values is not None and (
        values.reported("disableClassicBuildPipelineCreation")
        or values.reported("disableClassicReleasePipelineCreation")
    ):
        fields = {"disableClassicBuildPipelineCreation": True, "disableClassicReleasePipelineCreation": True}
    else:
        fields = {"disableClassicPipelineCreation": True}
    return judge_settings(check, data, fields, "classic pipeline creation is disabled")


@control(
    id="ADO-PIPE-06",
    title="Status badges are not anonymous",
    severity="LOW",
    resource_type="project",
    rationale="Anonymous badges disclose pipeline and branch names of private projects.",
    remediation=f"{SETTINGS_PATH}: turn on 'Disable anonymous access to badges'.",
    help_uri=DOCS,
    sources=("AzSK Project_DP_Disable_Anonymous_Access_To_Badges",),
)
def private_badges(check: Control, data: ProjectData):
    return judge_settings(check, data, {"statusBadgesArePrivate": True}, "status badges are private")


@control(
    id="ADO-PIPE-07",
    title="Builds of pull requests from forks are protected",
    severity="HIGH",
    resource_type="project",
    rationale="A fork's pull request runs its author's code in your pipeline: with secrets or a full-scope "
    "token it can exfiltrate them (poisoned pipeline execution).",
    remediation=f"{SETTINGS_PATH} → Triggers: limit building pull requests from forks; if fork builds "
    "are needed, do not make secrets available, scope the token like regular builds, and require a team "
    "member's comment before building.",
    help_uri="https://learn.microsoft.com/en-us/azure/devops/pipelines/repos/github#contributions-from-forks",
    sources=(
        "Defender for Cloud: secrets available to builds of forks (High)",
        "AzSK Project_SI_Apply_Secure_Policy_For_PRBuildTrigger_From_ForkedRepo",
        "OWASP CICD-SEC-4",
    ),
)
def fork_builds(check: Control, data: ProjectData):
    resource = project_resource(data)
    unreadable = unreadable_settings(check, data, ["forkProtectionEnabled"])
    if unreadable is not None:
        yield unreadable
        return
    problems = fork_problems(data.general_settings.value)
    yield check.check(
        resource,
        not problems,
        f"{data.project.name}: fork pull-request builds are off or run without secrets, with a scoped "
        "token, after a comment.",
        f"{data.project.name}: fork pull-request builds {'; '.join(problems)}.",
    )


def fork_problems(values: PipelineGeneralSettings) -> list[str]:
    if not values.fork_protection_enabled:
        return ["are not limited at all"]
    if not values.builds_enabled_for_forks:
        return []
    problems = []
    if not values.enforce_no_access_to_secrets_from_forks:
        problems.append("get the pipeline's secrets")
    if not values.enforce_job_auth_scope_for_forks:
        problems.append("get a token with the regular scope")
    if not values.is_comment_required_for_pull_request:
        problems.append("start without a team member's comment")
    return problems
