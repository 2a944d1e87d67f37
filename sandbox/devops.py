"""dev.azure.com: resource areas, connectionData, projects, Git, policies and the pipeline-related lists.

Shapes follow the 7.1 specs in the shared folder (tests/sandbox/test_spec_conformance.py checks them).
Pipeline data, settings and policies come from `Project.extras`, keyed by the URL path after `_apis/`
(e.g. `policy/configurations`), and default to nothing.
"""

from __future__ import annotations

import fnmatch
import hashlib
import io
import tempfile
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from sandbox import gitserve, identity, locations
from sandbox.adohttp import (
    AdoRoute,
    build_host_app,
    collection,
    page,
    project_not_found,
    repository_not_found,
    wrapped_error,
)
from sandbox.identity import (
    Caller,
    can_read_code,
    find_project,
    identity_descriptor,
    subject_descriptor,
    visible_projects,
)
from sandbox.scenario import Project, Repository, stable_id

LAST_UPDATE = "2024-05-01T10:00:00.000Z"  # scenarios carry no history; one fixed time keeps answers stable
# Policy types every organization has (reference §7.1).
POLICY_TYPES = {
    "fa4e907d-c16b-4a4c-9dfa-4906e5d171dd": "Minimum number of reviewers",
    "0609b952-1397-4640-95ec-e00a01b2c241": "Build",
    "fd2167ab-b0be-447a-8ec8-39368250530e": "Required reviewers",
    "fa4e907d-c16b-4a4c-9dfa-4916e5d171ab": "Require a merge strategy",
    "40e92b44-2fe1-4dd6-b3d8-74a9c21d0c6e": "Work item linking",
    "cbdc66da-9728-4af8-aada-9a5a32e4a226": "Status",
    "c6a1889d-b943-4856-b76f-9e46bb6b0df2": "Comment requirements",
    "77ed4bd3-b063-4689-934a-175e4d0a78d7": "Commit author email validation",
    "e67ae10f-cf9a-40bc-8e66-6b3a8216956e": "Secrets scanning restriction",
}
# What a new project answers for `build/generalsettings` (Learn's "secure by default" values).
DEFAULT_GENERAL_SETTINGS = {
    "enforceJobAuthScope": True,
    "enforceJobAuthScopeForReleases": True,
    "enforceReferencedRepoScopedToken": True,
    "enforceSettableVar": True,
    "publishPipelineMetadata": False,
    "statusBadgesArePrivate": True,
    "disableClassicPipelineCreation": True,
    "disableClassicBuildPipelineCreation": True,
    "disableClassicReleasePipelineCreation": True,
    "forkProtectionEnabled": True,
    "buildsEnabledForForks": True,
    "enforceJobAuthScopeForForks": True,
    "enforceNoAccessToSecretsFromForks": True,
    "isCommentRequiredForPullRequest": True,
    "requireCommentsForNonTeamMembersOnly": False,
    "requireCommentsForNonTeamMemberAndNonContributors": False,
    "enableShellTasksArgsSanitizing": False,
    "enableShellTasksArgsSanitizingAudit": False,
    "auditEnforceSettableVar": False,
}
# Project lists served from `Project.extras[key]`: (key, paged). Endpoints and pipelines checks are not paged.
PROJECT_LISTS = {
    "build/definitions": True,
    "pipelines": True,
    "serviceendpoint/endpoints": False,
    "distributedtask/variablegroups": True,
    "distributedtask/environments": True,
    "distributedtask/securefiles": False,
    "distributedtask/queues": False,
    "pipelines/checks/configurations": False,
}


# --- shapes ----------------------------------------------------------------------------------------


def project_reference(dev: str, org: str, project: Project) -> dict:
    reference = {
        "id": project.id,
        "name": project.name,
        "url": f"{dev}/{org}/_apis/projects/{project.id}",
        "state": project.state,
        "revision": 1,
        "visibility": project.visibility,
        "lastUpdateTime": LAST_UPDATE,
    }
    if project.description:
        reference["description"] = project.description
    return reference


