"""Labelled Azure Pipelines samples for every pipeline rule (ADO-PIPE-10 to 14, 16 to 18), and our scanner's
per-rule precision and recall on them.

    .venv/bin/python benchmarks/pipeline_samples.py [--no-peer]

`samples()` returns (repository-relative path, YAML text, set of the rule ids expected in that file): true samples
(the rule must fire) and false samples (look-alikes it must not fire on), each fully labelled, so any other rule
firing on a sample counts against that rule's precision. Written here from the rules' documented shapes (Microsoft's
YAML schema, poutine's and checkov's rule descriptions), not copied from a tool's test suite; the committed-secret
samples get a value generated at run time. `benchmarks/scanner_accuracy.py` imports `samples()` and `evaluate()`.

Each file is scanned on its own (`core.scanners.pipelines.scan_file`), so a template is judged as included by no
pipeline of its repository (ADO-PIPE-16 does not fire on it; see pipeline_ppe.py). Figures only, no assertions.

Beside ours, when `.venv-checkov` exists: checkov's `azure_pipelines` framework on the same samples, for the rules
it has a counterpart of (CKV_AZUREPIPELINES_1/2 -> ADO-PIPE-12, CKV_AZUREPIPELINES_3 -> ADO-PIPE-18; scanning.md
§2.4). checkov reads only files named azure-pipelines.yml and only `jobs:` entries, so each sample is written to
its own directory under that name; its _3 flags every issecret=true in bash/powershell steps, not literals only.
"""

from __future__ import annotations

import argparse
import json
import secrets
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.scanners.pipelines import SCANNER, scan_file  # noqa: E402

Sample = tuple[str, str, set[str]]


def generated_value() -> str:
    """A credential-like literal made at run time (never a committed real-looking token)."""
    return "Sv-" + secrets.token_urlsafe(21)


def _injection() -> list[Sample]:
    return [
        (
            "azure-pipelines.yml",
            "pr: none\nsteps:\n  - script: echo $(Build.SourceBranchName)\n",
            {"ADO-PIPE-10"},
        ),
        (
            "ci/notify.yml",
            "pr: none\ntrigger: [main]\nsteps:\n  - pwsh: |\n      Write-Host 'Commit: $(Build.SourceVersionMessage)'\n",
            {"ADO-PIPE-10"},
        ),
        (
            ".azure-pipelines/tag.yml",
            "pr: none\nvariables:\n  - name: branch\n    value: $[variables['System.PullRequest.SourceBranch']]\n"
            "steps:\n  - bash: git tag ci-$(branch)\n",
            {"ADO-PIPE-10"},
        ),
        (
            "azure-pipelines.yml",
            "pr: none\nsteps:\n  - script: echo $BRANCH\n    env:\n      BRANCH: $(Build.SourceBranch)\n",
            set(),
        ),
        (
            "azure-pipelines.yml",
            "pr: none\nsteps:\n  - script: echo $(Build.BuildId) $(Build.Repository.Name)\n",
            set(),
        ),
    ]


def _access_token() -> list[Sample]:
    return [
        (
            "azure-pipelines.yml",
            "pr: none\nsteps:\n  - script: git push https://x:$(System.AccessToken)@dev.azure.com/o/p/_git/r\n",
            {"ADO-PIPE-11"},
        ),
        (
            "pipelines/release.yml",
            "pr: none\nsteps:\n  - task: Bash@3\n    inputs:\n      targetType: inline\n      script: echo hi\n"
            "    env:\n      SYSTEM_ACCESSTOKEN: $(System.AccessToken)\n",
            {"ADO-PIPE-11"},
        ),
        ("azure-pipelines.yml", "pr: none\nsteps:\n  - script: echo $(System.TeamProject)\n", set()),
        (
            "azure-pipelines.yml",
            "pr: none\nsteps:\n  - script: echo publish\n    env:\n      TOKEN: $(publishToken)\n",
            set(),
        ),
    ]


