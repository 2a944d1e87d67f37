"""The Azure DevOps REST client: the one place Azure DevOps traffic goes through.

    async with AzureDevOps(settings, tokens) as ado:
        found = await ado.find_tenant("contoso")            # anonymous: does it exist, which tenant
        org = ado.organization("contoso", found.tenant_id)   # authenticated calls, per organization
        me = await org.connection_data()
        async for project in org.list_projects(): ...

One `httpx.AsyncClient` serves every organization; concurrency, rate-limit pacing and resolved hosts are
per organization (see transport.py). Organization names are validated (organization.py) before any URL is
built, and every other value placed in a path is URL-encoded.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx

from core.azure.errors import (
    ArchiveTooLarge,
    NotFound,
    OrganizationNotFound,
    UnexpectedResponse,
    token_rejected,
)
from core.azure.models import (
    ConnectionDataAnswer,
    GitRef,
    GraphDescriptor,
    GraphGroup,
    GraphMembership,
    PermissionEvaluationBatch,
    PermissionValues,
    Project,
    Repository,
    ResourceArea,
    ServicePrincipalEntitlement,
    collection_items,
    parse,
    parse_collection,
)
from core.azure.organization import parse_organization, path_segment
from core.azure.tokens import TokenProvider
from core.azure.transport import (
    Request,
    RetryPolicy,
    Transport,
    read_json,
    read_json_and_headers,
)
from core.settings import Settings

CORE_AREA = "79134C72-4A58-4B42-976C-04E7115F32BF"
GRAPH_AREA = "bb1e7ec9-e901-4b68-999a-de7012b920f8"  # vssps host
ENTITLEMENT_AREA = "68ddce18-2501-45f1-a17b-7931a9922690"  # memberEntitlementManagement, vsaex host
# Security namespace of Git repositories; its token `repoV2/{projectId}` covers every repository of a project
# and bit 2 is GenericRead ("Read"): what reading code needs.
GIT_REPOSITORIES_NAMESPACE = "2e9eb7ed-3c0a-47d4-87c1-0ffdd275fd87"
GIT_READ = 2
MAX_EVALUATIONS = 1000  # evaluations per permissionevaluationbatch request (bounded body, bounded work)
ZERO_TENANT = "00000000-0000-0000-0000-000000000000"
API_VERSION = "7.1"
PREVIEW = "7.1-preview.1"
DEFAULT_MAX_ARCHIVE_BYTES = 2 * 1024**3
MAX_PAGES = 10_000  # a safety net against a server that never stops handing out continuation tokens
ANONYMOUS_OK = frozenset({203, 302, 401, 403})  # an anonymous probe is refused, but names the tenant
HOST = "_host"  # pacing/concurrency key for requests not tied to an organization
M = TypeVar("M")


@dataclass(frozen=True)
class OrganizationTenant:
    organization: str
    url: str  # the Core area's location, as Azure DevOps reports it
    tenant_id: str  # the Entra tenant the organization is connected to (X-VSS-ResourceTenant)

    @property
    def msa_backed(self) -> bool:
        """Microsoft-account organizations have no Entra tenant: service principals cannot be used."""
        return self.tenant_id == ZERO_TENANT


@dataclass(frozen=True)
class ConnectionData:
    """`connectionData.authenticatedUser`: who Azure DevOps thinks we are in this organization."""

    user_id: str  # identity id: the key for serviceprincipalentitlements/{id}
    subject_descriptor: str  # Graph descriptor (aadsp.…) for memberships
    descriptor: str
    display_name: str
    instance_id: str  # the organization's id


@dataclass
class _TenantCredentials:
    tokens: TokenProvider
    tenant_id: str

    async def token(self) -> str:
        return await self.tokens.get_token(self.tenant_id)

    def invalidate(self, token: str) -> None:
        self.tokens.invalidate(self.tenant_id, token)


@dataclass
class _PersonCredentials:
    """A signed-in person's delegated token, used for one call (it cannot be renewed)."""

    bearer: str = field(repr=False)

    async def token(self) -> str:
        return self.bearer

    def invalidate(self, token: str) -> None:
        return None