def repository_json(dev: str, org: str, project: Project, repo: Repository) -> dict:
    web = f"{dev}/{org}/{quote(project.name)}/_git/{quote(repo.name)}"
    body = {
        "id": repo.id,
        "name": repo.name,
        "url": f"{dev}/{org}/{project.id}/_apis/git/repositories/{repo.id}",
        "project": project_reference(dev, org, project),
        "size": repo.size if repo.size is not None else sum(len(c.encode()) for c in repo.files.values()),
        "remoteUrl": web,
        "sshUrl": f"git@ssh.dev.azure.com:v3/{org}/{quote(project.name)}/{quote(repo.name)}",
        "webUrl": web,
        "isDisabled": repo.is_disabled,
        "isFork": repo.is_fork,
        "isInMaintenance": repo.is_in_maintenance,
    }
    if repo.default_branch:  # absent for empty repositories
        body["defaultBranch"] = f"refs/heads/{repo.default_branch}"
    return body


def blob_id(content: str) -> str:
    data = content.encode()
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def tree_id(repo: Repository, folder: str) -> str:
    return hashlib.sha1(f"{repo.tree_digest()}:{folder}".encode(), usedforsecurity=False).hexdigest()


# --- lookups ---------------------------------------------------------------------------------------


def find_repository(
    caller: Caller, project_key: str | None, repo_key: str
) -> tuple[Project, Repository] | None:
    """By id anywhere the caller can see; by name only inside the given project (as the service does)."""
    key = repo_key.lower()
    projects = visible_projects(caller)
    if project_key is not None:
        project = find_project(caller, project_key)
        projects = [project] if project else []
    by_name = project_key is not None
    for project in projects:
        for repo in project.repositories:
            # Ids are stored lowercase (World normalizes them): no lower() per row on this hot path.
            if repo.id == key or (by_name and repo.name.lower() == key):
                return project, repo
    return None


def readable_repository(caller: Caller, project_key: str | None, repo_key: str):
    """The repository whose content the caller may read, or the TF401019 the service answers."""
    found = find_repository(caller, project_key, repo_key)
    if found is None or found[1].is_disabled or not can_read_code(caller, found[0]):
        return repository_not_found(repo_key)
    return found


def resolve_version(request: Request, repo: Repository) -> Response | None:
    """Only the repository's branches (all at `head_commit`) and its head commit resolve."""
    kind = request.query_params.get("versionDescriptor.versionType", "branch").lower()
    version = request.query_params.get("versionDescriptor.version") or repo.default_branch or ""
    branches = {b for b in [repo.default_branch, *repo.branches] if b}
    if (kind == "branch" and version.removeprefix("refs/heads/") in branches) or (
        kind == "commit" and version == repo.head_commit and branches
    ):
        return None
    return wrapped_error(
        404,
        f"TF401175: The version descriptor <{kind.capitalize()}: {version}> could not be resolved "
        f"to a version on the repository {repo.name}",
        "GitUnresolvableToCommitException",
    )


# --- the app ---------------------------------------------------------------------------------------


