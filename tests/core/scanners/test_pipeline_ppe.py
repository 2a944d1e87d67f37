"""ADO-PIPE-16, poisoned pipeline execution: pull-request builds that run the pull request's own build tooling,
on single files and on trees (templates inherit the triggers of the pipelines that include them)."""

import secrets

import pytest

from core.scanners.pipelines import scan_file, scan_tree


def ppe(text: str, path: str = "ci/build.yml") -> list[tuple[str, int]]:
    return [(f.rule.severity, f.line) for f in scan_file(path, text) if f.rule.id == "ADO-PIPE-16"]


def write(root, files: dict[str, str]) -> None:
    for path, content in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(content)


# (a) a pr: branch filter, then `bash build.sh` after checkout: self
PR_BRANCHES_BASH = """trigger: [main]
pr:
  branches:
    include: [main, release/*]
pool:
  vmImage: ubuntu-22.04
steps:
  - checkout: self
  - bash: |
      set -euo pipefail
      bash build.sh --release
    displayName: Build
"""
# (b) no pr: key at all, `npm install` (implicit checkout)
NO_PR_NPM = """trigger:
  branches:
    include: [main]
jobs:
  - job: web
    pool:
      vmImage: ubuntu-22.04
    steps:
      - task: UseNode@1
        inputs:
          version: "20.x"
      - script: npm install && npm test
"""
# (c) pr: + make + the job's token -> HIGH
PR_MAKE_TOKEN = """pr: [main]
stages:
  - stage: build
    jobs:
      - job: build
        steps:
          - checkout: self
          - script: make all
          - script: ./publish.sh
            env:
              SYSTEM_ACCESSTOKEN: $(System.AccessToken)
"""
# (d) a step template running `pip install -e .`
TEMPLATE = """parameters:
  - name: python
    type: string
    default: "3.12"
steps:
  - task: UsePythonVersion@0
    inputs:
      versionSpec: ${{ parameters.python }}
  - script: |
      python -m pip install --upgrade pip
      pip install -e .[test]
    displayName: Install
"""


def test_a_pr_branch_filter_and_a_build_script():
    [finding] = [f for f in scan_file("ci/build.yml", PR_BRANCHES_BASH) if f.rule.id == "ADO-PIPE-16"]
    assert (finding.rule.severity, finding.line) == ("MEDIUM", 11)
    assert finding.message == (
        "This pipeline builds pull requests (pr: branches include main, release/* (line 2)), and runs the pull "
        "request's code after checking it out: `bash build.sh` in a bash step ('Build')."
    )


def test_no_pr_key_means_pull_requests_are_built():
    [finding] = [f for f in scan_file("azure-pipelines.yml", NO_PR_NPM) if f.rule.id == "ADO-PIPE-16"]
    assert (finding.rule.severity, finding.line) == ("MEDIUM", 12)
    assert "no pr: key: pull requests are built by default" in finding.message
    assert "`npm install` in a script step" in finding.message


def test_the_job_token_makes_it_high():
    [finding] = [f for f in scan_file("azure-pipelines.yml", PR_MAKE_TOKEN) if f.rule.id == "ADO-PIPE-16"]
    assert (finding.rule.severity, finding.line) == ("HIGH", 8)
    assert finding.message.endswith("`make` in a script step; the job holds $(System.AccessToken).")


def test_a_template_inherits_the_trigger_of_the_pipeline_that_includes_it(tmp_path):
    write(
        tmp_path,
        {
            "azure-pipelines.yml": "pr: [main]\nsteps:\n  - checkout: self\n  - template: eng/steps/python.yml\n",
            "eng/steps/python.yml": TEMPLATE,
        },
    )
    [finding] = [f for f in scan_tree(tmp_path) if f.rule.id == "ADO-PIPE-16"]
    assert (finding.path, finding.rule.severity, finding.line) == ("eng/steps/python.yml", "MEDIUM", 11)
    assert finding.message.startswith(
        "This template is included by azure-pipelines.yml, which builds pull requests (pr: main (line 1))"
    )
    assert "`pip install` in a script step ('Install')" in finding.message