def _images() -> list[Sample]:
    digest = "sha256:" + "0123456789abcdef" * 4
    return [
        (
            "azure-pipelines.yml",
            "pr: none\njobs:\n  - job: a\n    container: ubuntu:latest\n    steps: []\n",
            {"ADO-PIPE-12"},
        ),
        (
            "ci/containers.yml",
            "pr: none\nresources:\n  containers:\n    - container: b\n      image: node\njobs:\n  - job: a\n"
            "    container: b\n    steps: []\n",
            {"ADO-PIPE-12"},
        ),
        (
            "azure-pipelines.yml",
            "pr: none\njobs:\n  - job: a\n    services:\n      db: postgres:16\n    steps: []\n",
            {"ADO-PIPE-12"},
        ),
        (
            "azure-pipelines.yml",
            f"pr: none\njobs:\n  - job: a\n    container: ubuntu@{digest}\n    steps: []\n",
            set(),
        ),
        (
            "azure-pipelines.yml",
            "pr: none\njobs:\n  - job: a\n    container: ${{ parameters.image }}\n    steps: []\n",
            set(),
        ),
    ]


def _remote_script() -> list[Sample]:
    return [
        (
            "azure-pipelines.yml",
            "pr: none\nsteps:\n  - script: curl -sSL https://x.example/i.sh | bash\n",
            {"ADO-PIPE-13"},
        ),
        (
            "ci/tools.yml",
            "pr: none\nsteps:\n  - bash: bash <(curl -fsSL https://x.example/i.sh)\n",
            {"ADO-PIPE-13"},
        ),
        (
            "azure-pipelines.yml",
            "pr: none\nsteps:\n  - pwsh: iex (New-Object Net.WebClient).DownloadString('https://x.example/i.ps1')\n",
            {"ADO-PIPE-13"},
        ),
        (
            "azure-pipelines.yml",
            "pr: none\nsteps:\n  - script: curl -o i.sh https://x.example/i.sh && sha256sum -c i.sh.sha256\n",
            set(),
        ),
        (
            "azure-pipelines.yml",
            "pr: none\nsteps:\n  - script: curl -f https://x.example/health || exit 1\n",
            set(),
        ),
    ]


def _debug() -> list[Sample]:
    return [
        ("azure-pipelines.yml", "pr: none\nvariables:\n  system.debug: true\nsteps: []\n", {"ADO-PIPE-14"}),
        (
            "ci/debug.yml",
            "pr: none\njobs:\n  - job: a\n    variables:\n      - name: System.Debug\n        value: 'true'\n    steps: []\n",
            {"ADO-PIPE-14"},
        ),
        ("azure-pipelines.yml", "pr: none\nvariables:\n  system.debug: false\nsteps: []\n", set()),
        ("azure-pipelines.yml", "pr: none\nvariables:\n  debugBuild: true\nsteps: []\n", set()),
    ]


def _poisoned_pipeline_execution() -> list[Sample]:
    return [
        # a pr: branch filter, then a repository script after checkout: self
        (
            "azure-pipelines.yml",
            "pr:\n  branches:\n    include: [main]\nsteps:\n  - checkout: self\n  - bash: bash build.sh\n",
            {"ADO-PIPE-16"},
        ),
        # no pr: key (PR builds on by default) and npm install, implicit checkout
        ("azure-pipelines.yml", "trigger: [main]\nsteps:\n  - script: npm install\n", {"ADO-PIPE-16"}),
        # pr: + make with the job's token (HIGH; ADO-PIPE-11 too)
        (
            "ci/pr.yml",
            "pr: [main]\njobs:\n  - job: b\n    steps:\n      - checkout: self\n      - script: make\n"
            "      - script: ./publish.sh\n        env:\n          SYSTEM_ACCESSTOKEN: $(System.AccessToken)\n",
            {"ADO-PIPE-16", "ADO-PIPE-11"},
        ),
        # tasks that run repository code, a variable group
        (
            "build/validate.yaml",
            "pr: ['*']\nvariables:\n  - group: signing\nsteps:\n  - task: DotNetCoreCLI@2\n    inputs:\n      command: test\n",
            {"ADO-PIPE-16"},
        ),
        (
            "azure-pipelines.yml",
            "trigger: none\nsteps:\n  - task: Bash@3\n    inputs:\n      targetType: filePath\n      filePath: ci/build.sh\n",
            {"ADO-PIPE-16"},
        ),
        (
            "azure-pipelines.yml",
            "pr: none\nsteps:\n  - checkout: self\n  - script: npm ci && npm test\n",
            set(),
        ),
        ("azure-pipelines.yml", "trigger: none\npr: none\nsteps:\n  - script: make\n", set()),
        ("azure-pipelines.yml", "steps:\n  - checkout: none\n  - script: ./build.sh\n", set()),
        (
            "azure-pipelines.yml",
            "steps:\n  - task: UseNode@1\n    inputs:\n      version: 20.x\n  - task: PublishBuildArtifacts@1\n"
            "  - script: echo done\n",
            set(),
        ),
        (
            "azure-pipelines.yml",
            "steps:\n  - script: |\n      python -m pip install build\n      python -m build\n",
            {"ADO-PIPE-16"},
        ),
        ("azure-pipelines.yml", "pr: [main]\nsteps:\n  - script: npx jest --ci\n", {"ADO-PIPE-16"}),
        (
            "azure-pipelines.yml",
            "steps:\n  - script: |\n      pip install requests==2.32.3\n      docker pull redis:7\n      echo make\n",
            set(),
        ),
        # a template no pipeline here includes: its trigger is decided elsewhere
        (
            "templates/steps/python.yml",
            "parameters:\n  - name: v\n    default: '3.12'\nsteps:\n  - script: pip install -e .\n",
            set(),
        ),
    ]