def build_app(context) -> Response:
    dev = context.urls["dev"]
    if getattr(context, "git", None) is None:
        context.git = gitserve.new_store(Path(tempfile.mkdtemp(prefix="panoptica-sandbox-git-")))
    git_store = context.git

    def project_or_404(caller: Caller, key: str, api: str | None = None):
        """The project, or the error the caller gets: 404 when it may not see it, 403 on a refused API."""
        project = find_project(caller, key)
        if project is None:
            return project_not_found(key)
        refused = caller.membership.refused_apis + caller.org.refused_apis
        if api is not None and (api in refused or f"{project.name}:{api}" in refused):
            return access_denied(caller, api)
        return project

    async def connection_data(request: Request, caller: Caller, org: str) -> Response:
        user = {
            "id": caller.membership.identity_id,
            "descriptor": identity_descriptor(caller.tenant_id, caller.object_id),
            "subjectDescriptor": subject_descriptor(caller.tenant_id, caller.object_id),
            "providerDisplayName": caller.display_name,
            "isActive": True,
            "members": [],
            "memberOf": [],
            "properties": {"Account": {"$type": "System.String", "$value": caller.object_id}},
            "resourceVersion": 2,
            "metaTypeId": 1,
        }
        owner = "00025394-6065-48ca-87d9-7f5672854ef7"
        return JSONResponse(
            {
                "authenticatedUser": user,
                "authorizedUser": user,
                "instanceId": caller.org.id,
                "deploymentId": stable_id("deployment", "dev"),
                "deploymentType": "hosted",
                "locationServiceData": {
                    "serviceOwner": owner,
                    "defaultAccessMappingMoniker": "PublicAccessMapping",
                    "lastChangeId": 1,
                    "lastChangeId64": 1,
                    "accessMappings": [
                        {
                            "displayName": "Public Access Mapping",
                            "moniker": "PublicAccessMapping",
                            "accessPoint": f"{dev}/{caller.org.name}/",
                            "serviceOwner": owner,
                        }
                    ],
                    "clientCacheFresh": False,
                    "clientCacheTimeToLive": 3600,
                    "serviceDefinitions": [],
                },
            }
        )

    async def list_projects(request: Request, caller: Caller, org: str) -> Response:
        state = request.query_params.get("stateFilter", "wellFormed")
        projects = [p for p in visible_projects(caller) if state.lower() == "all" or p.state == state]
        return page(request, [project_reference(dev, caller.org.name, p) for p in projects])

    async def get_project(request: Request, caller: Caller, org: str, project_key: str) -> Response:
        project = project_or_404(caller, project_key)
        if isinstance(project, Response):
            return project
        body = project_reference(dev, caller.org.name, project)
        body["defaultTeam"] = {
            "id": stable_id("team", caller.org.name, project.name),
            "name": f"{project.name} Team",
            "url": f"{dev}/{caller.org.name}/_apis/projects/{project.id}/teams",
        }
        return JSONResponse(body)

    async def list_repositories(
        request: Request, caller: Caller, org: str, project: str | None = None
    ) -> Response:
        projects = visible_projects(caller)
        if project is not None:
            found = project_or_404(caller, project)
            if isinstance(found, Response):
                return found
            projects = [found]
        name = caller.org.name
        return collection([repository_json(dev, name, p, r) for p in projects for r in p.repositories])

    async def get_repository(
        request: Request, caller: Caller, org: str, repo: str, project: str | None = None
    ):
        found = find_repository(caller, project, repo)
        if found is None:
            return repository_not_found(repo)
        return JSONResponse(repository_json(dev, caller.org.name, *found))

    async def list_refs(request: Request, caller: Caller, org: str, repo: str, project: str | None = None):
        found = readable_repository(caller, project, repo)
        if isinstance(found, Response):
            return found
        git_project, repository = found
        prefix = "refs/" + request.query_params.get("filter", "")
        names = [f"refs/heads/{b}" for b in [repository.default_branch, *repository.branches] if b]
        # The branches git serves (sandbox/gitserve.py), the default branch and its peers at its head: the same
        # commits, as Azure DevOps answers the same over REST and git.
        tips = {**git_store.refs(repository), **{n: head_of(repository) for n in names}}
        base = f"{dev}/{caller.org.name}/{git_project.id}/_apis/git/repositories/{repository.id}/refs"
        creator = {"displayName": "Sandbox", "id": stable_id("user", "creator")}
        refs = [
            {
                "name": n,
                "objectId": tip,
                "creator": creator,
                "url": f"{base}?filter={n[5:]}",
            }
            for n, tip in sorted(tips.items())
            if n.startswith(prefix)
        ]
        return page(request, refs)

    async def items(request: Request, caller: Caller, org: str, repo: str, project: str | None = None):
        found = readable_repository(caller, project, repo)
        if isinstance(found, Response):
            return found
        return serve_items(request, caller, *found)

    def serve_items(request: Request, caller: Caller, git_project: Project, repo: Repository) -> Response:
        query = request.query_params
        missing = resolve_version(request, repo)
        if missing is not None:
            return missing
        path = "/" + (query.get("path") or query.get("scopePath") or "/").strip("/")
        prefix = path.strip("/")
        files = {"/" + name.strip("/"): content for name, content in sorted(repo.files.items())}
        if path in files and path != "/":
            return single_file(request, caller, git_project, repo, path, files[path])
        under = {p: c for p, c in files.items() if path == "/" or p.startswith(path + "/")}
        if not under and not (path == "/" and repo.default_branch):
            return wrapped_error(
                404,
                f"TF401174: The item '{path}' could not be found in the repository '{repo.name}' at the "
                f"version specified by '<Branch: {repo.default_branch}>'.",
                "GitItemNotFoundException",
            )
        wants_json = query.get("$format", "").lower() == "json" or "application/json" in request.headers.get(
            "accept", ""
        )
        if query.get("$format", "").lower() == "zip" or not wants_json:
            return zip_response(repo, under, prefix, query.get("download", "").lower() == "true")
        level = query.get("recursionLevel", "none").lower()
        entries = item_tree(path, under, level)
        item_list = [item_json(caller, git_project, repo, p, files.get(p), query) for p in entries]
        if "path" in query and level == "none":
            return JSONResponse(item_list[0])
        return collection(item_list)

    def head_of(repository: Repository) -> str:
        """The default branch's tip as git serves it. A scenario's `head_commit` stands for it only where git
        has no commit to serve (no default branch)."""
        if not repository.default_branch:
            return repository.head_commit
        return git_store.refs(repository).get(
            f"refs/heads/{repository.default_branch}", repository.head_commit
        )

    def single_file(request: Request, caller, git_project, repo, path: str, content: str) -> Response:
        query = request.query_params
        wants_json = query.get("$format", "").lower() == "json" or (
            "application/json" in request.headers.get("accept", "") and query.get("$format") is None
        )
        if wants_json:
            return JSONResponse(item_json(caller, git_project, repo, path, content, query))
        if query.get("$format", "").lower() == "zip":
            return zip_response(repo, {path: content}, "", query.get("download", "").lower() == "true")
        media = "application/octet-stream" if query.get("download", "").lower() == "true" else "text/plain"
        return Response(content.encode(), media_type=media)

    def item_json(caller, git_project, repo: Repository, path: str, content: str | None, query) -> dict:
        is_folder = content is None
        item = {
            "objectId": tree_id(repo, path) if is_folder else blob_id(content),
            "gitObjectType": "tree" if is_folder else "blob",
            "commitId": head_of(repo),
            "path": path,
            "url": f"{dev}/{caller.org.name}/{git_project.id}/_apis/git/repositories/{repo.id}/items"
            f"?path={quote(path)}&versionType=Branch&versionOptions=None",
        }
        if is_folder:
            item["isFolder"] = True
        elif query.get("includeContent", "").lower() == "true":
            item["content"] = content
        if query.get("includeContentMetadata", "").lower() == "true" and not is_folder:
            name = path.rsplit("/", 1)[-1]
            item["contentMetadata"] = {
                "fileName": name,
                "extension": name.rpartition(".")[2] if "." in name else "",
                "encoding": 65001,
                "contentType": "text/plain",
            }
        return item

    async def git_policy_configurations(request: Request, caller: Caller, org: str, project: str) -> Response:
        found = project_or_404(caller, project, "policy/configurations")
        if isinstance(found, Response):
            return found
        repo_id, ref_name = request.query_params.get("repositoryId"), request.query_params.get("refName")
        if repo_id:
            repo = readable_repository(caller, project, repo_id)
            if isinstance(repo, Response):
                return repo
        policy_type = request.query_params.get("policyType")
        configs = [
            c
            for c in found.extras.get("policy/configurations", [])
            if applies(c, repo_id, ref_name)
            and (not policy_type or c.get("type", {}).get("id") == policy_type)
        ]
        return page(request, configs)

    async def policy_configurations(request: Request, caller: Caller, org: str, project: str) -> Response:
        found = project_or_404(caller, project, "policy/configurations")
        if isinstance(found, Response):
            return found
        policy_type = request.query_params.get("policyType")
        configs = [
            c
            for c in found.extras.get("policy/configurations", [])
            if not policy_type or c.get("type", {}).get("id") == policy_type
        ]
        return page(request, configs)

    async def policy_types(request: Request, caller: Caller, org: str, project: str) -> Response:
        found = project_or_404(caller, project)
        if isinstance(found, Response):
            return found
        base = f"{dev}/{caller.org.name}/{found.id}/_apis/policy/types"
        return collection(
            [
                {"id": type_id, "displayName": name, "description": name, "url": f"{base}/{type_id}"}
                for type_id, name in POLICY_TYPES.items()
            ]
        )

    async def general_settings(request: Request, caller: Caller, org: str, project: str) -> Response:
        found = project_or_404(caller, project, "build/generalsettings")
        if isinstance(found, Response):
            return found
        return JSONResponse({**DEFAULT_GENERAL_SETTINGS, **found.extras.get("build/generalsettings", {})})

    async def pipeline_permissions(
        request: Request, caller, org: str, project: str, kind: str, resource: str
    ):
        found = project_or_404(caller, project, "pipelines/pipelinepermissions")
        if isinstance(found, Response):
            return found
        stored = found.extras.get("pipelines/pipelinepermissions", {}).get(f"{kind}/{resource}", {})
        return JSONResponse({"resource": {"type": kind, "id": resource}, "pipelines": [], **stored})

    def project_list(key: str, paged: bool):
        async def handler(request: Request, caller: Caller, org: str, project: str) -> Response:
            found = project_or_404(caller, project, key)
            if isinstance(found, Response):
                return found
            values = list(found.extras.get(key, []))
            if key == "pipelines/checks/configurations":
                values = [c for c in values if check_matches(c, request.query_params)]
            return page(request, values) if paged else collection(values)

        return handler

    async def list_commits(request: Request, caller: Caller, org: str, repo: str, project: str | None = None):
        """The head commit only (scenarios carry no history); `searchCriteria.$top` and paging are moot."""
        found = readable_repository(caller, project, repo)
        if isinstance(found, Response):
            return found
        git_project, repository = found
        if not repository.default_branch:
            return collection([])
        when = repository.last_commit_date or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        person = {"name": "Sandbox", "email": "sandbox@example.com", "date": when}
        base = f"{dev}/{caller.org.name}/{git_project.id}/_apis/git/repositories/{repository.id}"
        head = head_of(repository)
        commit = {
            "commitId": head,
            "author": person,
            "committer": person,
            "comment": "Head of the default branch",
            "url": f"{base}/commits/{head}",
        }
        return collection([commit])

    def evaluator(request: Request, person, org: str):
        """Who is asking: a person (delegated token) or our service principal (app token), as a function
        from (namespace, token) to the bits it holds there; or the refusal Azure DevOps answers."""
        if person is not None:
            return lambda namespace, token: person_bits(person, namespace, token)
        with context.holder.lock:
            organization = context.world.organization(org)
        caller = identity.authenticate(context, request, organization)
        if isinstance(caller, Response):
            return caller
        if "security" in caller.membership.refused_apis + caller.org.refused_apis:
            return access_denied(caller, "Security")
        with context.holder.lock:
            groups = {name.lower(): group for name, group in caller.membership.projects.items()}
            # Once per request, not per token: project id (lowercase) -> (project, its group).
            projects = {p.id.lower(): (p, groups[p.name.lower()]) for p in visible_projects(caller)}
        return lambda namespace, token: principal_bits(caller, projects, namespace, token)

    async def permissions(request: Request, person, org: str, namespace: str, bits: str) -> Response:
        """The caller's own effective permissions (Security REST API), one boolean per token."""
        query = request.query_params
        tokens = (query.get("tokens") or query.get("token") or "").split(query.get("delimiter") or ",")
        try:
            wanted = int(bits)
        except ValueError:
            return wrapped_error(400, f"The permissions value '{bits}' is not valid.", "ArgumentException")
        held = evaluator(request, person, org)
        if isinstance(held, Response):
            return held
        with context.holder.lock:
            values = [bool(token) and held(namespace, token) & wanted == wanted for token in tokens]
        return collection(values)

    async def permission_batch(request: Request, person, org: str) -> Response:
        """`permissionevaluationbatch`: each evaluation answered with its `value` (Security REST API)."""
        try:
            body = await request.json()
            evaluations = body["evaluations"]
            asked = [
                (str(e["securityNamespaceId"]), str(e.get("token") or ""), int(e["permissions"]))
                for e in evaluations
            ]
        except (ValueError, KeyError, TypeError):
            return wrapped_error(
                400, "The request body must be a PermissionEvaluationBatch.", "ArgumentNullException"
            )
        held = evaluator(request, person, org)
        if isinstance(held, Response):
            return held
        with context.holder.lock:
            answered = [
                {
                    "securityNamespaceId": namespace,
                    "token": token,
                    "permissions": wanted,
                    "value": bool(token) and held(namespace, token) & wanted == wanted,
                }
                for namespace, token, wanted in asked
            ]
        return JSONResponse({"alwaysAllowAdministrators": False, "evaluations": answered})

    repo_routes = []
    for prefix in ("/{org}", "/{org}/{project}"):
        repo_routes += [
            AdoRoute("GET", prefix + "/_apis/git/repositories", list_repositories),
            AdoRoute("GET", prefix + "/_apis/git/repositories/{repo}", get_repository),
            AdoRoute("GET", prefix + "/_apis/git/repositories/{repo}/refs", list_refs),
            AdoRoute("GET", prefix + "/_apis/git/repositories/{repo}/items", items),
            AdoRoute("GET", prefix + "/_apis/git/repositories/{repo}/commits", list_commits),
        ]
    project_lists = [
        AdoRoute(
            "GET",
            "/{org}/{project}/_apis/" + key,
            project_list(key, paged),
            preview=1 if key == "pipelines/checks/configurations" else None,
        )
        for key, paged in PROJECT_LISTS.items()
    ]
    routes = [
        AdoRoute(
            "GET", "/_apis/resourceareas/{area}", locations.anonymous_area_handler(context), anonymous=True
        ),
        AdoRoute("OPTIONS", "/{org}/_apis", locations.options_handler("dev")),
        AdoRoute("GET", "/{org}/_apis/resourceareas", locations.org_areas_handler(context)),
        AdoRoute("GET", "/{org}/_apis/resourceareas/{area}", locations.org_area_handler(context)),
        AdoRoute("GET", "/{org}/_apis/connectiondata", connection_data),
        AdoRoute("GET", "/{org}/_apis/permissions/{namespace}/{bits}", permissions, people=True),
        AdoRoute(
            "POST",
            "/{org}/_apis/security/permissionevaluationbatch",
            permission_batch,
            preview=1,
            people=True,
        ),
        AdoRoute("GET", "/{org}/_apis/projects", list_projects),
        AdoRoute("GET", "/{org}/_apis/projects/{project_key}", get_project),
        *repo_routes,
        AdoRoute("GET", "/{org}/{project}/_apis/git/policy/configurations", git_policy_configurations),
        AdoRoute("GET", "/{org}/{project}/_apis/policy/configurations", policy_configurations),
        AdoRoute("GET", "/{org}/{project}/_apis/policy/types", policy_types),
        AdoRoute("GET", "/{org}/{project}/_apis/build/generalsettings", general_settings),
        AdoRoute(
            "GET",
            "/{org}/{project}/_apis/pipelines/pipelinepermissions/{kind}/{resource}",
            pipeline_permissions,
            preview=1,
        ),
        *project_lists,
        *gitserve.git_routes(context, readable_repository),
    ]
    return gitserve.PlainGitErrors(build_host_app(context, routes))