class AzureDevOps:
    """A session: one HTTP client and token provider for many organizations. Use `async with`."""

    def __init__(
        self,
        settings: Settings,
        tokens: TokenProvider,
        *,
        retry: RetryPolicy | None = None,
        max_archive_bytes: int = DEFAULT_MAX_ARCHIVE_BYTES,
    ) -> None:
        self.settings = settings
        self.tokens = tokens
        self.max_archive_bytes = max_archive_bytes
        self._retry = retry
        self._transport: Transport | None = None

    async def __aenter__(self) -> AzureDevOps:
        self._transport = Transport(self.settings, self._retry)
        return self

    async def __aexit__(self, *exc) -> None:
        if self._transport is not None:
            await self._transport.aclose()
            self._transport = None

    @property
    def transport(self) -> Transport:
        if self._transport is None:
            raise RuntimeError("use `async with AzureDevOps(...)` before making requests")
        return self._transport

    @property
    def request_count(self) -> int:
        """HTTP requests sent to Azure DevOps by this session, retries included (tokens excluded)."""
        return self._transport.requests if self._transport else 0

    def organization(self, name: str, tenant_id: str | None = None) -> AzureDevOpsClient:
        """A client for one organization. `name` may be a name or URL; it is validated here."""
        return AzureDevOpsClient(self, parse_organization(name), tenant_id)

    async def find_tenant(self, organization: str) -> OrganizationTenant:
        return await self.organization(organization).find_tenant()


