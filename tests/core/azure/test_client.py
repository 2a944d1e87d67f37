"""AzureDevOps client against the emulator over HTTPS: real requests, faults played by the emulator."""

from __future__ import annotations

import asyncio
import logging
import zipfile

import pytest

from core.azure import transport
from core.azure.client import ENTITLEMENT_AREA, GRAPH_AREA, AzureDevOps
from core.azure.errors import (
    ApiVersionError,
    ArchiveTooLarge,
    AuthenticationFailed,
    CannotReadRepository,
    InvalidOrganization,
    NotFound,
    NotOrganizationMember,
    OrganizationNotFound,
    ProjectNotAccessible,
    RetryBudgetExhausted,
    ServiceUnavailable,
    Throttled,
    Unauthorized,
    UnexpectedResponse,
)
from core.azure.organization import path_segment
from core.azure.transport import RetryPolicy
from tests.worlds import CLIENT_ID, CONTOSO_TENANT, FABRIKAM_TENANT, Fault

VISIBLE_PROJECTS = {"Payments", "Platform", "Open Source"}


def dev_requests(sandbox, path_contains: str = "") -> list:
    return [
        r for r in sandbox.context.requests if r.host == "dev" and path_contains.lower() in r.path.lower()
    ]


def token_requests(sandbox) -> int:
    return sandbox.context.count("login", "/oauth2/v2.0/token")


def contoso_org(world):
    return world.organization("contoso")


def repo_id(world, project: str, name: str) -> str:
    found = contoso_org(world).project(project)
    return next(r.id for r in found.repositories if r.name == name)


# --- anonymous: organization and tenant ---------------------------------------------------------------


async def test_find_tenant(ado, sandbox):
    found = await ado.find_tenant("https://dev.azure.com/Contoso/Payments")
    assert found.organization == "contoso"
    assert found.tenant_id == CONTOSO_TENANT
    assert not found.msa_backed
    assert token_requests(sandbox) == 0  # anonymous
    probe = dev_requests(sandbox, "/contoso/_apis/connectionData")[0]
    assert probe.status == 401  # X-TFS-FedAuthRedirect: Suppress → a 401, not a 203 sign-in page


async def test_find_tenant_of_other_and_msa_organizations(ado):
    assert (await ado.find_tenant("fabrikam")).tenant_id == FABRIKAM_TENANT
    assert (await ado.find_tenant("personal-msa")).msa_backed


async def test_unknown_organization(ado, sandbox):
    with pytest.raises(OrganizationNotFound) as caught:
        await ado.find_tenant("no-such-org")
    assert "no-such-org" in caught.value.message
    assert caught.value.audience == "customer"
    # The two anonymous requests go together (one round trip) and both said no; nothing else was asked.
    assert sorted(r.status for r in dev_requests(sandbox)) == [404, 404]


async def test_invalid_organization_makes_no_request(ado, sandbox):
    with pytest.raises(InvalidOrganization):
        ado.organization("https://evil.com/contoso", CONTOSO_TENANT)
    with pytest.raises(InvalidOrganization):
        await ado.find_tenant("../x")
    assert sandbox.context.requests == []


# --- identity, projects, repositories -----------------------------------------------------------------


async def test_connection_data(contoso, world, sandbox):
    me = await contoso.connection_data()
    assert me.user_id == contoso_org(world).member(CLIENT_ID).identity_id
    assert me.subject_descriptor.startswith("aadsp.")
    record = dev_requests(sandbox, "connectionData")[0]
    assert "api-version=7.1-preview.1" in record.query


async def test_list_projects_follows_continuation_tokens(contoso, sandbox):
    names = [p.name async for p in contoso.list_projects(page_size=1)]
    assert set(names) == VISIBLE_PROJECTS
    pages = dev_requests(sandbox, "/_apis/projects")
    assert len(pages) == 3
    assert "continuationToken" not in pages[0].query
    assert all("continuationToken=" in p.query and "%24top=1" in p.query for p in pages[1:])


async def test_empty_pages_with_a_token_do_not_stop_paging(contoso, world, sandbox):
    world.faults.append(Fault(host="dev", route="/_apis/projects$", empty_pages=1, count=2))
    names = [p.name async for p in contoso.list_projects()]
    assert set(names) == VISIBLE_PROJECTS
    assert len(dev_requests(sandbox, "/_apis/projects")) == 3


async def test_list_repositories_in_one_call(contoso, sandbox):
    repos = await contoso.list_repositories()
    assert {r.name for r in repos} == {
        "payments-api",
        "payments-web",
        "empty-repo",
        "infra",
        "old-infra",
        "oss-lib",
    }
    assert next(r for r in repos if r.name == "empty-repo").default_branch is None
    assert len(dev_requests(sandbox, "/_apis/git/repositories")) == 1


