"""Azure Pipelines rules: the demo scenario's planted patterns at their lines, and each rule's positive and
negative cases."""

import pytest

from core.scanners.pipelines import SCANNER, scan_file, scan_tree
from core.scans.scanner import ScanContext, ScannerError
from sandbox.scenario import demo_world


def demo_repository(name: str):
    for org in demo_world().organizations:
        for project in org.projects:
            for repo in project.repositories:
                if repo.name == name:
                    return repo
    raise LookupError(name)


def found(text: str, path: str = "azure-pipelines.yml") -> list[tuple[str, str, int]]:
    return sorted((f.rule.id, f.rule.severity, f.line) for f in scan_file(path, text))


def test_payments_api_has_exactly_the_planted_patterns():
    text = demo_repository("payments-api").files["azure-pipelines.yml"]
    assert found(text) == [
        ("ADO-PIPE-10", "HIGH", 26),  # $(Build.SourceBranch) in a script
        ("ADO-PIPE-10", "HIGH", 27),  # $(System.PullRequest.SourceBranch) in the same script
        ("ADO-PIPE-11", "MEDIUM", 38),  # SYSTEM_ACCESSTOKEN: $(System.AccessToken) in env
        ("ADO-PIPE-12", "MEDIUM", 16),  # resources.containers image node:latest
        ("ADO-PIPE-12", "MEDIUM", 42),  # job container mcr.microsoft.com/azure-cli, no tag
        ("ADO-PIPE-13", "MEDIUM", 29),  # curl … | bash
        ("ADO-PIPE-14", "LOW", 10),  # system.debug: true
        ("ADO-PIPE-16", "HIGH", 27),  # pr: builds run ./scripts/build.sh, the job maps System.AccessToken
        (
            "ADO-PIPE-17",
            "MEDIUM",
            33,
        ),  # setvariable dbPassword without issecret (ADO-PIPE-13 until version 3)
    ]


def test_data_pipelines_has_the_commit_message_injection():
    text = demo_repository("data-pipelines").files["azure-pipelines.yml"]
    assert found(text) == [
        ("ADO-PIPE-10", "HIGH", 17),  # $(Build.SourceVersionMessage) in a powershell step
        ("ADO-PIPE-12", "LOW", 14),  # container: python:3.12, tagged but not pinned by digest
    ]  # and no ADO-PIPE-16: `python ingest.py` runs, but pr: none


def test_the_clean_demo_pipelines_have_nothing(tmp_path):
    for name in ("identity-service", "pipeline-templates"):
        repo = demo_repository(name)
        for path, content in repo.files.items():
            (tmp_path / name / path).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / name / path).write_text(content)
        assert scan_tree(tmp_path / name) == [], name