class AzureDevOpsClient:
    """Calls on one organization. Authenticated calls need the tenant id the organization is connected to."""

    def __init__(self, session: AzureDevOps, name: str, tenant_id: str | None) -> None:
        self.session = session
        self.name = name
        self.tenant_id = tenant_id
        self.url = f"{session.settings.azure_devops_url}/{name}"

    def __repr__(self) -> str:
        return f"AzureDevOpsClient(organization={self.name!r}, tenant_id={self.tenant_id!r})"

    @property
    def request_count(self) -> int:
        return self.session.transport.state(self.name).requests

    # --- anonymous: existence and tenant -------------------------------------------------------------
    async def find_tenant(self) -> OrganizationTenant:
        """Does the organization exist, and which Entra tenant is it connected to? No token needed."""
        # Both anonymous requests go together: one round trip. Both are awaited to their end even when one fails,
        # so no request is left running behind the answer.
        location, headers = await asyncio.gather(
            self._core_location(), self._tenant_probe(), return_exceptions=True
        )
        for answer in (location, headers):
            if isinstance(answer, BaseException):
                raise answer
        assert isinstance(location, str) and isinstance(headers, httpx.Headers)  # narrowed: neither failed
        tenant = headers.get("x-vss-resourcetenant", "").strip().lower()
        if not tenant:
            raise UnexpectedResponse(detail="no X-VSS-ResourceTenant header on the anonymous probe")
        return OrganizationTenant(self.name, location, tenant)

    async def _tenant_probe(self) -> httpx.Headers:
        # Any anonymous request to the organization answers with its tenant; a 401 is expected here.
        probe = Request(
            self.name,
            "GET",
            f"{self.url}/_apis/connectionData",
            {"api-version": PREVIEW},
            passthrough=ANONYMOUS_OK,
        )
        try:
            return await self.session.transport.call(probe, None, _headers_of)
        except NotFound:
            raise self._not_found() from None

    async def _core_location(self) -> str:
        base = self.session.settings.azure_devops_url
        request = Request(
            HOST,
            "GET",
            f"{base}/_apis/resourceAreas/{CORE_AREA}",
            {"accountName": self.name, "api-version": "5.0-preview.1"},
        )
        try:
            body = await self.session.transport.call(request, None, read_json)
        except NotFound:
            raise self._not_found() from None
        location = body.get("locationUrl") if isinstance(body, dict) else None
        if not location:
            raise self._not_found()
        return str(location).rstrip("/")

    def _not_found(self) -> OrganizationNotFound:
        return OrganizationNotFound(f"Azure DevOps organization '{self.name}' was not found.")

    # --- generic ---------------------------------------------------------------------------------------
    async def get_json(
        self,
        path: str,
        params: dict | None = None,
        *,
        api_version: str = API_VERSION,
        base: str | None = None,
    ) -> Any:
        """GET `{base or org url}/{path}` (path relative, segments already encoded) and return its JSON."""
        request = self._request(path, params, api_version, base)
        return await self.session.transport.call(request, self._credentials(), read_json)

    async def get_as(
        self,
        model: type[M],
        path: str,
        params: dict | None = None,
        *,
        api_version: str = API_VERSION,
        base: str | None = None,
    ) -> M:
        """GET one object and parse it as `model` (AzureUnexpectedAnswer when its shape is not ours)."""
        body = await self.get_json(path, params, api_version=api_version, base=base)
        return parse(model, body, _endpoint(path))

    async def list_as(
        self,
        model: type[M],
        path: str,
        params: dict | None = None,
        *,
        api_version: str = API_VERSION,
        base: str | None = None,
    ) -> list[M]:
        """GET a collection that is not paged, every item parsed as `model`."""
        body = await self.get_json(path, params, api_version=api_version, base=base)
        return parse_collection(model, body, _endpoint(path))

    async def paged_as(
        self,
        model: type[M],
        path: str,
        params: dict | None = None,
        *,
        api_version: str = API_VERSION,
        page_size: int | None = 100,
    ) -> AsyncIterator[M]:
        """Every item of a paged collection, parsed as `model` page by page."""
        index = 0
        async for item in self.paged(path, params, api_version=api_version, page_size=page_size):
            yield parse(model, item, _endpoint(path), f"value.{index}")
            index += 1

    async def paged(
        self,
        path: str,
        params: dict | None = None,
        *,
        api_version: str = API_VERSION,
        page_size: int | None = 100,
        base: str | None = None,
    ) -> AsyncIterator[dict]:
        """Every item of a list, following continuation tokens until none comes back.

        Tokens are opaque: taken from `x-ms-continuationtoken` (or a body's `continuationToken`) and sent back
        as-is. Empty pages that carry a token are normal (Graph) and paging goes on.
        """
        token: str | None = None
        for _ in range(MAX_PAGES):
            query = dict(params or {})
            if page_size:
                query["$top"] = page_size
            if token:
                query["continuationToken"] = token
            request = self._request(path, query, api_version, base)
            body, headers = await self.session.transport.call(
                request, self._credentials(), read_json_and_headers
            )
            for item in collection_items(body, _endpoint(path)):
                yield item
            token = headers.get("x-ms-continuationtoken") or (
                body.get("continuationToken") if isinstance(body, dict) else None
            )
            if not token:
                return
        raise UnexpectedResponse(detail=f"more than {MAX_PAGES} pages from {path}")

    # --- organization and identity ---------------------------------------------------------------------
    async def connection_data(self) -> ConnectionData:
        answer = await self.get_as(ConnectionDataAnswer, "_apis/connectionData", api_version=PREVIEW)
        user = answer.authenticated_user
        return ConnectionData(
            user_id=user.id,
            subject_descriptor=user.subject_descriptor,
            descriptor=user.descriptor,
            display_name=user.provider_display_name,
            instance_id=answer.instance_id,
        )

    async def area_url(self, area_id: str) -> str:
        """The base URL of a resource area (e.g. graph → vssps host), resolved once per organization."""
        state = self.session.transport.state(self.name)
        key = area_id.lower()
        async with state.area_lock:
            if key not in state.area_urls:
                path = f"_apis/resourceAreas/{path_segment(key)}"
                area = await self.get_as(ResourceArea, path, api_version=PREVIEW)
                state.area_urls[key] = self._trusted_location(area.location_url or None)
            return state.area_urls[key]

    async def get_service_principal_entitlement(self, identity_id: str) -> ServicePrincipalEntitlement:
        """Access level, status and project groups of our service principal (id: connectionData user id)."""
        base = await self.area_url(ENTITLEMENT_AREA)
        path = f"_apis/serviceprincipalentitlements/{path_segment(identity_id)}"
        return await self.get_as(ServicePrincipalEntitlement, path, api_version=PREVIEW, base=base)

    async def list_memberships(self, subject_descriptor: str, direction: str = "up") -> list[GraphMembership]:
        """Direct Graph memberships (depth 1 is all the service supports)."""
        base = await self.area_url(GRAPH_AREA)
        path = f"_apis/graph/Memberships/{path_segment(subject_descriptor)}"
        params = {"direction": direction, "depth": 1}
        return await self.list_as(GraphMembership, path, params, api_version=PREVIEW, base=base)

    async def get_group(self, descriptor: str) -> GraphGroup:
        base = await self.area_url(GRAPH_AREA)
        path = f"_apis/graph/groups/{path_segment(descriptor)}"
        return await self.get_as(GraphGroup, path, api_version=PREVIEW, base=base)

    async def get_descriptor(self, storage_key: str) -> str:
        base = await self.area_url(GRAPH_AREA)
        path = f"_apis/graph/descriptors/{path_segment(storage_key)}"
        return (await self.get_as(GraphDescriptor, path, base=base)).value

    # --- projects and repositories ---------------------------------------------------------------------
    def list_projects(
        self, *, page_size: int = 100, state_filter: str | None = None
    ) -> AsyncIterator[Project]:
        params = {"stateFilter": state_filter} if state_filter else None
        return self.paged_as(Project, "_apis/projects", params, page_size=page_size)

    async def list_repositories(self, project: str | None = None) -> list[Repository]:
        """All Git repositories of the organization (or of one project) in one call: not paged."""
        prefix = f"{path_segment(project)}/" if project else ""
        return await self.list_as(Repository, f"{prefix}_apis/git/repositories")

    async def list_refs(self, repo_id: str, filter: str = "", *, page_size: int = 1000) -> list[GitRef]:
        """Refs whose name starts with `refs/{filter}` (e.g. "heads/" for branches)."""
        path = f"_apis/git/repositories/{path_segment(repo_id)}/refs"
        params = {"filter": filter} if filter else None
        return [ref async for ref in self.paged_as(GitRef, path, params, page_size=page_size)]

    async def branch_tips(self, repo_id: str) -> dict[str, str]:
        """Every branch's tip ("refs/heads/main" -> commit id): what `git ls-remote --heads` answers, over REST."""
        return {ref.name: ref.object_id for ref in await self.list_refs(repo_id, "heads/")}

    async def branch_head(self, repo_id: str, branch: str) -> str | None:
        """The commit id a branch points at, None when the branch does not exist."""
        name = _branch_name(branch)
        for ref in await self.list_refs(repo_id, f"heads/{name}"):
            if ref.name == f"refs/heads/{name}":
                return ref.object_id
        return None

    async def download_archive(
        self, repo_id: str, branch: str, dest_path: str | Path, *, max_bytes: int | None = None
    ) -> int:
        """Stream a branch as a zip to `dest_path` (never held in memory). Returns the number of bytes.

        Written to a temporary file beside the destination and renamed at the end, so a failed or retried
        download never leaves a partial archive. The zip omits submodules.
        """
        limit = max_bytes if max_bytes is not None else self.session.max_archive_bytes
        destination = Path(dest_path)
        path = f"_apis/git/repositories/{path_segment(repo_id)}/items"
        params = {
            "path": "/",
            "$format": "zip",
            "download": "true",
            "versionDescriptor.version": _branch_name(branch),
            "versionDescriptor.versionType": "branch",
        }
        request = self._request(path, params, API_VERSION, None, accept="application/zip")

        async def save(response: httpx.Response) -> int:
            return await _save_zip(response, destination, limit)

        return await self.session.transport.call(request, self._credentials(), save)

    async def caller_has_permission(self, bearer: str, namespace_id: str, bits: int, token: str) -> bool:
        """Whether the token's owner holds `bits` on `token`: Azure DevOps evaluates the caller's own
        effective permission, groups nested as it resolves them (Security REST API, permissions)."""
        path = f"_apis/permissions/{path_segment(namespace_id)}/{int(bits)}"
        request = self._request(
            path, {"tokens": token, "alwaysAllowAdministrators": "false"}, API_VERSION, None
        )
        body = await self.session.transport.call(request, _PersonCredentials(bearer), read_json)
        values = parse(PermissionValues, body, _endpoint(path)).value
        return len(values) == 1 and values[0] is True

    async def evaluate_permissions(self, namespace_id: str, bits: int, tokens: list[str]) -> dict[str, bool]:
        """Whether our service principal holds `bits` on each token, as Azure DevOps evaluates its own
        effective permissions (groups, inheritance, Deny): `POST _apis/security/permissionevaluationbatch`,
        one request per MAX_EVALUATIONS tokens, sent together. Raises (Forbidden, ...) like any call."""
        chunks = [tokens[i : i + MAX_EVALUATIONS] for i in range(0, len(tokens), MAX_EVALUATIONS)]
        answers = await asyncio.gather(*(self._evaluate(namespace_id, bits, chunk) for chunk in chunks))
        return {token: value for answer in answers for token, value in answer.items()}

    async def _evaluate(self, namespace_id: str, bits: int, tokens: list[str]) -> dict[str, bool]:
        evaluations = [
            {"securityNamespaceId": namespace_id, "token": token, "permissions": int(bits)}
            for token in tokens
        ]
        request = Request(
            self.name,
            "POST",
            f"{self.url}/_apis/security/permissionevaluationbatch",
            {"api-version": PREVIEW},
            body={"alwaysAllowAdministrators": False, "evaluations": evaluations},
        )
        body = await self.session.transport.call(request, self._credentials(), read_json)
        batch = parse(PermissionEvaluationBatch, body, "POST _apis/security/permissionevaluationbatch")
        answered = {e.token: e.value for e in batch.evaluations}
        missing = [token for token in tokens if token not in answered]
        if missing:
            raise UnexpectedResponse(
                detail=f"permission evaluation without an answer for {len(missing)} token(s)"
            )
        return answered

    # --- helpers ---------------------------------------------------------------------------------------
    def _credentials(self) -> _TenantCredentials:
        if not self.tenant_id:
            raise ValueError(f"organization '{self.name}': authenticated calls need its tenant id")
        return _TenantCredentials(self.session.tokens, self.tenant_id)

    def _request(
        self,
        path: str,
        params: dict | None,
        api_version: str,
        base: str | None,
        accept: str = "application/json",
    ) -> Request:
        _check_relative(path)
        query = {**(params or {}), "api-version": api_version}
        return Request(self.name, "GET", f"{(base or self.url).rstrip('/')}/{path}", query, accept)

    def _trusted_location(self, location: str | None) -> str:
        """Only send our token to https hosts under the Azure DevOps domain (e.g. vssps.dev.azure.com)."""
        if not location:
            raise UnexpectedResponse(detail="resource area without locationUrl")
        devops_host = urlsplit(self.session.settings.azure_devops_url).hostname or ""
        parts = urlsplit(location)
        host = parts.hostname or ""
        trusted = host == devops_host or host.endswith("." + devops_host)
        if devops_host == "dev.azure.com":
            trusted = trusted or host.endswith(".visualstudio.com")
        if parts.scheme != "https" or not trusted or parts.username or parts.password:
            raise UnexpectedResponse(detail=f"untrusted resource area location host {host!r}")
        return location.rstrip("/")