COLLECTION_NAMESPACE = "3e65f728-f8bc-4ecd-8764-7e378b19bfa7"
COLLECTION_ALL_BITS = 0xFFFF  # Project Collection Administrators hold every Collection permission
COLLECTION_GENERIC_READ = 1  # what Project Collection Valid Users hold


GIT_NAMESPACE = "2e9eb7ed-3c0a-47d4-87c1-0ffdd275fd87"  # Git Repositories; tokens repoV2[/{project}[/{repo}]]
GIT_ALL_BITS = 0x7FFF
# What each default project group is allowed on its project's repositories (Read 2, Contribute 4,
# CreateBranch 16, CreateTag 32, ManageNote 64, PullRequestContribute 16384). A Stakeholder's group holds
# the Contributors' bits: its access level, not the ACL, keeps it from private code (ACCESS_LEVEL_BASIC).
GIT_GROUP_BITS = {
    "projectReader": 2,
    "projectContributor": 2 | 4 | 16 | 32 | 64 | 16384,
    "projectStakeholder": 2 | 4 | 16 | 32 | 64 | 16384,
    "projectAdministrator": GIT_ALL_BITS,
}


def person_bits(person, namespace: str, token: str) -> int:
    """A person's rights: Project Collection Administrators hold everything in both modelled namespaces,
    other users only the Collection namespace's GenericRead (their project rights are not modelled)."""
    admin = person.org.is_administrator(person.upn)
    if namespace.lower() == COLLECTION_NAMESPACE:
        return COLLECTION_ALL_BITS if admin else COLLECTION_GENERIC_READ
    if namespace.lower() == GIT_NAMESPACE and token.lower().startswith("repov2"):
        return GIT_ALL_BITS if admin else 0
    return 0


