"""Azure DevOps answers as typed models, parsed at the client boundary.

Only the fields our code reads are modelled; every other field is ignored, so Microsoft adding fields changes
nothing. A field we need that is missing or of another type raises `AzureUnexpectedAnswer` naming the endpoint
and the field (never the value), in one place: `parse` / `parse_collection`, called by the client.

Microsoft's specs (api-version 7.1, /work/shared/specs/azure-devops/) declare no required fields at all, so
"required" here means "the code cannot go on without it": the ids and names that key what we store and what we
ask next. Everything else is optional with the default the code used before (`null` counts as absent), and
Python names map to Microsoft's camelCase through aliases.
"""

from __future__ import annotations

import logging
from functools import cache
from typing import Annotated, Any, TypeVar, cast

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    StrictBool,
    TypeAdapter,
    ValidationError,
    model_validator,
)
from pydantic.alias_generators import to_camel

from core.azure.errors import AzureUnexpectedAnswer

M = TypeVar("M")
log = logging.getLogger(__name__)


def _id_text(value: Any) -> Any:
    # Ids are GUID strings for most resources and integers for some (queues, variable groups, definitions,
    # environments): both become text, as they are stored and placed in paths.
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


AdoId = Annotated[str, BeforeValidator(_id_text)]


def _scalar_text(value: Any) -> Any:
    # A variable's value is text in the spec; a boolean or number typed into a definition's JSON is read as the
    # text it shows. Objects and lists stay errors.
    return str(value) if isinstance(value, bool | int | float) else value


ScalarText = Annotated[str, BeforeValidator(_scalar_text)]


class AdoModel(BaseModel):
    """Microsoft's camelCase by alias, unknown fields ignored, `null` treated as an absent field."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="ignore",
        frozen=True,
        coerce_numbers_to_str=True,
    )

    @model_validator(mode="before")
    @classmethod
    def _nulls_are_absent(cls, data: Any) -> Any:
        if data is None:
            return {}
        if isinstance(data, dict):
            return {key: value for key, value in cast(dict[str, Any], data).items() if value is not None}
        return data


# --- parsing ----------------------------------------------------------------------------------------------


@cache
def _adapter(shape: Any) -> TypeAdapter[Any]:
    return TypeAdapter(shape)


def _unexpected(endpoint: str, error: ValidationError, prefix: str = "") -> AzureUnexpectedAnswer:
    # include_input=False: the offending value (possibly a secret variable's value) never reaches the error.
    first = error.errors(include_input=False, include_url=False, include_context=False)[0]
    field = ".".join(str(part) for part in (prefix, *first["loc"]) if part != "")
    return _alert(AzureUnexpectedAnswer(endpoint, field, first["msg"]))


def _alert(error: AzureUnexpectedAnswer) -> AzureUnexpectedAnswer:
    # Microsoft changed an answer: every customer is affected until we adapt, so operators hear of it at once.
    log.error("Azure DevOps answer not understood: %s", error.detail)
    return error


def parse(model: type[M], body: Any, endpoint: str, where: str = "") -> M:
    """One object of Azure DevOps' answer as `model`; AzureUnexpectedAnswer when its shape is not ours.
    `where` is the object's place in the answer (e.g. "value.3"), for the error."""
    try:
        parsed: M = _adapter(model).validate_python(body)
        return parsed
    except ValidationError as error:
        raise _unexpected(endpoint, error, where) from None


def collection_items(body: Any, endpoint: str) -> list[Any]:
    """The items of `{count, value}`, `{items, continuationToken}` (userentitlements) or a bare list; an
    empty answer (204) has none. Any other shape is a changed answer."""
    if body is None:
        return []
    if isinstance(body, list):
        return cast(list[Any], body)
    if isinstance(body, dict):
        wrapper = cast(dict[str, Any], body)
        for key in ("value", "items"):
            if key in wrapper and isinstance(wrapper[key], list | None):
                return cast(list[Any], wrapper[key] or [])
    raise _alert(AzureUnexpectedAnswer(endpoint, "value", "a collection should hold a list in 'value'"))