async def test_project_names_are_encoded_in_paths(contoso, sandbox):
    assert len(await contoso.list_repositories("Payments")) == 3
    with pytest.raises(ProjectNotAccessible) as caught:
        await contoso.list_repositories("Secret Lab")  # exists, but our service principal is not in it
    assert caught.value.audience == "customer"
    assert dev_requests(sandbox, "/contoso/Secret Lab/_apis/git/repositories")


async def test_refs_and_branch_head(contoso, world):
    repo = repo_id(world, "Payments", "payments-api")
    refs = await contoso.list_refs(repo, "heads/")
    assert [r.name for r in refs] == ["refs/heads/main"]
    head = contoso_org(world).project("Payments").repositories[0].head_commit
    assert await contoso.branch_head(repo, "refs/heads/main") == head
    assert await contoso.branch_head(repo, "no-such-branch") is None


async def test_stakeholder_cannot_read_code(contoso, world):
    contoso_org(world).member(CLIENT_ID).access_level = "stakeholder"
    with pytest.raises(CannotReadRepository) as caught:
        await contoso.list_refs(repo_id(world, "Payments", "payments-api"))
    assert "Basic" in caught.value.remediation
    assert "TF401019" in caught.value.detail


async def test_download_archive(contoso, world, tmp_path):
    destination = tmp_path / "out" / "payments-api.zip"
    size = await contoso.download_archive(
        repo_id(world, "Payments", "payments-api"), "refs/heads/main", destination
    )
    assert size == destination.stat().st_size > 0
    with zipfile.ZipFile(destination) as archive:
        assert archive.read("README.md") == b"# payments-api\n"
    assert [p.name for p in destination.parent.iterdir()] == ["payments-api.zip"]


async def test_download_archive_size_guard(contoso, world, tmp_path):
    destination = tmp_path / "big.zip"
    with pytest.raises(ArchiveTooLarge):
        await contoso.download_archive(
            repo_id(world, "Payments", "payments-api"), "main", destination, max_bytes=10
        )
    assert list(tmp_path.iterdir()) == []  # no partial file left behind


async def test_download_archive_survives_a_dropped_connection(contoso, world, tmp_path, sandbox):
    world.faults.append(Fault(host="dev", route="/items$", drop_connection=True, count=1))
    size = await contoso.download_archive(
        repo_id(world, "Payments", "payments-api"), "main", tmp_path / "a.zip"
    )
    assert size > 0
    assert len(dev_requests(sandbox, "/items")) == 2


# --- resource areas: vssps and vsaex ------------------------------------------------------------------


async def test_hosts_are_resolved_through_resource_areas_once(contoso, sandbox):
    graph = await contoso.area_url(GRAPH_AREA)
    entitlements = await contoso.area_url(ENTITLEMENT_AREA)
    assert graph == f"{sandbox.urls['vssps']}/contoso"
    assert entitlements == f"{sandbox.urls['vsaex']}/contoso"
    assert await contoso.area_url(GRAPH_AREA) == graph
    assert len(dev_requests(sandbox, "/_apis/resourceAreas/")) == 2


async def test_untrusted_resource_area_location_is_refused(contoso):
    for location in ("https://evil.com/contoso", "http://127.0.0.1/contoso", "https://u:p@127.0.0.1/x", None):
        with pytest.raises(UnexpectedResponse):
            contoso._trusted_location(location)


async def test_service_principal_entitlement(contoso):
    me = await contoso.connection_data()
    entitlement = await contoso.get_service_principal_entitlement(me.user_id)
    assert entitlement.access_level.account_license_type == "express"
    groups = {e.project_ref.name: e.group.group_type for e in entitlement.project_entitlements}
    assert groups["Payments"] == "projectContributor"


async def test_graph_memberships(contoso):
    me = await contoso.connection_data()
    memberships = await contoso.list_memberships(me.subject_descriptor)
    assert memberships
    group = await contoso.get_group(memberships[0].container_descriptor)
    assert group.principal_name.startswith("[")


# --- authentication failures --------------------------------------------------------------------------


async def test_not_a_member(contoso, world, sandbox):
    contoso_org(world).members.clear()
    with pytest.raises(NotOrganizationMember) as caught:
        await contoso.connection_data()
    assert "Users" in caught.value.remediation
    assert token_requests(sandbox) == 1  # not an expired token: no refresh