# --- module helpers -------------------------------------------------------------------------------------


async def _headers_of(response: httpx.Response) -> httpx.Headers:
    return response.headers


def _endpoint(path: str, method: str = "GET") -> str:
    """How an AzureUnexpectedAnswer names the call: its method and path (ids, never a query or a token)."""
    return f"{method} {path.partition('?')[0]}"


def _branch_name(branch: str) -> str:
    """`main` from `main` or `refs/heads/main` (repositories report defaultBranch in the long form)."""
    return branch.removeprefix("refs/heads/")


def _check_relative(path: str) -> None:
    """Paths are built by our code from encoded segments; refuse anything that could leave the base URL."""
    segments = path.split("/")
    if (
        path.startswith("/")
        or "://" in path
        or "?" in path
        or "#" in path
        or ".." in segments
        or "." in segments
    ):
        raise ValueError("Azure DevOps path must be relative and made of encoded segments")


async def _save_zip(response: httpx.Response, destination: Path, limit: int) -> int:
    content_type = response.headers.get("content-type", "").lower()
    if "zip" not in content_type and "octet-stream" not in content_type:
        raise token_rejected(response.status_code, f"expected a zip archive, got {content_type or 'nothing'}")
    declared = int(response.headers.get("content-length") or 0)
    if declared > limit:
        raise ArchiveTooLarge(detail=f"{declared} bytes declared, limit {limit}")
    destination.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=destination.parent, prefix=".download-", suffix=".zip")
    written = 0
    try:
        with os.fdopen(handle, "wb") as out:
            async for chunk in response.aiter_bytes():
                written += len(chunk)
                if written > limit:
                    raise ArchiveTooLarge(detail=f"more than {limit} bytes")
                out.write(chunk)
        os.replace(temporary, destination)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return written
