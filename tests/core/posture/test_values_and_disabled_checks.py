"""Posture judges what is really there: a disabled Approval check is no approval (ADO-RES-05), and plaintext
secrets in pipeline variables (ADO-PIPE-08) and variable groups (ADO-RES-08) are judged by their values, the name
only raising confidence. End to end through the emulator, values generated at test time."""

import random
import string

import pytest
from sqlmodel import select

from core.findings.models import Finding
from core.posture.secret_values import plaintext_secret
from tests.core.posture.evaluation import evaluate, reasons, results
from tests.core.posture.worlds import plant_posture
from tests.support.flows import connect_organization

ALNUM = string.ascii_letters + string.digits


def random_key(rng: random.Random, length: int = 40) -> str:
    """A generated API key: mixed case and digits, like most providers' keys."""
    chars = [
        rng.choice(string.ascii_uppercase),
        rng.choice(string.digits),
        rng.choice(string.ascii_lowercase),
    ]
    chars += [rng.choice(ALNUM) for _ in range(length - 3)]
    rng.shuffle(chars)
    return "".join(chars)


def entra_client_secret(rng: random.Random) -> str:
    """A Microsoft Entra ID client secret's shape: three characters, a digit, `Q~`, then 34 characters."""
    head = "".join(rng.choice(ALNUM) for _ in range(3)) + rng.choice(string.digits)
    return head + "Q~" + "".join(rng.choice(ALNUM + "_~.-") for _ in range(34))


LOGIN_VARIABLES = {
    "tokenEndpoint": {"value": "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token"},
    "keyVaultSecretName": {"value": "payments-sql-admin-password"},
    "keyVaultName": {"value": "kv-payments-prod"},
    "subscriptionId": {"value": "0f6a1c2d-3b4e-4f5a-8b6c-7d8e9f0a1b2c"},
    "certificatePath": {"value": "$(Agent.TempDirectory)/signing.pfx"},
    "enableDebug": {"value": "true"},
    "passwordLength": {"value": "24"},
}


async def test_disabled_approval_and_values_judged(services, world):
    rng = random.Random(20261201)
    api_key, client_secret, webhook = random_key(rng), entra_client_secret(rng), random_key(rng)
    plant_posture(world)
    payments = world.organization("contoso").project("Payments").extras
    # prod-eu's only approval is switched off.
    approval = next(c for c in payments["pipelines/checks/configurations"] if c["type"]["name"] == "Approval")
    approval["isDisabled"] = True
    payments["build/definitions"] += [
        {"id": 3, "name": "payments-login", "variables": LOGIN_VARIABLES},
        {
            "id": 4,
            "name": "payments-deploy",
            "variables": {
                **LOGIN_VARIABLES,
                "apiKey": {"value": api_key},  # a credential name and a random value
                "buildMetadata": {"value": client_secret},  # a neutral name, a typed token
            },
        },
    ]
    payments["distributedtask/variablegroups"] += [
        {"id": 4, "name": "login-config", "type": "Vsts", "variables": LOGIN_VARIABLES},
        {
            "id": 5,
            "name": "deploy-config",
            "type": "Vsts",
            "variables": {**LOGIN_VARIABLES, "webhookRef": {"value": webhook}},  # neutral, random-looking
        },
    ]
    _, connection_id = await connect_organization(services)
    await evaluate(services, connection_id)

    found = {k[1:]: v for k, v in (await results(services)).items() if k[0] == "Payments"}
    why = await reasons(services)
    assert found[("ADO-RES-05", "prod-eu")] == "FAIL"
    assert why[("ADO-RES-05", "prod-eu")] == (
        "Environment prod-eu looks like production and deploys without an approval: "
        "its approval check exists but is disabled."
    )
    assert found[("ADO-RES-05", "production")] == "FAIL"  # a branch-control check is no approval either
    assert why[("ADO-RES-05", "production")].endswith("deploys without an approval.")

    # A sign-in URL, a Key Vault secret's name, a GUID, a reference, a boolean, a number: no secret.
    assert found[("ADO-PIPE-08", "payments-login")] == "PASS"
    assert found[("ADO-RES-08", "login-config")] == "PASS"
    # Only the variables whose values are secrets are named, each with what gave it away.
    assert found[("ADO-PIPE-08", "payments-deploy")] == "FAIL"
    deploy = why[("ADO-PIPE-08", "payments-deploy")]
    assert deploy.startswith("Pipeline payments-deploy: variable(s) apiKey (")
    assert ", buildMetadata (Microsoft Entra ID client secret) hold a secret in plain text." in deploy
    assert found[("ADO-RES-08", "deploy-config")] == "FAIL"
    assert why[("ADO-RES-08", "deploy-config")] == (
        "Variable group deploy-config: variable(s) webhookRef (a random-looking value) hold a secret in plain text."
    )

    # The findings a user sees name variables, never a value.
    async with services.sessions() as session:
        rows = (await session.exec(select(Finding).where(Finding.category == "POSTURE"))).all()
    messages = " ".join(f.message for f in rows) + " ".join(why.values())
    for value in (api_key, client_secret, webhook):
        assert value not in messages and value[:8] not in messages
    assert {(f.rule_id, f.path) for f in rows} >= {
        ("ADO-PIPE-08", "Payments/definition/payments-deploy"),
        ("ADO-RES-08", "Payments/variablegroup/deploy-config"),
        ("ADO-RES-05", "Payments/environment/prod-eu"),
    }

    # The approval is enabled again: prod-eu passes and its finding is fixed.
    approval["isDisabled"] = False
    await evaluate(services, connection_id)
    assert (await results(services))[("Payments", "ADO-RES-05", "prod-eu")] == "PASS"


RNG = random.Random(7)
CASES = [
    # (name, value, a secret?)
    ("tokenEndpoint", "https://login.microsoftonline.com/common/oauth2/v2.0/token", False),
    ("keyVaultSecretName", "sql-admin-password", False),
    ("secretName", "SqlAdminPassword", False),
    ("passwordFile", "/run/secrets/db", False),
    ("clientId", "0f6a1c2d-3b4e-4f5a-8b6c-7d8e9f0a1b2c", False),
    ("dbPassword", "$(vault.dbPassword)", False),
    ("apiKey", "${{ secrets.API_KEY }}", False),
    ("apiKey", "<your-api-key>", False),
    ("token", "true", False),
    ("pat", "20", False),
    ("commitSha", "".join(RNG.choice("0123456789abcdef") for _ in range(40)), False),
    ("releaseName", "ContosoPaymentsRelease2024Build", False),
    ("admin", "ops@contoso.example", False),
    ("feedUrl", "https://pkgs.dev.azure.com/contoso/_packaging/feed/npm/registry/", False),
    ("dbPassword", "Hunter2-Pr0d-Passw0rd!", True),
    ("connectionStringValue", "Summer2024!x", True),
    (
        "apiKey",
        "".join(RNG.choice("0123456789abcdef") for _ in range(32)),
        True,
    ),  # hex counts under a key name
    ("artifactTag", random_key(RNG), True),
    ("feedUrl", "https://build:" + random_key(RNG, 16) + "@pkgs.contoso.test/feed", True),
    ("notes", entra_client_secret(RNG), True),
]


@pytest.mark.parametrize(("name", "value", "secret"), CASES, ids=[f"{n}-{s}" for n, _, s in CASES])
def test_value_shapes(name, value, secret):
    why = plaintext_secret(name, value)
    assert (why is not None) == secret, why
    assert why is None or value not in why
