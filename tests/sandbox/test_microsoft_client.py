"""Microsoft's own Python client (PyPI `azure-devops`) works against the emulator, unpatched.

It discovers hosts through `_apis/ResourceAreas`, builds URLs from the route templates of
`OPTIONS {base}/_apis` and sends the api-version in the Accept header, so this checks the emulator's location
data too. It uses `requests`, which trusts the sandbox CA through REQUESTS_CA_BUNDLE.
"""

from __future__ import annotations

import gc
import os
import tempfile
from collections.abc import Iterator

import pytest

# The client caches OPTIONS answers on disk, in a directory read once at import: keep it out of $HOME.
os.environ.setdefault("AZURE_DEVOPS_CACHE_DIR", tempfile.mkdtemp(prefix="azure-devops-cache-"))

from azure.devops.connection import Connection
from azure.devops.exceptions import AzureDevOpsServiceError
from msrest.authentication import BasicTokenAuthentication

from tests.sandbox.client import token
from tests.worlds import CLIENT_ID


@pytest.fixture
def connection(sandbox, world, monkeypatch) -> Iterator[Connection]:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(sandbox.ca_path))
    credentials = BasicTokenAuthentication({"access_token": token(sandbox)})
    connection = Connection(base_url=f"{sandbox.devops_url}/contoso", creds=credentials)
    yield connection
    # Open keep-alive connections would hold up the sandbox's shutdown by 10 s: close the clients' sessions,
    # and collect those of the short-lived location clients the connection made for itself.
    for client in connection._client_cache.values():
        client._client.close()
    del connection
    gc.collect()


def test_projects_with_continuation(connection, world):
    core = connection.clients_v7_1.get_core_client()
    # The 7.1 client returns the list and drops the `x-ms-continuationtoken` header; the token is the
    # number of projects already fetched (int32), which the client sends back as `continuationToken`.
    assert [p.name for p in core.get_projects(top=2)] == ["Payments", "Platform"]
    assert [p.name for p in core.get_projects(top=2, continuation_token=2)] == ["Open Source"]
    assert core.get_project("Payments").visibility == "private"


def test_repositories_and_refs(connection, world):
    git = connection.clients_v7_1.get_git_client()
    repositories = {r.name: r for r in git.get_repositories()}
    assert set(repositories) == {
        "payments-api",
        "payments-web",
        "empty-repo",
        "infra",
        "old-infra",
        "oss-lib",
    }
    assert repositories["payments-api"].default_branch == "refs/heads/main"
    assert repositories["payments-api"].project.name == "Payments"
    in_project = git.get_repositories(project="Platform")
    assert {r.name for r in in_project} == {"infra", "old-infra"}
    refs = git.get_refs(repositories["payments-api"].id, project="Payments", filter="heads/")
    head = world.organization("contoso").project("Payments").repositories[0].head_commit
    assert [(r.name, r.object_id) for r in refs] == [("refs/heads/main", head)]
    item = git.get_item(
        repositories["payments-api"].id, "/README.md", project="Payments", include_content=True
    )
    assert item.content == "# payments-api\n"


def test_stakeholder_refs_raise_tf401019(connection, world):
    world.organization("contoso").member(CLIENT_ID).access_level = "stakeholder"
    git = connection.clients_v7_1.get_git_client()
    with pytest.raises(AzureDevOpsServiceError, match="TF401019"):
        git.get_refs("payments-api", project="Payments")


def test_policy_configurations(connection, world):
    project = world.organization("contoso").project("Payments")
    repo = project.repositories[0]
    scope = [{"repositoryId": repo.id, "refName": "refs/heads/main", "matchKind": "exact"}]
    project.extras = {
        "policy/configurations": [
            {
                "id": 7,
                "type": {
                    "id": "fa4e907d-c16b-4a4c-9dfa-4906e5d171dd",
                    "displayName": "Minimum number of reviewers",
                },
                "isEnabled": True,
                "isBlocking": True,
                "settings": {"minimumApproverCount": 2, "scope": scope},
            }
        ]
    }
    policy = connection.clients_v7_1.get_policy_client()
    configurations = policy.get_policy_configurations("Payments")
    assert [(c.id, c.settings["minimumApproverCount"]) for c in configurations] == [(7, 2)]
    assert any(t.display_name == "Build" for t in policy.get_policy_types("Payments"))
    git = connection.clients_v7_1.get_git_client()
    applied = git.get_policy_configurations("Payments", repository_id=repo.id, ref_name="refs/heads/main")
    assert [c.id for c in applied.policy_configurations] == [7]