def parse_collection(model: type[M], body: Any, endpoint: str) -> list[M]:
    """Every item of a collection answer as `model`."""
    items = collection_items(body, endpoint)
    try:
        parsed: list[M] = _adapter(list[model]).validate_python(items)
        return parsed
    except ValidationError as error:
        raise _unexpected(endpoint, error, "value") from None


# --- location: connection data and resource areas -----------------------------------------------------------


class Identity(AdoModel):
    """`connectionData.authenticatedUser`."""

    id: str
    subject_descriptor: str = ""
    descriptor: str = ""
    provider_display_name: str = ""


class ConnectionDataAnswer(AdoModel):
    authenticated_user: Identity
    instance_id: str = ""


class ResourceArea(AdoModel):
    location_url: str = ""


# --- core: projects ---------------------------------------------------------------------------------------


class Project(AdoModel):
    """`TeamProjectReference` from `_apis/projects`."""

    id: AdoId
    name: str
    visibility: str = "private"


class ProjectRef(AdoModel):
    """A project named inside another answer (repository.project, entitlements, endpoint references)."""

    id: AdoId = ""
    name: str = ""
    visibility: str = ""


# --- git: repositories, refs, commits ---------------------------------------------------------------------


class Repository(AdoModel):
    """`GitRepository`. An empty repository has no `defaultBranch`."""

    id: AdoId
    name: str
    project: ProjectRef = ProjectRef()
    default_branch: str | None = None
    web_url: str = ""
    size: int = 0
    is_fork: bool = False
    is_disabled: bool = False
    is_in_maintenance: bool = False


class GitRef(AdoModel):
    name: str
    object_id: str


class GitUserDate(AdoModel):
    # Kept as text: the control that reads it says "no commit date" for one it cannot parse.
    date: str | None = None


class Commit(AdoModel):
    """`GitCommitRef`: its id and its committer's date."""

    commit_id: str = ""
    committer: GitUserDate = GitUserDate()


# --- entitlements and graph -------------------------------------------------------------------------------


class AccessLevel(AdoModel):
    account_license_type: str = "none"
    msdn_license_type: str = "none"
    status: str = "active"
    license_display_name: str = ""


class GroupRef(AdoModel):
    group_type: str = ""


class ProjectEntitlement(AdoModel):
    project_ref: ProjectRef = ProjectRef()
    group: GroupRef = GroupRef()


class ServicePrincipalEntitlement(AdoModel):
    """`serviceprincipalentitlements/{id}`: access level and project groups."""

    access_level: AccessLevel = AccessLevel()
    project_entitlements: list[ProjectEntitlement] = []


class GraphMembership(AdoModel):
    container_descriptor: str


class GraphGroup(AdoModel):
    principal_name: str = ""  # "[Project]\\Contributors"


class GraphDescriptor(AdoModel):
    value: str = ""


# --- security --------------------------------------------------------------------------------------------


class PermissionEvaluation(AdoModel):
    token: str
    value: StrictBool = False  # a permission is granted by `true` only: not by "true", 1 or "yes"


class PermissionValues(AdoModel):
    """`_apis/permissions/{namespace}/{bits}?tokens=...`: one boolean per token asked."""

    value: list[StrictBool] = []


class PermissionEvaluationBatch(AdoModel):
    evaluations: list[PermissionEvaluation] = []


# --- policies ----------------------------------------------------------------------------------------------


class PolicyScope(AdoModel):
    repository_id: str | None = None  # absent: every repository of the project
    ref_name: str | None = None  # absent: every branch
    match_kind: str = "exact"


class PolicySettings(AdoModel):
    """A policy's free-form `settings`: the scope, and the minimum-reviewers fields."""

    scope: list[PolicyScope] = []
    minimum_approver_count: int = 0
    creator_vote_counts: bool = False
    block_last_pusher_vote: bool = False
    reset_on_source_push: bool = False
    require_vote_on_last_iteration: bool = False


class TypeRef(AdoModel):
    id: str = ""
    name: str = ""


class PolicyConfiguration(AdoModel):
    type: TypeRef = TypeRef()
    is_enabled: bool = False
    is_blocking: bool = False
    is_deleted: bool = False
    settings: PolicySettings = PolicySettings()


# --- build: definitions and general settings ----------------------------------------------------------------