def principal_bits(
    caller: Caller, projects: dict[str, tuple[Project, str]], namespace: str, token: str
) -> int:
    """Our service principal's rights: none in the Collection namespace; in Git Repositories, its project
    group's bits on the projects it was added to (`projects`: lowercase id -> project and group; tokens
    name projects by id),
    less an explicit Deny of Read (`read_denied`)."""
    if namespace.lower() != GIT_NAMESPACE:
        return 0
    parts = token.split("/")
    if parts[0].lower() != "repov2" or len(parts) not in (2, 3):
        return 0  # "repoV2" alone is the organization's: project groups hold nothing there
    project, group = projects.get(parts[1].lower(), (None, ""))
    if project is None:
        return 0
    if len(parts) == 3 and not any(r.id == parts[2].lower() for r in project.repositories):
        return 0
    bits = GIT_GROUP_BITS.get(group, 0)
    return bits & ~2 if project.name in caller.membership.read_denied else bits


def check_matches(check: dict, query) -> bool:
    """Checks are listed per resource (`resourceType` and `resourceId` are required by the service)."""
    resource = check.get("resource") or {}
    return str(resource.get("type", "")).lower() == query.get("resourceType", "").lower() and str(
        resource.get("id", "")
    ) == query.get("resourceId", "")


def access_denied(caller: Caller, api: str) -> Response:
    # The wording Azure DevOps uses when an identity lacks a permission on a kind of resource.
    return wrapped_error(
        403,
        f"Access Denied: {caller.display_name} needs the following permission(s) on the resource "
        f"{api} to perform this action: View",
        "AccessCheckException",
    )