def test_templates_nested_and_rooted_and_the_includers_variable_group(tmp_path):
    write(
        tmp_path,
        {
            "build/ci.yml": "trigger: [main]\nvariables:\n  - group: release-signing\n"
            "jobs:\n  - template: ../templates/job.yml\n",
            "templates/job.yml": "parameters: []\njobs:\n  - job: b\n    steps:\n      - template: /templates/steps.yml\n",
            "templates/steps.yml": TEMPLATE,
        },
    )
    findings = [(f.path, f.rule.severity, f.line) for f in scan_tree(tmp_path) if f.rule.id == "ADO-PIPE-16"]
    assert findings == [("templates/steps.yml", "HIGH", 11)]


def test_an_azure_pipelines_file_with_runtime_parameters_is_an_entry_pipeline():
    text = "parameters:\n  - name: config\n    default: Release\nsteps:\n  - script: dotnet build\n"
    assert ppe(text, "azure-pipelines.yml") == [("MEDIUM", 5)]
    assert ppe(text, "eng/build-steps.yml") == []  # elsewhere, the same document is a template


@pytest.mark.parametrize(
    "files",
    [
        {"templates/steps.yml": TEMPLATE},  # nobody here includes it: its trigger is decided elsewhere
        {"azure-pipelines.yml": "pr: none\nsteps:\n  - template: t.yml\n", "t.yml": TEMPLATE},
        {"azure-pipelines.yml": "steps:\n  - template: t.yml@templates\n", "t.yml": TEMPLATE},  # another repo
        {"azure-pipelines.yml": "steps:\n  - checkout: none\n  - template: t.yml\n", "t.yml": TEMPLATE},
        {  # deployment jobs check out nothing by default
            "azure-pipelines.yml": "jobs:\n  - deployment: d\n    environment: prod\n    strategy:\n      runOnce:\n"
            "        deploy:\n          steps:\n            - template: t.yml\n",
            "t.yml": TEMPLATE,
        },
    ],
)
def test_a_template_without_a_pull_request_build_here_is_not_judged(tmp_path, files):
    write(tmp_path, files)
    assert [f for f in scan_tree(tmp_path) if f.rule.id == "ADO-PIPE-16"] == []


@pytest.mark.parametrize(
    "text",
    [
        "pr: none\nsteps:\n  - checkout: self\n  - script: make\n",
        "pr: 'false'\nsteps:\n  - script: make\n",
        "pr: false\nsteps:\n  - script: make\n",
        "pr: []\nsteps:\n  - script: make\n",
        "trigger: none\npr: none\nsteps:\n  - bash: ./build.sh\n",
        "steps:\n  - checkout: none\n  - script: make && npm ci && ./build.sh\n",
        "steps:\n  - checkout: tools\n  - script: make\n",  # only another repository is checked out
        "steps:\n  - script: make\n  - checkout: none\n",
        "steps:\n  - script: ./prepare.sh\n  - checkout: self\n  - script: echo done\n",  # before the code is there
        # deployment jobs check out nothing by default
        "jobs:\n  - deployment: d\n    environment: prod\n    strategy:\n      runOnce:\n        deploy:\n"
        "          steps:\n            - script: ./deploy.sh\n",
        # marketplace tasks that run nothing from the repository
        "steps:\n  - task: UseDotNet@2\n    inputs:\n      version: 8.x\n  - task: PublishBuildArtifacts@1\n"
        "  - task: AzureWebApp@1\n    inputs:\n      azureSubscription: prod\n      appName: web\n"
        "  - task: DotNetCoreCLI@2\n    inputs:\n      command: push\n  - task: Docker@2\n    inputs:\n"
        "      command: login\n  - task: PowerShell@2\n    inputs:\n      targetType: inline\n      filePath: x.ps1\n"
        "      script: Write-Host hi\n",
        # commands that do not run the repository's code
        "steps:\n  - script: |\n      echo make it so\n      npm --version\n      pip install requests==2.32.3\n"
        "      docker push x\n      terraform fmt -check\n      go version\n      dotnet --info\n      yarn --version\n",
    ],
)
def test_nothing_when_no_pull_request_build_runs_repository_code(text):
    assert ppe(text) == []