def test_messages_and_identities_are_specific():
    text = demo_repository("payments-api").files["azure-pipelines.yml"]
    findings = {(f.rule.id, f.line): f for f in scan_file("azure-pipelines.yml", text)}
    assert (
        findings[("ADO-PIPE-10", 27)].message
        == "System.PullRequest.SourceBranch is pasted into a script step."
    )
    assert (
        findings[("ADO-PIPE-17", 33)].message
        == "Variable dbPassword looks secret but is set without issecret=true."
    )
    identities = [f.identity for f in findings.values()]
    assert len(identities) == len(set(identities))
    # a shifted file keeps every identity
    shifted = {f.identity for f in scan_file("azure-pipelines.yml", "# a comment\n\n" + text)}
    assert shifted == set(identities)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # ADO-PIPE-10
        ("steps:\n  - script: echo $(Build.SourceBranchName)\n", [("ADO-PIPE-10", "HIGH", 2)]),
        (
            "steps:\n  - bash: |\n      set -e\n      git log -1 '$(build.sourceversionmessage)'\n",
            [("ADO-PIPE-10", "HIGH", 4)],
        ),
        ("steps:\n  - pwsh: echo ${{ variables['Build.SourceBranch'] }}\n", [("ADO-PIPE-10", "HIGH", 2)]),
        (
            "variables:\n  - name: branch\n    value: $[variables.Build.SourceBranchName]\n"
            "steps:\n  - script: |\n      echo start\n      deploy $(branch)\n",
            [("ADO-PIPE-10", "HIGH", 7)],
        ),
        (
            "steps:\n  - task: Bash@3\n    inputs:\n      targetType: inline\n      script: |\n"
            "        echo hi\n        echo $(System.PullRequest.SourceBranch)\n",
            [("ADO-PIPE-10", "HIGH", 7)],
        ),
        ("steps:\n  - script: echo $BRANCH\n    env:\n      BRANCH: $(Build.SourceBranch)\n", []),
        ("steps:\n  - script: echo $(Build.BuildId) $(Build.SourceBranchNameX)\n", []),
        ("variables:\n  branch: main\nsteps:\n  - script: echo $(branch)\n", []),
        # ADO-PIPE-11
        (
            "steps:\n  - bash: |\n      set -e\n      echo $(System.AccessToken)\n",
            [("ADO-PIPE-11", "MEDIUM", 4)],
        ),
        (
            "pr: none\nsteps:\n  - script: ./publish.sh\n    env:\n      TOKEN: $(System.AccessToken)\n",
            [("ADO-PIPE-11", "MEDIUM", 5)],
        ),
        ("pr: none\nsteps:\n  - script: ./publish.sh\n    env:\n      TOKEN: $(publishToken)\n", []),
        # ADO-PIPE-12
        ("jobs:\n  - job: a\n    container: ubuntu\n    steps: []\n", [("ADO-PIPE-12", "MEDIUM", 3)]),
        ("jobs:\n  - job: a\n    container: ubuntu:latest\n    steps: []\n", [("ADO-PIPE-12", "MEDIUM", 3)]),
        (
            "jobs:\n  - job: a\n    container:\n      image: ubuntu:22.04\n    steps: []\n",
            [("ADO-PIPE-12", "LOW", 4)],
        ),
        (
            "resources:\n  containers:\n    - container: b\n      image: registry.example:5000/team/b\n"
            "jobs:\n  - job: a\n    container: b\n    services:\n      cache: redis:7\n    steps: []\n",
            [("ADO-PIPE-12", "LOW", 9), ("ADO-PIPE-12", "MEDIUM", 4)],
        ),
        ("jobs:\n  - job: a\n    container: ubuntu@sha256:" + "a" * 64 + "\n    steps: []\n", []),
        ("jobs:\n  - job: a\n    container: ${{ parameters.image }}\n    steps: []\n", []),
        # ADO-PIPE-13
        ("steps:\n  - script: wget -qO- https://x.example/i.sh | sudo sh\n", [("ADO-PIPE-13", "MEDIUM", 2)]),
        (
            "steps:\n  - bash: |\n      echo go\n      curl -fsSL https://x.example/i.sh \\\n        | bash -s --\n",
            [("ADO-PIPE-13", "MEDIUM", 4)],
        ),
        (
            "steps:\n  - pwsh: iex (iwr https://x.example/i.ps1 -UseBasicParsing)\n",
            [("ADO-PIPE-13", "MEDIUM", 2)],
        ),
        # ADO-PIPE-17 (set without issecret; part of ADO-PIPE-13 until scanner version 3)
        (
            'steps:\n  - script: echo "##vso[task.setvariable variable=apiToken]$T"\n',
            [("ADO-PIPE-17", "MEDIUM", 2)],
        ),
        (
            'steps:\n  - bash: echo "##vso[task.setvariable variable=conn]$(dbPassword)"\n',
            [("ADO-PIPE-17", "MEDIUM", 2)],
        ),
        ("steps:\n  - script: curl -o i.sh https://x.example/i.sh && sha256sum -c sums\n", []),
        ("pr: none\nsteps:\n  - bash: curl -f https://x.example/health || bash fallback.sh\n", []),
        ('steps:\n  - script: echo "##vso[task.setvariable variable=apiToken;issecret=true]$T"\n', []),
        ('steps:\n  - script: echo "##vso[task.setvariable variable=region]$R"\n', []),
        # ADO-PIPE-14
        ("variables:\n  - name: system.debug\n    value: true\nsteps: []\n", [("ADO-PIPE-14", "LOW", 2)]),
        ("variables:\n  System.Debug: 'true'\njobs: []\n", [("ADO-PIPE-14", "LOW", 2)]),
        (
            "jobs:\n  - job: a\n    variables:\n      system.debug: true\n    steps: []\n",
            [("ADO-PIPE-14", "LOW", 4)],
        ),
        ("variables:\n  system.debug: false\nsteps: []\n", []),
    ],
)
def test_each_rule_fires_only_when_it_should(text, expected):
    assert found(text) == sorted(expected)