def _setvariable() -> list[Sample]:
    literal = generated_value()
    return [
        (
            "azure-pipelines.yml",
            'pr: none\nsteps:\n  - bash: echo "##vso[task.setvariable variable=dbPassword]$DB"\n',
            {"ADO-PIPE-17"},
        ),
        (
            "ci/keys.yml",
            'pr: none\nsteps:\n  - pwsh: Write-Host "##vso[task.setvariable variable=key;isOutput=true]$(storageKey)"\n',
            {"ADO-PIPE-17"},
        ),
        # a connection string (with its password) under a name that says neither: judged by name, we miss it
        (
            "ci/db.yml",
            'pr: none\nsteps:\n  - bash: echo "##vso[task.setvariable variable=sqlConn]$(az sql db show-connection-string -c x)"\n',
            {"ADO-PIPE-17"},
        ),
        (
            "azure-pipelines.yml",
            'pr: none\nsteps:\n  - bash: echo "##vso[task.setvariable variable=dbPassword;issecret=true]$DB"\n',
            set(),
        ),
        (
            "azure-pipelines.yml",
            'pr: none\nsteps:\n  - bash: echo "##vso[task.setvariable variable=region]westeurope"\n',
            set(),
        ),
        (
            "azure-pipelines.yml",
            f'pr: none\nsteps:\n  - bash: echo "##vso[task.setvariable variable=apiKey;issecret=true]{literal}"\n',
            {"ADO-PIPE-18"},
        ),
        (
            "deploy/release.yml",
            "pr: none\nsteps:\n  - task: PowerShell@2\n    inputs:\n      targetType: inline\n      script: |\n"
            f"        Write-Host '##vso[task.setvariable variable=spSecret;issecret=true]{generated_value()}'\n",
            {"ADO-PIPE-18"},
        ),
        (
            "azure-pipelines.yml",
            'pr: none\nsteps:\n  - pwsh: Write-Host "##vso[task.setvariable variable=sp;issecret=true]$($s.Value)"\n',
            set(),
        ),
        (
            "azure-pipelines.yml",
            'pr: none\nsteps:\n  - script: echo "##vso[task.setvariable variable=sp;issecret=true]$(fromVault)"\n',
            set(),
        ),
        (
            "docs/example-pipeline.yml",
            'pr: none\nsteps:\n  - bash: echo "##vso[task.setvariable variable=apiKey;issecret=true]<your-api-key>"\n',
            set(),
        ),
    ]


def samples() -> list[Sample]:
    return [
        *_injection(),
        *_access_token(),
        *_images(),
        *_remote_script(),
        *_debug(),
        *_poisoned_pipeline_execution(),
        *_setvariable(),
    ]


