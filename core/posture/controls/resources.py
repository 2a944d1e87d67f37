"""Protected resources (ADO-RES-01…08): who may use service connections, secrets, files, agents, environments,
and what variable groups hold.

"Open to all pipelines" comes from `pipelines/pipelinepermissions/{type}/{id}` (`allPipelines.authorized`).
Checks on an environment count only when enabled (`isDisabled` is not true): a disabled check never runs.
A Contributor often may not read service connections or permissions: those become NOT_EVALUATED with the
answer Azure DevOps gave, never PASS.
"""

from __future__ import annotations

from core.azure.models import ServiceEndpoint
from core.posture.control import Control, Resource, Status, control
from core.posture.controls.pipeline_settings import project_resource
from core.posture.data import ProjectData, Read, enabled_checks, holds_secrets, is_hosted, is_production
from core.posture.secret_values import named_secrets

PERMISSIONS_DOCS = "https://learn.microsoft.com/en-us/azure/devops/pipelines/security/resources"
APPROVALS_DOCS = "https://learn.microsoft.com/en-us/azure/devops/pipelines/process/approvals"


def open_to_all(
    check: Control, data: ProjectData, listed: Read, kind: str, noun: str, select=lambda item: True
):
    """One result per listed resource: FAIL when every pipeline of the project may use it."""
    if not listed.ok:
        yield check.result(project_resource(data), Status.NOT_EVALUATED, listed.why)
        return
    for item in listed.value or []:
        if not select(item):
            continue
        rid = item.id
        resource = Resource(kind, rid, item.name or rid)
        permission = data.permissions.get(
            f"{kind}/{rid}", Read(error=f"Who may use {noun} {resource.name} was not read.")
        )
        if not permission.ok:
            yield check.result(resource, Status.NOT_EVALUATED, permission.why)
            continue
        everyone = permission.value.all_pipelines.authorized
        yield check.check(
            resource,
            not everyone,
            f"{noun.capitalize()} {resource.name} is authorized only for chosen pipelines.",
            f"{noun.capitalize()} {resource.name} is open to all pipelines of {data.project.name}.",
        )


REMEDIATION_OPEN = (
    "Open the resource → Security (or the ⋮ menu) → Pipeline permissions: turn off 'Grant access permission "
    "to all pipelines' / remove 'Open access', and authorize only the pipelines that need it."
)


@control(
    id="ADO-RES-01",
    title="Service connections are not open to all pipelines",
    severity="HIGH",
    resource_type="endpoint",
    rationale="A service connection open to all pipelines gives its cloud credentials to any pipeline anyone "
    "in the project creates, including from a pull request.",
    remediation=REMEDIATION_OPEN,
    help_uri=PERMISSIONS_DOCS,
    sources=("AzSK ServiceConnection_AuthZ_Dont_Grant_All_Pipelines_Access", "Defender for Cloud (High)"),
)
def endpoints_open(check: Control, data: ProjectData):
    return open_to_all(check, data, data.endpoints, "endpoint", "service connection")


@control(
    id="ADO-RES-02",
    title="Variable groups with secrets are not open to all pipelines",
    severity="HIGH",
    resource_type="variablegroup",
    rationale="Any pipeline in the project could read the group's secrets.",
    remediation=REMEDIATION_OPEN,
    help_uri=PERMISSIONS_DOCS,
    sources=(
        "AzSK VariableGroup_AuthZ_Dont_Grant_All_Pipelines_Access_On_VG_With_Secrets",
        "Defender (High)",
    ),
)
def variable_groups_open(check: Control, data: ProjectData):
    return open_to_all(
        check, data, data.variable_groups, "variablegroup", "variable group", select=holds_secrets
    )


@control(
    id="ADO-RES-03",
    title="Secure files are not open to all pipelines",
    severity="HIGH",
    resource_type="securefile",
    rationale="Secure files hold signing certificates, provisioning profiles and keys; open to all "
    "pipelines, any pipeline can download them.",
    remediation=REMEDIATION_OPEN,
    help_uri=PERMISSIONS_DOCS,
    sources=("AzSK SecureFile_AuthZ_Dont_Grant_All_Pipelines_Access", "Defender for Cloud (High)"),
)
def secure_files_open(check: Control, data: ProjectData):
    return open_to_all(check, data, data.secure_files, "securefile", "secure file")


@control(
    id="ADO-RES-04",
    title="Self-hosted agent queues are not open to all pipelines",
    severity="HIGH",
    resource_type="queue",
    rationale="Self-hosted agents sit inside the network and keep state between jobs; any pipeline using "
    "them can reach what they reach and leave things behind.",
    remediation=REMEDIATION_OPEN,
    help_uri=PERMISSIONS_DOCS,
    sources=("AzSK AgentPool_AuthZ_Dont_Grant_All_Pipelines_Access",),
)
def queues_open(check: Control, data: ProjectData):
    # Microsoft-hosted queues are fresh machines per job and open to all by design.
    return open_to_all(check, data, data.queues, "queue", "agent queue", select=lambda q: not is_hosted(q))