def applies(config: dict, repo_id: str | None, ref_name: str | None) -> bool:
    """Given a repository and/or branch, keep the configurations whose scope covers it."""
    if not repo_id and not ref_name:
        return True
    for scope in config.get("settings", {}).get("scope", []):
        scope_repo, scope_ref = scope.get("repositoryId"), scope.get("refName")
        if repo_id and scope_repo not in (None, repo_id):
            continue
        if ref_name and scope_ref is not None:
            if scope.get("matchKind", "exact").lower() == "prefix":
                if not ref_name.startswith(scope_ref):
                    continue
            elif ref_name != scope_ref:
                continue
        return True
    return False


def item_tree(path: str, files: dict[str, str], level: str) -> list[str]:
    """The folder itself, then its entries: one level, or every file and folder for `full`."""
    entries = {path}
    if level == "none":
        return [path]
    for file_path in files:
        relative = file_path[len(path) :].strip("/") if path != "/" else file_path.strip("/")
        parts = relative.split("/")
        depth = len(parts) if level == "full" else 1
        for i in range(1, min(depth, len(parts)) + 1):
            entries.add(path.rstrip("/") + "/" + "/".join(parts[:i]))
    return sorted(entries)


def zip_response(repo: Repository, files: dict[str, str], prefix: str, download: bool) -> Response:
    """The archive holds the files under the requested path, relative to it (built in memory)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, content in files.items():
            name = path.strip("/")
            if prefix and fnmatch.fnmatch(name, prefix + "/*"):
                name = name[len(prefix) + 1 :]
            archive.writestr(name or path.rsplit("/", 1)[-1], content)
    headers = {"content-disposition": f"attachment; filename={repo.name}.zip"} if download else None
    return Response(buffer.getvalue(), media_type="application/zip", headers=headers)