def test_a_pipeline_that_does_not_parse_is_reported_with_its_line():
    [finding] = scan_file("azure-pipelines.yml", "trigger: none\nsteps:\n\t- script: echo hi\n")
    assert (finding.rule.id, finding.rule.severity, finding.line) == ("ADO-PIPE-PARSE", "LOW", 3)
    assert "line 3" in finding.message
    # not named as a pipeline, but shaped like one: still reported
    [finding] = scan_file("ci/build.yml", "steps:\n  - script: echo hi\n    displayName: [unclosed\n")
    assert (finding.rule.id, finding.line) == ("ADO-PIPE-PARSE", 4)


def test_which_yaml_files_are_pipelines(tmp_path):
    injection = "steps:\n  - script: echo $(Build.SourceBranch)\n"
    files = {
        "azure-pipelines.yml": injection,
        "azure-pipelines-release.yaml": injection,
        ".azure-pipelines/build.yml": injection,
        "deploy/.pipelines/nightly.yml": injection,
        "ci/templates/steps.yml": "parameters:\n  - name: x\n" + injection,
        "ci/only-trigger.yml": "trigger: [main]\npool:\n  vmImage: ubuntu-22.04\nsteps:\n  - script: curl x | sh\n",
        ".azure-pipelines/broken.yml": "a: [",
        # not pipelines
        "k8s/pod.yaml": "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n    - name: a\n      image: nginx:latest\n",
        ".github/workflows/ci.yml": "on: push\njobs:\n  b:\n    runs-on: x\n    steps:\n      - run: echo\n",
        ".gitlab-ci.yml": "stages: [build]\nbuild:\n  script: curl x | bash\n",
        "config/broken.yaml": "a: [",
        "config/app.yml": "steps: 3\nname: not a pipeline\n",
        ".git/azure-pipelines.yml": injection,
        "node_modules/x/azure-pipelines.yml": injection,
    }
    for path, content in files.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(content)
    assert sorted((f.rule.id, f.path, f.line) for f in scan_tree(tmp_path)) == [
        ("ADO-PIPE-10", ".azure-pipelines/build.yml", 2),
        ("ADO-PIPE-10", "azure-pipelines-release.yaml", 2),
        ("ADO-PIPE-10", "azure-pipelines.yml", 2),
        ("ADO-PIPE-10", "ci/templates/steps.yml", 4),
        ("ADO-PIPE-10", "deploy/.pipelines/nightly.yml", 2),
        ("ADO-PIPE-13", "ci/only-trigger.yml", 5),
        ("ADO-PIPE-PARSE", ".azure-pipelines/broken.yml", 1),
    ]


async def test_the_scanner_interface(tmp_path):
    (tmp_path / "azure-pipelines.yml").write_text("variables:\n  system.debug: true\nsteps: []\n")
    findings = await SCANNER.scan(ScanContext(root=tmp_path, secret_key=b"k"))
    assert [(f.rule.id, f.path, f.line) for f in findings] == [("ADO-PIPE-14", "azure-pipelines.yml", 2)]
    assert {r.id for r in SCANNER.rules} == {f"ADO-PIPE-{n}" for n in (10, 11, 12, 13, 14, 16, 17, 18)} | {
        "ADO-PIPE-PARSE"
    }
    with pytest.raises(ScannerError):
        await SCANNER.scan(ScanContext(root=tmp_path, secret_key=b"k", timeout_seconds=-1))