class Variable(AdoModel):
    """`BuildDefinitionVariable` / `VariableValue`: a secret's value is never returned."""

    value: ScalarText | None = None
    is_secret: bool = False
    allow_override: bool = False


class Forks(AdoModel):
    enabled: bool = False
    allow_secrets: bool = False
    allow_full_access_token: bool = False


class TriggerSettings(AdoModel):
    # None (absent) differs from False here: only an explicit False is a weakened setting.
    builds_enabled_for_forks: bool | None = None
    enforce_no_access_to_secrets_from_forks: bool | None = None
    enforce_job_auth_scope_for_forks: bool | None = None


class Trigger(AdoModel):
    trigger_type: str = ""
    forks: Forks = Forks()
    pipeline_trigger_settings: TriggerSettings = TriggerSettings()


class BuildDefinition(AdoModel):
    id: AdoId
    name: str = ""
    variables: dict[str, Variable] = {}
    triggers: list[Trigger] = []


class PipelineGeneralSettings(AdoModel):
    """`build/generalsettings`. A control tells a field Azure DevOps did not report (NOT_EVALUATED) from one it
    reported false, so `null` is kept as reported here and `reported` says which fields came."""

    enforce_job_auth_scope: bool | None = None
    enforce_job_auth_scope_for_releases: bool | None = None
    enforce_referenced_repo_scoped_token: bool | None = None
    enforce_settable_var: bool | None = None
    disable_classic_pipeline_creation: bool | None = None
    disable_classic_build_pipeline_creation: bool | None = None
    disable_classic_release_pipeline_creation: bool | None = None
    status_badges_are_private: bool | None = None
    fork_protection_enabled: bool | None = None
    builds_enabled_for_forks: bool | None = None
    enforce_no_access_to_secrets_from_forks: bool | None = None
    enforce_job_auth_scope_for_forks: bool | None = None
    is_comment_required_for_pull_request: bool | None = None

    @model_validator(mode="before")
    @classmethod
    def _nulls_are_absent(cls, data: Any) -> Any:
        return {} if data is None else data  # a null setting was reported (as not set): keep it

    def reported(self, alias: str) -> bool:
        """Whether Azure DevOps' answer carried the field named `alias` (Microsoft's camelCase name)."""
        return _field_of(type(self), alias) in self.model_fields_set

    def setting(self, alias: str) -> bool | None:
        return getattr(self, _field_of(type(self), alias))


def _field_of(model: type[BaseModel], alias: str) -> str:
    for name, info in model.model_fields.items():
        if info.alias == alias:
            return name
    raise KeyError(alias)


# --- service endpoints, library, agent queues, environments ---------------------------------------------------


class EndpointData(AdoModel):
    scope_level: str = ""


class EndpointAuthorizationParameters(AdoModel):
    scope: str = ""


class EndpointAuthorization(AdoModel):
    parameters: EndpointAuthorizationParameters = EndpointAuthorizationParameters()


class EndpointProjectReference(AdoModel):
    project_reference: ProjectRef = ProjectRef()


class ServiceEndpoint(AdoModel):
    id: AdoId
    name: str = ""
    type: str = ""
    data: EndpointData = EndpointData()
    authorization: EndpointAuthorization = EndpointAuthorization()
    service_endpoint_project_references: list[EndpointProjectReference] = []


class VariableGroup(AdoModel):
    id: AdoId
    name: str = ""
    type: str = ""  # "Vsts" or "AzureKeyVault"
    variables: dict[str, Variable] = {}


class SecureFile(AdoModel):
    id: AdoId
    name: str = ""


class AgentPoolRef(AdoModel):
    is_hosted: bool = False


class AgentQueue(AdoModel):
    id: AdoId
    name: str = ""
    pool: AgentPoolRef = AgentPoolRef()


class Environment(AdoModel):
    id: AdoId
    name: str = ""


# --- approvals and checks ---------------------------------------------------------------------------------


class Authorization(AdoModel):
    authorized: bool = False


class ResourcePipelinePermissions(AdoModel):
    """`pipelines/pipelinepermissions/{type}/{id}`: `allPipelines.authorized` is "open to all pipelines"."""

    all_pipelines: Authorization = Authorization()


class CheckConfiguration(AdoModel):
    type: TypeRef = TypeRef()
    is_disabled: bool = False