@control(
    id="ADO-RES-05",
    title="Production environments require an approval",
    severity="HIGH",
    resource_type="environment",
    rationale="Without an Approval check any pipeline run that targets production deploys, even from an "
    "unreviewed branch. A disabled check does not run: it counts as no check.",
    remediation="Pipelines → Environments → the environment → Approvals and checks: add an 'Approvals' check, "
    "or enable the one that is disabled (⋮ → Enable), and add 'Branch control' limited to protected branches.",
    help_uri=APPROVALS_DOCS,
    sources=("AzSK Environment_AuthZ_Enable_PreDeployment_Approval",),
)
def production_approvals(check: Control, data: ProjectData):
    if not data.environments.ok:
        yield check.result(project_resource(data), Status.NOT_EVALUATED, data.environments.why)
        return
    for environment in data.environments.value or []:
        if not is_production(environment):
            continue
        rid = environment.id
        resource = Resource("environment", rid, environment.name or rid)
        checks = data.environment_checks.get(rid, Read(error=f"The checks of {resource.name} were not read."))
        if not checks.ok:
            yield check.result(resource, Status.NOT_EVALUATED, checks.why)
            continue
        approvals, disabled = enabled_checks(checks.value or [], "Approval")
        missing = f"Environment {resource.name} looks like production and deploys without an approval"
        yield check.check(
            resource,
            bool(approvals),
            f"Environment {resource.name} requires an approval before deployment.",
            f"{missing}: its approval check exists but is disabled." if disabled else f"{missing}.",
        )


@control(
    id="ADO-RES-06",
    title="Azure service connections are scoped below a subscription and not classic",
    severity="HIGH",
    resource_type="endpoint",
    rationale="A connection scoped to a whole subscription or management group (or a classic one with a "
    "management certificate) lets every pipeline that may use it change everything there.",
    remediation="Recreate the connection as 'Azure Resource Manager' with workload identity federation, "
    "scoped to the resource group(s) the pipeline deploys to.",
    help_uri="https://learn.microsoft.com/en-us/azure/devops/pipelines/library/connect-to-azure",
    sources=("AzSK ServiceConnection_AuthZ_Use_Least_Privilege_Access", "Defender: no classic connections"),
)
def azure_endpoint_scope(check: Control, data: ProjectData):
    if not data.endpoints.ok:
        yield check.result(project_resource(data), Status.NOT_EVALUATED, data.endpoints.why)
        return
    for endpoint in data.endpoints.value or []:
        kind = endpoint.type.lower()
        if kind not in ("azurerm", "azure"):
            continue
        resource = Resource("endpoint", endpoint.id, endpoint.name)
        problem = azure_scope_problem(endpoint)
        yield check.check(
            resource,
            problem is None,
            f"Service connection {resource.name} is scoped to a resource group.",
            f"Service connection {resource.name} {problem}.",
        )


def azure_scope_problem(endpoint: ServiceEndpoint) -> str | None:
    if endpoint.type.lower() == "azure":
        return "is a classic Azure connection"
    scope = endpoint.authorization.parameters.scope
    level = endpoint.data.scope_level.lower()
    if "/resourcegroups/" in scope.lower():
        return None
    if level == "managementgroup":
        return "is scoped to a whole management group"
    if level == "subscription" or not scope:
        return "is scoped to a whole subscription"
    return None


@control(
    id="ADO-RES-07",
    title="Service connections are not shared across projects",
    severity="HIGH",
    resource_type="endpoint",
    rationale="A connection shared with other projects is usable by their pipelines and administrators, "
    "outside this project's reviews and approvals.",
    remediation="Give each project its own service connection with its own least-privilege identity; remove "
    "the other projects from the connection's 'Project references'.",
    help_uri=PERMISSIONS_DOCS,
    sources=("AzSK ServiceConnection_SI_Dont_Share_Across_Projects",),
)
def shared_endpoints(check: Control, data: ProjectData):
    if not data.endpoints.ok:
        yield check.result(project_resource(data), Status.NOT_EVALUATED, data.endpoints.why)
        return
    for endpoint in data.endpoints.value or []:
        resource = Resource("endpoint", endpoint.id, endpoint.name)
        projects = endpoint.service_endpoint_project_references
        others = sorted({p.project_reference.name or "?" for p in projects} - {data.project.name})
        yield check.check(
            resource,
            len(projects) <= 1,
            f"Service connection {resource.name} belongs to {data.project.name} only.",
            f"Service connection {resource.name} is shared with {', '.join(others) or 'other projects'}.",
        )


@control(
    id="ADO-RES-08",
    title="Variable groups hold no plaintext secrets",
    severity="HIGH",
    resource_type="variablegroup",
    rationale="A secret in a variable group variable that is not marked secret is shown to everyone who can "
    "view the library, to every pipeline that uses the group, and in logs. Judged by the value (our secret "
    "detectors, then entropy per character set), the name only raising confidence: a URL, a Key Vault "
    "secret's name, a path or a `$(reference)` is not a secret.",
    remediation="Rotate the credential, then mark the variable secret (lock icon) or link the group to Azure "
    "Key Vault.",
    help_uri="https://learn.microsoft.com/en-us/azure/devops/pipelines/library/variable-groups",
    sources=("PSRule.Rules.AzureDevOps Azure.DevOps.Tasks.VariableGroup.NoPlainTextSecrets",),
)
def variable_group_secrets(check: Control, data: ProjectData):
    if not data.variable_groups.ok:
        yield check.result(project_resource(data), Status.NOT_EVALUATED, data.variable_groups.why)
        return
    for group in data.variable_groups.value or []:
        if group.type == "AzureKeyVault":
            continue  # its variables are Key Vault secrets: Azure DevOps holds no value
        rid = group.id
        resource = Resource("variablegroup", rid, group.name or rid)
        found = named_secrets(group.variables)
        yield check.check(
            resource,
            not found,
            f"Variable group {resource.name}: no variable holds a plaintext secret.",
            f"Variable group {resource.name}: variable(s) {found} hold a secret in plain text.",
        )