async def test_token_from_the_wrong_tenant_is_refused(ado, sandbox):
    fabrikam = ado.organization("fabrikam", CONTOSO_TENANT)
    with pytest.raises(Unauthorized):
        await fabrikam.connection_data()
    assert len(dev_requests(sandbox)) == 2  # refused, one new token, refused again: no retry loop
    assert token_requests(sandbox) == 2


@pytest.mark.parametrize("status", [203, 302])
async def test_sign_in_page_or_redirect_is_an_authentication_failure(contoso, world, status):
    world.faults.append(Fault(host="dev", route="/_apis/projects$", status=status))
    with pytest.raises(AuthenticationFailed) as caught:
        [p async for p in contoso.list_projects()]
    assert caught.value.status == status


async def test_non_json_success_is_an_authentication_failure(contoso, world):
    repo = repo_id(world, "Payments", "payments-api")
    path = f"_apis/git/repositories/{path_segment(repo)}/items"
    with pytest.raises(AuthenticationFailed):
        await contoso.get_json(path, {"path": "/README.md", "$format": "text"})


async def test_expired_token_is_refreshed_once(contoso, sandbox):
    await contoso.connection_data()
    old_key = sandbox.context.token_key
    sandbox.context.token_key = "rotated-" + old_key  # the cached token no longer validates: as if expired
    try:
        me = await contoso.connection_data()
    finally:
        sandbox.context.token_key = old_key
    assert me.user_id
    assert token_requests(sandbox) == 2
    assert [r.status for r in dev_requests(sandbox, "connectionData")] == [200, 401, 200]


async def test_preview_version_mistake_is_our_bug(contoso):
    with pytest.raises(ApiVersionError) as caught:
        await contoso.get_json("Payments/_apis/pipelines/checks/configurations", api_version="7.1")
    assert caught.value.audience == "operator"


async def test_paths_must_stay_under_the_organization(contoso):
    for path in ("/contoso/_apis/projects", "https://evil.com/x", "../other/_apis/projects", "a/./b"):
        with pytest.raises(ValueError):
            await contoso.get_json(path)


# --- throttling, retries, budget ----------------------------------------------------------------------


class PacingWaits:
    """Stands in for the asyncio module inside core.azure.transport, which sleeps only to pace an organization's
    requests: records each wait (and how many repository requests the emulator had seen then), and waits it."""

    def __init__(self, sandbox) -> None:
        self.sandbox = sandbox
        self.waits: list[tuple[float, int]] = []

    def __getattr__(self, name):
        return getattr(asyncio, name)

    async def sleep(self, delay: float) -> None:
        self.waits.append((delay, len(dev_requests(self.sandbox, "/_apis/git/repositories"))))
        await asyncio.sleep(delay)


async def test_429_then_success(contoso, world, sandbox, caplog):
    world.faults.append(Fault(host="dev", route="/_apis/projects$", status=429, count=1, retry_after=0.2))
    with caplog.at_level(logging.INFO, logger="core.azure.transport"):
        names = [p.name async for p in contoso.list_projects()]
    assert set(names) == VISIBLE_PROJECTS
    # Retry-After honoured: the one retry waited the 0.2 s asked, not the policy's backoff (at most 0.05 s).
    retries = [r.getMessage() for r in caplog.records if r.getMessage().startswith("azure devops retry")]
    assert len(retries) == 1 and " attempt=1 wait=0.20s " in retries[0]
    assert [r.status for r in dev_requests(sandbox, "/_apis/projects")] == [429, 200]


async def test_retry_after_on_a_200_delays_the_next_requests(contoso, world, sandbox, monkeypatch):
    world.faults.append(Fault(host="dev", route="connectionData", delay_only=True, retry_after=0.3, count=1))
    pacing = PacingWaits(sandbox)
    monkeypatch.setattr(transport, "asyncio", pacing)
    await contoso.connection_data()  # good answer (not retried), but it asks us to slow down
    assert pacing.waits == []
    await contoso.list_repositories()
    # The next request waited for what was left of the Retry-After before it was sent.
    [(delay, repository_requests_then)] = pacing.waits
    assert 0 < delay <= 0.3 and repository_requests_then == 0
    assert [r.status for r in dev_requests(sandbox, "connectionData")] == [200]
    assert len(dev_requests(sandbox, "/_apis/git/repositories")) == 1


async def test_5xx_burst_is_retried(contoso, world, sandbox):
    world.faults.append(Fault(host="dev", route="/_apis/git/repositories$", status=503, count=3))
    assert len(await contoso.list_repositories()) == 6
    assert [r.status for r in dev_requests(sandbox, "/_apis/git/repositories")] == [503, 503, 503, 200]