@pytest.mark.parametrize(
    ("script", "command"),
    [
        ("./build.sh", "./build.sh"),
        ("sh scripts/ci.sh", "sh scripts/ci.sh"),
        ("cd src && ./gradlew test", "./gradlew"),
        ("CI=true npm ci", "npm ci"),
        ("npm run lint", "npm run"),
        ("yarn", "yarn"),
        ("pnpm install --frozen-lockfile", "pnpm install"),
        ("pip install -r requirements.txt", "pip install"),
        ("python -m pip install .", "python -m pip install"),
        ("python setup.py bdist_wheel", "python setup.py"),
        ("python -m pytest -q", "python -m pytest"),
        ("mvn -B verify", "mvn"),
        ("gradle build", "gradle"),
        ("dotnet build -c Release", "dotnet build"),
        ("dotnet test", "dotnet test"),
        ("dotnet restore", "dotnet restore"),
        ("msbuild app.sln", "msbuild"),
        ("go generate ./...", "go generate"),
        ("go test ./...", "go test"),
        ("cargo build --release", "cargo build"),
        ("docker build -t app .", "docker build"),
        ("terraform init", "terraform init"),
        ("terraform plan -out tf.plan", "terraform plan"),
        ("sudo make install", "make"),
        ("$(Build.SourcesDirectory)/eng/build.sh", "$(Build.SourcesDirectory)/eng/build.sh"),
        ("& ./build.ps1 -Configuration Release", "./build.ps1"),
        ("pwsh -File tools/ci.ps1", "pwsh -File tools/ci.ps1"),
        ("bundle exec rake", "bundle exec"),
        ("pre-commit run --all-files", "pre-commit run"),
        ("npx jest --ci", "npx"),
        ("python -m build --wheel", "python -m build"),
    ],
)
def test_each_build_tool_is_recognised(script, command):
    text = f"steps:\n  - script: '{script}'\n"
    [finding] = [f for f in scan_file("azure-pipelines.yml", text) if f.rule.id == "ADO-PIPE-16"]
    assert f"`{command}` in a script step" in finding.message
    assert finding.line == 2


@pytest.mark.parametrize(
    ("step", "what"),
    [
        (
            "- task: Bash@3\n    inputs:\n      targetType: filePath\n      filePath: ci/build.sh",
            "Bash@3 filepath ci/build.sh",
        ),
        ("- task: PowerShell@2\n    inputs:\n      filePath: build.ps1", "PowerShell@2 filepath build.ps1"),
        ("- task: CmdLine@2\n    inputs:\n      script: call build.cmd && msbuild x.sln", "`msbuild`"),
        ("- task: Npm@1", "Npm@1 install"),
        ("- task: Npm@1\n    inputs:\n      command: ci", "Npm@1 ci"),
        ("- task: DotNetCoreCLI@2\n    inputs:\n      command: test", "DotNetCoreCLI@2 test"),
        ("- task: Maven@4\n    inputs:\n      mavenPomFile: pom.xml", "Maven@4"),
        ("- task: Gradle@3", "Gradle@3"),
        ("- task: Docker@2\n    inputs:\n      command: build", "Docker@2 build"),
        (
            "- task: PythonScript@0\n    inputs:\n      scriptPath: tools/gen.py",
            "PythonScript@0 scriptpath tools/gen.py",
        ),
    ],
)
def test_tasks_that_run_repository_code(step, what):
    [finding] = [
        f for f in scan_file("azure-pipelines.yml", f"steps:\n  {step}\n") if f.rule.id == "ADO-PIPE-16"
    ]
    assert what in finding.message
    assert finding.line == (4 if "CmdLine" in step else 2)  # an inline script's line, or the task's


