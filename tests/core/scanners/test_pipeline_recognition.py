"""Azure Pipelines documents are recognised by content wherever they live; other CI systems, manifests and
values files are not."""

from core.scanners.pipelines import scan_tree

RISKY = "  - script: curl -sSL https://x.example/i.sh | bash\n"

PIPELINES = {
    # full pipelines in unusual places, not named azure-pipelines*
    "build/ci/pr.yaml": "trigger: [main]\npr: none\nsteps:\n" + RISKY,
    "eng/pipelines/release.yml": "pr: none\nstages:\n  - stage: s\n    jobs:\n      - job: j\n        steps:\n"
    "          - script: curl -sSL https://x.example/i.sh | bash\n",
    "ci/extends.yml": "pr: none\nextends:\n  template: templates/secure.yml\n  parameters:\n    x: 1\n",
    # templates: step, job and stage templates, and one whose first step is a conditional insertion
    "eng/common/templates/steps/build.yml": "parameters:\n  - name: c\n    type: string\nsteps:\n" + RISKY,
    "tools/jobs.yml": "parameters: {}\njobs:\n  - job: j\n    steps:\n      - script: curl -sSL https://x.example/i.sh | bash\n",
    "deploy/stages.yaml": "stages:\n  - template: other.yml\n  - stage: s\n    jobs:\n      - deployment: d\n"
    "        environment: prod\n        strategy:\n          runOnce:\n            deploy:\n              steps:\n      "
    "          - script: curl -sSL https://x.example/i.sh | bash\n",
    "x/caller-steps.yml": "parameters:\n  - name: pre\n    type: stepList\nsteps:\n  - ${{ parameters.pre }}\n"
    + RISKY,
    "x/insert.yml": "steps:\n  - ${{ if eq(parameters.a, true) }}:\n    - script: curl -sSL https://x.example/i.sh | bash\n",
}
NOT_PIPELINES = {
    "docker-compose.yml": "services:\n  web:\n    image: nginx:latest\n    command: curl -sSL https://x.example/i.sh | bash\n",
    "charts/app/values.yaml": "jobs:\n  - name: cleanup\n    image: busybox:latest\n    schedule: '0 1 * * *'\n"
    "    script: curl -sSL https://x.example/i.sh | bash\n",
    "charts/app/Chart.yaml": "apiVersion: v2\nname: app\nversion: 1.0.0\n",
    "cloudbuild.yaml": "steps:\n  - name: gcr.io/cloud-builders/docker\n    script: curl -sSL https://x.example/i.sh | bash\n",
    ".buildkite/pipeline.yml": "steps:\n  - label: build\n    command: curl -sSL https://x.example/i.sh | bash\n",
    ".woodpecker.yml": "steps:\n  - name: build\n    image: alpine\n    commands:\n      - curl -sSL https://x.example/i.sh | bash\n",
    ".drone.yml": "kind: pipeline\ntype: docker\nsteps:\n  - name: b\n    script: curl -sSL https://x.example/i.sh | bash\n",
    "ci/gitlab/lint.yml": "stages: [lint]\nlint:\n  stage: lint\n  script: curl -sSL https://x.example/i.sh | bash\n",
    "workflow-templates/ci.yml": "on: [push]\njobs:\n  b:\n    steps:\n      - run: curl -sSL https://x.example/i.sh | bash\n",
    "action.yml": "name: a\nruns:\n  using: composite\n  steps:\n    - run: curl -sSL https://x.example/i.sh | bash\n      shell: bash\n",
    "k8s/cronjob.yaml": "apiVersion: batch/v1\nkind: CronJob\nmetadata:\n  name: c\nspec:\n  jobTemplate: {}\n",
    ".circleci/config.yml": "version: 2.1\njobs:\n  b:\n    steps:\n      - run: curl -sSL https://x.example/i.sh | bash\n",
    "playbook.yml": "- hosts: all\n  tasks:\n    - shell: curl -sSL https://x.example/i.sh | bash\n",
    "Taskfile.yml": "version: '3'\ntasks:\n  build:\n    cmds:\n      - curl -sSL https://x.example/i.sh | bash\n",
    "bitbucket-pipelines.yml": "pipelines:\n  default:\n    - step:\n        script:\n          - curl -sSL https://x.example/i.sh | bash\n",
    "config/app.yml": "steps: []\njobs: [build, test]\n",
    "config/only-expressions.yml": "steps:\n  - ${{ parameters.a }}\n",
    "charts/app/templates/job.yaml": "apiVersion: batch/v1\nkind: Job\nspec:\n  template:\n    spec: {{ toYaml .Values.spec | nindent 4 }}\n",
}


def test_pipelines_are_found_by_content_and_others_are_not(tmp_path):
    for path, content in {**PIPELINES, **NOT_PIPELINES}.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(content)
    found = sorted((f.path, f.rule.id) for f in scan_tree(tmp_path))
    assert found == sorted(
        [
            ("build/ci/pr.yaml", "ADO-PIPE-13"),
            ("deploy/stages.yaml", "ADO-PIPE-13"),
            ("eng/common/templates/steps/build.yml", "ADO-PIPE-13"),
            ("eng/pipelines/release.yml", "ADO-PIPE-13"),
            ("tools/jobs.yml", "ADO-PIPE-13"),
            ("x/caller-steps.yml", "ADO-PIPE-13"),
            ("x/insert.yml", "ADO-PIPE-13"),
        ]
    )


def test_a_recognised_pipeline_in_an_odd_place_gets_every_rule(tmp_path):
    (tmp_path / "src" / "ci").mkdir(parents=True)
    (tmp_path / "src" / "ci" / "validate.yaml").write_text(
        "pr:\n  branches:\n    include: ['*']\nvariables:\n  system.debug: true\njobs:\n  - job: j\n"
        "    container: node:latest\n    steps:\n      - checkout: self\n      - script: npm ci\n"
    )
    found = sorted((f.rule.id, f.rule.severity, f.line) for f in scan_tree(tmp_path))
    assert found == [("ADO-PIPE-12", "MEDIUM", 8), ("ADO-PIPE-14", "LOW", 5), ("ADO-PIPE-16", "MEDIUM", 11)]
