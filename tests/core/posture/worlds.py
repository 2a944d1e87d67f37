"""Posture data planted in the base world's Contoso organization: Payments fails some controls and passes
others; on Platform the service principal is refused the service-connection and pipeline-permission APIs."""

from sandbox.scenario import World, stable_id

MIN_REVIEWERS = "fa4e907d-c16b-4a4c-9dfa-4906e5d171dd"
BUILD = "0609b952-1397-4640-95ec-e00a01b2c241"
COMMENTS = "c6a1889d-b943-4856-b76f-9e46bb6b0df2"
PROD_ARM = stable_id("endpoint", "prod-arm")
RG_ARM = stable_id("endpoint", "rg-arm")
GITHUB = stable_id("endpoint", "github")
SIGNING = stable_id("securefile", "signing.pfx")


def policy(policy_id: int, type_id: str, repository_id: str | None, blocking=True, **settings) -> dict:
    return {
        "id": policy_id,
        "type": {"id": type_id, "displayName": type_id},
        "isEnabled": True,
        "isBlocking": blocking,
        "isDeleted": False,
        "revision": 1,
        "settings": {
            "scope": [{"repositoryId": repository_id, "refName": "refs/heads/main", "matchKind": "Exact"}]
        }
        | settings,
    }


def endpoint(eid: str, name: str, kind: str, projects: list[str], **extra) -> dict:
    return {
        "id": eid,
        "name": name,
        "type": kind,
        "url": "https://management.azure.com/",
        "isShared": len(projects) > 1,
        "isReady": True,
        "owner": "library",
        "serviceEndpointProjectReferences": [
            {"projectReference": {"id": stable_id("p", p), "name": p}, "name": name} for p in projects
        ],
        **extra,
    }


def open_to_all(authorized: bool) -> dict:
    return {"allPipelines": {"authorized": authorized, "authorizedOn": "2024-05-01T10:00:00Z"}}


def payments_extras(api_id: str, web_id: str) -> dict:
    return {
        "build/generalsettings": {
            "enforceJobAuthScope": False,
            "statusBadgesArePrivate": False,
            "enforceNoAccessToSecretsFromForks": False,
        },
        "policy/configurations": [
            policy(
                1,
                MIN_REVIEWERS,
                api_id,
                minimumApproverCount=2,
                creatorVoteCounts=False,
                blockLastPusherVote=True,
                resetOnSourcePush=True,
            ),
            policy(2, BUILD, api_id, buildDefinitionId=1),
            policy(3, COMMENTS, api_id),
            policy(4, MIN_REVIEWERS, web_id, minimumApproverCount=1, creatorVoteCounts=True),
            policy(5, BUILD, web_id, blocking=False, buildDefinitionId=1),
        ],
        "build/definitions": [
            {
                "id": 1,
                "name": "payments-ci",
                "variables": {
                    "dbPassword": {"value": "Hunter2-Pr0d-Passw0rd!", "isSecret": False},
                    "apiUrl": {"value": "https://api.contoso.test", "allowOverride": True},
                    "deployToken": {"value": None, "isSecret": True},
                },
                "triggers": [
                    {"triggerType": "pullRequest", "forks": {"enabled": True, "allowSecrets": True}},
                ],
            },
            {
                "id": 2,
                "name": "payments-release",
                "variables": {"region": {"value": "westeurope"}, "dbPassword": {"value": "$(vault.db)"}},
                "triggers": [{"triggerType": "continuousIntegration"}],
            },
        ],
        "serviceendpoint/endpoints": [
            endpoint(
                PROD_ARM,
                "prod-arm",
                "azurerm",
                ["Payments", "Platform"],
                data={"scopeLevel": "Subscription", "subscriptionId": "sub-1"},
                authorization={
                    "scheme": "WorkloadIdentityFederation",
                    "parameters": {"scope": "/subscriptions/sub-1"},
                },
            ),
            endpoint(
                RG_ARM,
                "rg-arm",
                "azurerm",
                ["Payments"],
                data={"scopeLevel": "Subscription"},
                authorization={
                    "scheme": "WorkloadIdentityFederation",
                    "parameters": {"scope": "/subscriptions/sub-1/resourceGroups/payments-rg"},
                },
            ),
            endpoint(GITHUB, "github", "github", ["Payments"]),
        ],
        "distributedtask/variablegroups": [
            {
                "id": 1,
                "name": "prod-secrets",
                "type": "Vsts",
                "variables": {"dbPassword": {"value": None, "isSecret": True}},
            },
            {
                "id": 2,
                "name": "plain-config",
                "type": "Vsts",
                "variables": {"region": {"value": "westeurope"}},
            },
            {
                "id": 3,
                "name": "kv-group",
                "type": "AzureKeyVault",
                "variables": {"apiKey": {"enabled": True}},
            },
        ],
        "distributedtask/securefiles": [{"id": SIGNING, "name": "signing.pfx"}],
        "distributedtask/queues": [
            {
                "id": 10,
                "name": "Azure Pipelines",
                "pool": {"id": 1, "name": "Azure Pipelines", "isHosted": True},
            },
            {"id": 11, "name": "self-hosted-linux", "pool": {"id": 2, "name": "linux", "isHosted": False}},
        ],
        "distributedtask/environments": [
            {"id": 1, "name": "production"},
            {"id": 2, "name": "prod-eu"},
            {"id": 3, "name": "staging"},
        ],
        "pipelines/checks/configurations": [
            {
                "id": 7,
                "type": {"id": stable_id("checktype", "approval"), "name": "Approval"},
                "resource": {"type": "environment", "id": "2", "name": "prod-eu"},
                "settings": {},
            },
            {
                "id": 8,
                "type": {"id": stable_id("checktype", "branch"), "name": "Task Check"},
                "resource": {"type": "environment", "id": "1", "name": "production"},
                "settings": {},
            },
        ],
        "pipelines/pipelinepermissions": {
            f"endpoint/{PROD_ARM}": open_to_all(True),
            f"endpoint/{RG_ARM}": open_to_all(False),
            f"endpoint/{GITHUB}": open_to_all(False),
            "variablegroup/1": open_to_all(True),
            "variablegroup/3": open_to_all(False),
            f"securefile/{SIGNING}": open_to_all(True),
            "queue/11": open_to_all(True),
        },
    }


def plant_posture(world: World) -> World:
    org = world.organization("contoso")
    payments = org.project("Payments")
    api, web = payments.repositories[0], payments.repositories[1]
    web.last_commit_date = "2024-01-02T03:04:05Z"
    payments.extras = payments_extras(api.id, web.id)
    platform = org.project("Platform")
    platform.extras = {
        "distributedtask/securefiles": [{"id": SIGNING, "name": "platform.pfx"}],
        "serviceendpoint/endpoints": [endpoint(PROD_ARM, "prod-arm", "azurerm", ["Payments", "Platform"])],
    }
    org.members[0].refused_apis = [
        "Platform:serviceendpoint/endpoints",
        "Platform:pipelines/pipelinepermissions",
    ]
    return world