@dataclass
class RuleScore:
    true_positives: int = 0
    false_positives: int = 0
    false_negatives: int = 0
    missed: list[str] = field(default_factory=list)  # "path: expected/unexpected" for the report

    @property
    def precision(self) -> float:
        found = self.true_positives + self.false_positives
        return self.true_positives / found if found else 1.0

    @property
    def recall(self) -> float:
        expected = self.true_positives + self.false_negatives
        return self.true_positives / expected if expected else 1.0


def evaluate(labelled: list[Sample] | None = None) -> dict[str, RuleScore]:
    """Per rule id: counted per sample file (a rule found or expected once or more in the file)."""
    labelled = samples() if labelled is None else labelled
    found = [{f.rule.id for f in scan_file(path, text)} for path, text, _ in labelled]
    return score(labelled, found, {rule.id for rule in SCANNER.rules if rule.id != "ADO-PIPE-PARSE"})


CHECKOV_COUNTERPARTS = {
    "CKV_AZUREPIPELINES_1": "ADO-PIPE-12",
    "CKV_AZUREPIPELINES_2": "ADO-PIPE-12",
    "CKV_AZUREPIPELINES_3": "ADO-PIPE-18",
}
CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"


def evaluate_checkov(labelled: list[Sample]) -> dict[str, RuleScore] | None:
    """checkov's counterparts of our rules on the same samples; None when checkov is not installed."""
    if not CHECKOV.exists():
        return None
    with tempfile.TemporaryDirectory() as directory:
        for index, (_, text, _) in enumerate(labelled):
            (Path(directory) / str(index)).mkdir()
            (Path(directory) / str(index) / "azure-pipelines.yml").write_text(text)
        command = [str(CHECKOV), "-d", directory, "--framework", "azure_pipelines", "-o", "json", "--quiet"]
        output = subprocess.run(command, capture_output=True, text=True, timeout=600).stdout  # noqa: S603
    reports = json.loads(output) if output.strip() else []
    reports = reports if isinstance(reports, list) else [reports]
    found: list[set[str]] = [set() for _ in labelled]
    for report in reports:
        for check in report.get("results", {}).get("failed_checks", []) if isinstance(report, dict) else []:
            rule_id = CHECKOV_COUNTERPARTS.get(check["check_id"])
            if rule_id:
                found[int(Path(check["file_path"]).parts[-2])].add(rule_id)
    return score(labelled, found, set(CHECKOV_COUNTERPARTS.values()))


def score(labelled: list[Sample], found: list[set[str]], rules: set[str]) -> dict[str, RuleScore]:
    """Per rule in `rules`, from what was found in each sample against what it expects."""
    scores = {rule_id: RuleScore() for rule_id in rules}
    for index, ((path, _, expected), reported) in enumerate(zip(labelled, found, strict=True)):
        for rule_id in (reported | expected) & rules:
            tally = scores[rule_id]
            if rule_id in reported and rule_id in expected:
                tally.true_positives += 1
            elif rule_id in reported:
                tally.false_positives += 1
                tally.missed.append(f"#{index} {path}: unexpected")
            else:
                tally.false_negatives += 1
                tally.missed.append(f"#{index} {path}: missed")
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-peer", action="store_true", help="do not run checkov beside ours")
    arguments = parser.parse_args()
    labelled = samples()
    scores = evaluate(labelled)
    positives = sum(len(expected) for _, _, expected in labelled)
    print(f"pipelines scanner {SCANNER.version}: {len(labelled)} samples, {positives} expected findings")
    print_scores("ours", scores)
    peer = None if arguments.no_peer else evaluate_checkov(labelled)
    if peer is not None:
        print_scores("checkov (counterparts only; no rule for the others)", peer)


def print_scores(title: str, scores: dict[str, RuleScore]) -> None:
    print(f"\n{title}")
    print(f"{'rule':<14}{'TP':>4}{'FP':>4}{'FN':>4}{'precision':>11}{'recall':>8}")
    for rule_id, tally in sorted(scores.items()):
        print(
            f"{rule_id:<14}{tally.true_positives:>4}{tally.false_positives:>4}{tally.false_negatives:>4}"
            f"{tally.precision:>11.2f}{tally.recall:>8.2f}"
        )
        for line in tally.missed:
            print(f"    {line}")


if __name__ == "__main__":
    main()
