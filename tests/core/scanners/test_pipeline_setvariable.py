"""ADO-PIPE-13 (remote script piped to a shell) keeps its identity; a secret set without issecret is ADO-PIPE-17;
a literal committed as a secret variable is ADO-PIPE-18, never shown."""

import secrets

import pytest

from core.scanners.pipelines import SCANNER, scan_file
from core.scans.scanner import ScanContext, redacted_preview, secret_hash


def found(text: str) -> list[tuple[str, str, int]]:
    return sorted(
        (f.rule.id, f.rule.severity, f.line) for f in scan_file("azure-pipelines.yml", "pr: none\n" + text)
    )


def generated_password() -> str:
    return "Pw-" + secrets.token_urlsafe(18)


def test_curl_pipe_bash_is_still_ado_pipe_13_with_its_identity():
    text = "steps:\n  - script: curl -sSL https://x.example/i.sh | bash\n"
    [finding] = scan_file("azure-pipelines.yml", "pr: none\n" + text)
    assert (finding.rule.id, finding.rule.title, finding.line) == (
        "ADO-PIPE-13",
        "Remote script piped to a shell",
        3,
    )
    # the identity version 2 gave it: the normalised source line
    assert finding.identity == "pipe|- script: curl -sSL https://x.example/i.sh | bash"


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ('echo "##vso[task.setvariable variable=apiToken]$T"', [("ADO-PIPE-17", "MEDIUM", 3)]),
        (
            'echo "##vso[task.setvariable variable=conn;isOutput=true]$(dbPassword)"',
            [("ADO-PIPE-17", "MEDIUM", 3)],
        ),
        ('Write-Host "##vso[task.setvariable variable=region]$R"', []),
        ('echo "##vso[task.setvariable variable=apiToken;issecret=true]$T"', []),
    ],
)
def test_a_secret_set_without_issecret(script, expected):
    assert found(f"steps:\n  - script: '{script}'\n") == expected


def test_a_literal_committed_as_a_secret_is_reported_without_its_value():
    value = generated_password()
    text = f'steps:\n  - bash: |\n      echo start\n      echo "##vso[task.setvariable variable=dbPass;issecret=true]{value}"\n'
    [finding] = scan_file("azure-pipelines.yml", "pr: none\n" + text, secret_key=b"service-key")
    assert (finding.rule.id, finding.rule.severity, finding.line) == ("ADO-PIPE-18", "HIGH", 5)
    assert finding.message == "Secret variable dbPass is set to a literal value written in a bash step."
    assert value not in finding.message and value not in finding.identity
    assert finding.secret_hash == secret_hash(b"service-key", value)
    assert finding.preview == redacted_preview(value) and value not in finding.preview
    # the identity names the variable, not the value: rotating the literal keeps the finding
    [rotated] = scan_file("azure-pipelines.yml", "pr: none\n" + text.replace(value, generated_password()))
    assert rotated.identity == finding.identity


@pytest.mark.parametrize(
    "value",
    [
        "$(fromKeyVault)",
        "$SECRET",
        "${SECRET}",
        "$env:SECRET",
        "$($secret.Value)",
        "%SECRET%",
        '" + $s + "',
        "",
        "<your-api-key>",
        "***",
        "changeme",
    ],
)
def test_a_value_computed_at_run_time_or_a_placeholder_is_not_a_committed_secret(value):
    text = f"steps:\n  - pwsh: Write-Host '##vso[task.setvariable variable=dbPass;issecret=true]{value}'\n"
    assert found(text) == []


async def test_the_scanner_hashes_with_the_service_key(tmp_path):
    value = generated_password()
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy" / "release.yml").write_text(
        "pr: none\nsteps:\n  - task: PowerShell@2\n    inputs:\n      targetType: inline\n      script: |\n"
        f'        Write-Host "##vso[task.setvariable variable=sp_secret;issecret=true]{value}"\n'
    )
    [finding] = await SCANNER.scan(ScanContext(root=tmp_path, secret_key=b"k2"))
    assert (finding.rule.id, finding.path, finding.line) == ("ADO-PIPE-18", "deploy/release.yml", 7)
    assert finding.secret_hash == secret_hash(b"k2", value)
    assert "PowerShell@2 inputs.script step" in finding.message
