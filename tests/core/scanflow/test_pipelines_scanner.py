"""Our Azure Pipelines rules on the demo scenario's pipelines and on small positive/negative cases."""

import pytest

from core.scanners.pipelines import scan_file
from sandbox.scenario import demo_world


def demo_file(repo_name: str, path: str) -> str:
    for org in demo_world().organizations:
        for project in org.projects:
            for repo in project.repositories:
                if repo.name == repo_name:
                    return repo.files[path]
    raise LookupError(repo_name)


def found(path: str, text: str) -> list[tuple[str, int]]:
    return sorted((f.rule.id, f.line) for f in scan_file(path, text))


def test_the_planted_pipeline_patterns():
    assert found("azure-pipelines.yml", demo_file("payments-api", "azure-pipelines.yml")) == [
        ("ADO-PIPE-10", 26),
        ("ADO-PIPE-10", 27),
        ("ADO-PIPE-11", 38),
        ("ADO-PIPE-12", 16),
        ("ADO-PIPE-12", 42),
        ("ADO-PIPE-13", 29),
        ("ADO-PIPE-13", 33),
        ("ADO-PIPE-14", 10),
    ]
    assert found("azure-pipelines.yml", demo_file("data-pipelines", "azure-pipelines.yml")) == [
        ("ADO-PIPE-10", 16),
        ("ADO-PIPE-12", 13),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("steps:\n  - script: echo $(Build.SourceBranchName)\n", [("ADO-PIPE-10", 2)]),
        ("steps:\n  - script: echo $BRANCH\n    env:\n      BRANCH: $(Build.SourceBranch)\n", []),
        ("steps:\n  - bash: |\n      set -e\n      echo $(System.AccessToken)\n", [("ADO-PIPE-11", 4)]),
        ("jobs:\n  - job: a\n    container: ubuntu@sha256:" + "a" * 64 + "\n    steps: []\n", []),
        ("jobs:\n  - job: a\n    container: ubuntu\n    steps: []\n", [("ADO-PIPE-12", 3)]),
        ("steps:\n  - script: wget -qO- https://x.example/i.sh | sudo sh\n", [("ADO-PIPE-13", 2)]),
        ("steps:\n  - script: curl -o i.sh https://x.example/i.sh && sha256sum -c sums\n", []),
        ('steps:\n  - script: echo "##vso[task.setvariable variable=apiToken;issecret=true]$T"\n', []),
        ('steps:\n  - script: echo "##vso[task.setvariable variable=region]$R"\n', []),
        ("variables:\n  - name: system.debug\n    value: true\nsteps: []\n", [("ADO-PIPE-14", 2)]),
        ("variables:\n  system.debug: false\nsteps: []\n", []),
    ],
)
def test_each_rule_fires_only_when_it_should(text, expected):
    assert found("azure-pipelines.yml", text) == expected


def test_a_pipeline_that_does_not_parse_is_reported_with_its_line():
    [finding] = scan_file("azure-pipelines.yml", "steps:\n  - script: echo hi\n    displayName: [unclosed\n")
    assert finding.rule.id == "ADO-PIPE-PARSE" and finding.line >= 3


def test_other_yaml_is_left_alone():
    manifest = "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n    - name: a\n      image: nginx:latest\n"
    assert scan_file("k8s/pod.yaml", manifest) == []
    assert scan_file("config/broken.yaml", "a: [") == []  # not a pipeline: not ours to report
    steps_elsewhere = "steps:\n  - script: echo $(Build.SourceVersionMessage)\n"
    assert [f.rule.id for f in scan_file("ci/build.yml", steps_elsewhere)] == ["ADO-PIPE-10"]