@pytest.mark.parametrize(
    ("extra", "held"),
    [
        ("variables:\n  - group: npm-publish\n", "variable group 'npm-publish'"),
        ("", None),
    ],
)
def test_a_variable_group_makes_it_high(extra, held):
    text = f"pr: [main]\n{extra}steps:\n  - script: npm ci\n"
    [finding] = [f for f in scan_file("azure-pipelines.yml", text) if f.rule.id == "ADO-PIPE-16"]
    assert finding.rule.severity == ("HIGH" if held else "MEDIUM")
    assert (held in finding.message) if held else ("holds" not in finding.message)


@pytest.mark.parametrize(
    ("step", "held"),
    [
        ("  - checkout: self\n    persistCredentials: true\n", "persisted checkout credentials"),
        (
            "  - task: AzureCLI@2\n    inputs:\n      azureSubscription: prod-arm\n      scriptType: bash\n"
            "      scriptLocation: inlineScript\n      inlineScript: az account show\n",
            "service connection 'prod-arm' (AzureCLI@2)",
        ),
        (
            "  - script: ./upload.sh\n    env:\n      KEY: $(storageAccessKey)\n",
            "secret variable $(storageAccessKey)",
        ),
        (
            "  - task: AzureKeyVault@2\n    inputs:\n      KeyVaultName: kv\n",
            "Key Vault secrets (AzureKeyVault@2)",
        ),
    ],
)
def test_secrets_the_job_holds(step, held):
    text = f"pr: [main]\nsteps:\n{step}  - script: make\n"
    [finding] = [f for f in scan_file("azure-pipelines.yml", text) if f.rule.id == "ADO-PIPE-16"]
    assert finding.rule.severity == "HIGH" and held in finding.message


def test_secrets_of_another_job_do_not_count_but_pick_the_step_that_has_them():
    text = (
        "jobs:\n  - job: lint\n    steps:\n      - script: npm ci\n"
        "  - job: release\n    steps:\n      - script: make\n        env:\n          T: $(System.AccessToken)\n"
        "  - job: docs\n    steps:\n      - script: mkdocs build\n"
    )
    assert ppe(text) == [("HIGH", 7)]  # one finding per file, at the first step of a job holding secrets
    assert ppe(text.replace("T: $(System.AccessToken)", "T: plain")) == [("MEDIUM", 4)]


def test_insertions_and_stages_are_opened():
    text = (
        "stages:\n  - stage: s\n    jobs:\n      - ${{ if eq(variables['Build.Reason'], 'PullRequest') }}:\n"
        "        - job: j\n          steps:\n            - ${{ each p in parameters.projects }}:\n"
        "              - script: dotnet build ${{ p }}\n"
    )
    assert ppe(text) == [("MEDIUM", 8)]


def test_one_finding_per_file_and_its_identity_survives_edits():
    [first] = [f for f in scan_file("azure-pipelines.yml", NO_PR_NPM) if f.rule.id == "ADO-PIPE-16"]
    edited = "# build the web app\n\n" + NO_PR_NPM.replace(
        "npm install && npm test", "|\n          echo go\n          npm ci"
    )
    [second] = [f for f in scan_file("azure-pipelines.yml", edited) if f.rule.id == "ADO-PIPE-16"]
    assert (first.line, second.line) == (12, 16)
    assert "`npm ci`" in second.message
    assert second.identity == first.identity


def test_a_secret_assigned_before_the_tool_never_reaches_the_message():
    token = "npm_" + secrets.token_urlsafe(27)
    text = f"pr: [main]\nsteps:\n  - script: NPM_TOKEN={token} npm publish\n"
    [finding] = [f for f in scan_file("azure-pipelines.yml", text) if f.rule.id == "ADO-PIPE-16"]
    assert token not in finding.message and "`npm publish`" in finding.message