async def test_dropped_connection_is_retried(contoso, world, sandbox):
    world.faults.append(Fault(host="dev", route="/_apis/git/repositories$", drop_connection=True, count=1))
    assert len(await contoso.list_repositories()) == 6
    assert len(dev_requests(sandbox, "/_apis/git/repositories")) == 2


@pytest.mark.parametrize("status", [400, 403, 404])
async def test_other_4xx_are_not_retried(contoso, world, sandbox, status):
    world.faults.append(Fault(host="dev", route="/_apis/git/repositories$", status=status))
    with pytest.raises(Exception) as caught:
        await contoso.list_repositories()
    assert not getattr(caught.value, "retryable", True)
    assert len(dev_requests(sandbox, "/_apis/git/repositories")) == 1
    if status == 404:
        assert isinstance(caught.value, NotFound)


async def test_retry_budget_exhaustion_is_clear(settings, tokens, world, sandbox):
    world.faults.append(Fault(host="dev", route="/_apis/git/repositories$", status=503))
    policy = RetryPolicy(budget_seconds=0.3, base_delay=0.02, max_delay=0.05)
    async with AzureDevOps(settings, tokens, retry=policy) as ado:
        with pytest.raises(RetryBudgetExhausted) as caught:
            await ado.organization("contoso", CONTOSO_TENANT).list_repositories()
    error = caught.value
    assert isinstance(error.last_error, ServiceUnavailable)
    assert error.attempts == len(dev_requests(sandbox, "/_apis/git/repositories")) > 1
    assert "Gave up after" in error.message


async def test_retry_after_beyond_the_budget_gives_up_at_once(contoso, world, sandbox):
    world.faults.append(Fault(host="dev", route="/_apis/git/repositories$", status=429, retry_after=60))
    with pytest.raises(RetryBudgetExhausted) as caught:
        await contoso.list_repositories()
    assert isinstance(caught.value.last_error, Throttled)
    assert caught.value.attempts == 1  # no waiting a minute for a retry the budget cannot afford
    assert len(dev_requests(sandbox, "/_apis/git/repositories")) == 1


# --- concurrency, counting, logs ----------------------------------------------------------------------


async def test_concurrency_is_bounded_per_organization(settings, tokens, world, sandbox, monkeypatch):
    contoso_org(world).latency_ms = 100  # each request is still open when the next ones start
    limited = settings.model_copy(update={"azure_max_concurrency": 2})
    async with AzureDevOps(limited, tokens) as ado:
        org = ado.organization("contoso", CONTOSO_TENANT)
        await org.connection_data()  # token and connection warm
        # Count the requests on the wire at once: one exchange is one request sent and its answer read.
        exchange, open_now, most_open = ado._transport._exchange, [0], [0]

        async def counted(*args, **kwargs):
            open_now[0] += 1
            most_open[0] = max(most_open[0], open_now[0])
            try:
                return await exchange(*args, **kwargs)
            finally:
                open_now[0] -= 1

        monkeypatch.setattr(ado._transport, "_exchange", counted)
        results = await asyncio.gather(*(org.list_repositories() for _ in range(6)))
    assert [len(r) for r in results] == [6] * 6
    assert most_open[0] == 2  # 6 calls, never more than 2 at a time, and 2 did run together
    assert len(dev_requests(sandbox, "/_apis/git/repositories")) == 6


async def test_request_counting(ado, contoso, world):
    world.faults.append(Fault(host="dev", route="/_apis/git/repositories$", status=503, count=1))
    await contoso.list_repositories()
    await ado.find_tenant("fabrikam")
    assert contoso.request_count == 2  # the 503 and its retry
    assert ado.organization("fabrikam").request_count == 1  # the anonymous probe
    assert ado.request_count == 4  # plus find_tenant's anonymous resource-area look-up


async def test_logs_never_contain_tokens(contoso, world, tokens, caplog):
    world.faults.append(Fault(host="dev", route="/_apis/git/repositories$", status=503, count=1))
    contoso_org(world).member(CLIENT_ID).access_level = "stakeholder"
    with caplog.at_level(logging.DEBUG):
        await contoso.list_repositories()
        with pytest.raises(CannotReadRepository) as caught:
            await contoso.list_refs(repo_id(world, "Payments", "payments-api"))
    token = await tokens.get_token(CONTOSO_TENANT)
    assert any("retry" in r.getMessage() for r in caplog.records)
    text = (
        "\n".join(r.getMessage() for r in caplog.records) + repr(caught.value) + str(caught.value.to_dict())
    )
    assert token not in text
    assert token.split(".")[1] not in text  # not even the claims part
