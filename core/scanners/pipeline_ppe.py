"""ADO-PIPE-16, poisoned pipeline execution: a pipeline that builds pull requests and runs the pull request's own
build tooling (scanning.md §3; poutine's `untrusted_checkout_exec` is the reference).

Which documents build pull requests (`pull_request_trigger`): an entry pipeline whose `pr:` is not `none`/`false`
/an empty list, or that has no `pr:` key at all (Microsoft's YAML schema reference for `pr`: "If you specify no
pull request trigger, pull requests to any branch trigger a build"; YAML PR triggers act in GitHub and Bitbucket
Cloud repositories, and in Azure Repos a branch policy's build validation queues the pipeline for pull requests,
whatever `pr:` says). Templates have no trigger of their own: a template inherits the triggers of the entry
pipelines in the same repository that include it (`template:` references, relative to the including file or
`/`-rooted, followed transitively); a template no pipeline here includes is not judged, since its trigger is
decided elsewhere.

Which steps run the pull request's code: in each job, the steps after `checkout: self` (or every step when the job
checks out nothing explicitly, which checks out self; deployment jobs check out nothing by default), that run a
repository script or a build tool that executes repository-controlled code (`pipeline_build_tools.py`).

One finding per file, at the first such step (the first one in a job with secrets when there is one), with a
constant identity: the risk is the pipeline's, not the step's, so it stays one finding as steps move or change.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from core.scanners.pipeline_build_tools import build_command, task_runs_repository_code
from core.scanners.pipeline_yaml import (
    Pipeline,
    PullRequestTrigger,
    key_line,
    locate,
    mappings,
    step_scripts,
    task_name,
)
from core.scans.scanner import RawFinding, Rule

PR_SCHEMA = "https://learn.microsoft.com/en-us/azure/devops/pipelines/yaml-schema/pr"
_TITLE = "Pull request's own code run by its build (poisoned pipeline execution)"
_RATIONALE = (
    "Whoever opens a pull request chooses the code its build runs: build scripts, package.json scripts and "
    "install hooks, Makefiles, setup.py, MSBuild targets, Gradle/Maven plugins, conftest.py and build.rs are "
    "all in the pull request. Running them on the agent runs the author's code with the job's access token, "
    "its secrets and service connections, and leaves anything behind on a self-hosted agent (OWASP CICD-SEC-4, "
    "poisoned pipeline execution). A pipeline builds pull requests when its pr: trigger is not none, and when "
    "it has no pr: key at all: Microsoft's pr schema reference says that with no pull request trigger, pull "
    "requests to any branch trigger a build (GitHub and Bitbucket Cloud); in Azure Repos a branch policy's "
    "build validation queues it for pull requests regardless (so pr: none, which we take as the author's "
    "statement that pull requests are not built, holds there only while no branch policy runs the pipeline; "
    "the branch-policy posture controls read those). HIGH when the job also holds secrets (a "
    "variable group, secret variables, $(System.AccessToken), a service connection, persisted checkout "
    "credentials), MEDIUM otherwise."
)
_REMEDIATION = (
    "Split the pipeline: a pull-request build with no secrets, no service connections and no persisted "
    "credentials, on Microsoft-hosted agents, and the secret-holding steps in a pipeline that only runs on the "
    "protected branch (pr: none, trigger on main). For GitHub forks, leave 'Make secrets available to builds of "
    "forks' off and require a team member's comment before fork builds."
)
PPE = Rule(
    "ADO-PIPE-16",
    _TITLE,
    "HIGH",
    "PIPELINE",
    _RATIONALE,
    _REMEDIATION,
    PR_SCHEMA,
)
PPE_NO_SECRETS = Rule(
    "ADO-PIPE-16",
    _TITLE,
    "MEDIUM",
    "PIPELINE",
    _RATIONALE,
    _REMEDIATION,
    PR_SCHEMA,
)

# --- which documents build pull requests ---------------------------------------------------------------------

# Keys only an entry pipeline has; a document with top-level `parameters` and none of them is a template.
ENTRY_KEYS = {
    "trigger",
    "pr",
    "schedules",
    "resources",
    "pool",
    "name",
    "lockbehavior",
    "appendcommitmessagetorunname",
}


def template_shaped(path: str, document: CommentedMap) -> bool:
    """A template by its keys; an `azure-pipelines*.yml` file is an entry pipeline even with runtime parameters
    and nothing else."""
    if posixpath.basename(path).lower().startswith("azure-pipelines"):
        return False
    keys = {str(k).lower() for k in document}
    return "parameters" in keys and not keys & ENTRY_KEYS


def pull_request_trigger(path: str, document: CommentedMap) -> PullRequestTrigger | None:
    """The pull-request build an entry pipeline has, or None when `pr:` turns it off."""
    if "pr" not in document:
        description = "no pr: key: pull requests are built by default"
    else:
        value = document["pr"]
        if value is False or (isinstance(value, str) and value.strip().lower() in ("none", "false")):
            return None
        if isinstance(value, CommentedSeq) and len(value) == 0:
            return None  # an explicit empty branch list includes nothing
        description = f"pr: {describe_branches(value)} (line {key_line(document, 'pr')})"
    return PullRequestTrigger(path, description, tuple(document_secrets(document)))


def describe_branches(value) -> str:
    if isinstance(value, CommentedMap):
        branches = value.get("branches")
        include = branches.get("include") if isinstance(branches, CommentedMap) else None
        return f"branches include {describe_branches(include)}" if include is not None else "all branches"
    if isinstance(value, CommentedSeq):
        names = [str(v) for v in value]
        return ", ".join(names[:3]) + (", …" if len(names) > 3 else "")
    return str(value)[:60] if value is not None else "all branches"


def template_path(path: str, value) -> str | None:
    """The repository-relative path a `template:` value names, relative to the including file or `/`-rooted;
    None for another repository's (`file@repo`) or a path built by an expression."""
    if not isinstance(value, str) or "@" in value or "${{" in value or "$(" in value:
        return None
    value = value.strip()
    joined = value.lstrip("/") if value.startswith("/") else posixpath.join(posixpath.dirname(path), value)
    return posixpath.normpath(joined)


def template_references(path: str, document: CommentedMap) -> set[str]:
    """Every local template a document includes: those files are templates, not entry pipelines."""
    found = {template_path(path, node.get("template")) for node in mappings(document)}
    return {reference for reference in found if reference is not None}


def exposed_references(path: str, document: CommentedMap) -> set[str]:
    """The templates a document runs with the pull request's code checked out: `extends`, job and stage templates
    (whose jobs check out for themselves), and step templates placed after the checkout of self (a step template
    in a deployment job, or after `checkout: none`, runs without it)."""
    nodes = [document.get("extends"), *flatten(document.get("jobs"))]
    for stage in flatten(document.get("stages")):
        nodes += [stage, *flatten(stage.get("jobs"))]
    for _, steps, implicit in job_steps(document):
        nodes += steps_after_checkout(steps, implicit)
    found = {template_path(path, node.get("template")) for node in nodes if isinstance(node, CommentedMap)}
    return {reference for reference in found if reference is not None}


def pull_request_exposure(files: dict[str, list[CommentedMap]]) -> dict[str, tuple[PullRequestTrigger, ...]]:
    """For each file, the pull-request builds its documents run in: an entry pipeline's own trigger, and for a
    template, the triggers of the entry pipelines that include it (directly or through other templates)."""
    included = {t for path, docs in files.items() for d in docs for t in template_references(path, d)}
    references = {
        path: {t for d in docs for t in exposed_references(path, d)} for path, docs in files.items()
    }
    exposure: dict[str, list[PullRequestTrigger]] = {}
    for path, documents in files.items():
        if path in included:
            continue
        for document in documents:
            if template_shaped(path, document):
                continue
            trigger = pull_request_trigger(path, document)
            if trigger is None:
                continue
            exposure.setdefault(path, []).append(trigger)
            pending, seen = list(references[path]), {path}
            while pending:
                template = pending.pop()
                if template in seen or template not in files:
                    continue
                seen.add(template)
                exposure.setdefault(template, []).append(trigger)
                pending.extend(references[template])
    return {path: tuple(triggers) for path, triggers in exposure.items()}


# --- which steps run the pull request's code -----------------------------------------------------------------


@dataclass(frozen=True)
class RiskyStep:
    line: int
    what: str  # "`npm install` in a script step", "task Npm@1 install"
    secrets: tuple[str, ...]  # what the job holds


def risky_steps(pipeline: Pipeline) -> Iterator[RiskyStep]:
    for scopes, steps, implicit_checkout in job_steps(pipeline.document):
        secrets = tuple(dict.fromkeys(s for scope in scopes for s in scope_secrets(scope)))
        for step in steps_after_checkout(steps, implicit_checkout):
            for script in step_scripts(step):
                if match := build_command(script):
                    # the tool's own words only: an assignment before it (`TOKEN=… npm ci`) may hold a secret
                    tool = next(name for name, value in match.groupdict().items() if value)
                    command = " ".join(match.group(tool).split())[:80]
                    line = locate(pipeline, script, match.start(tool))
                    yield RiskyStep(line, f"`{command}` in a {script.kind} step{label(step)}", secrets)
                    break
            else:
                if what := task_runs_repository_code(step):
                    yield RiskyStep(key_line(step, "task"), f"task {what}{label(step)}", secrets)


def label(step: CommentedMap) -> str:
    name = step.get("displayName")
    return f" ({' '.join(name.split())[:60]!r})" if isinstance(name, str) else ""


def flatten(items) -> Iterator[CommentedMap]:
    """List items, with `${{ if … }}:` / `${{ each … }}:` insertions opened."""
    if not isinstance(items, CommentedSeq):
        return
    for item in items:
        if not isinstance(item, CommentedMap):
            continue
        if len(item) == 1 and str(next(iter(item))).startswith("${{"):
            yield from flatten(next(iter(item.values())))
        else:
            yield item


def job_steps(document: CommentedMap) -> Iterator[tuple[list[CommentedMap], list[CommentedMap], bool]]:
    """(enclosing scopes, steps, whether the job checks out self implicitly) for each job of a pipeline, job
    template or stage template, and the document itself when it is a single job or a step template."""
    if "steps" in document:
        yield [document], list(flatten(document["steps"])), True
    for job in flatten(document.get("jobs")):
        yield from one_job([document], job)
    for stage in flatten(document.get("stages")):
        for job in flatten(stage.get("jobs")):
            yield from one_job([document, stage], job)


def one_job(scopes: list[CommentedMap], job: CommentedMap):
    if "steps" in job:
        yield [*scopes, job], list(flatten(job["steps"])), "deployment" not in job
    if "deployment" in job:  # steps under strategy.<kind>.<hook>.steps; no implicit checkout
        for node in mappings(job.get("strategy")):
            if isinstance(node.get("steps"), CommentedSeq):
                yield [*scopes, job], list(flatten(node["steps"])), False


def steps_after_checkout(steps: list[CommentedMap], implicit: bool) -> list[CommentedMap]:
    checkouts = [i for i, step in enumerate(steps) if "checkout" in step]
    own = [i for i in checkouts if str(steps[i]["checkout"]).strip().lower() == "self"]
    if own:
        return steps[own[0] + 1 :]
    return [] if checkouts or not implicit else steps


# --- what secrets a job holds ----------------------------------------------------------------------------------

TOKEN = re.compile(r"System\.AccessToken|SYSTEM_ACCESSTOKEN", re.IGNORECASE)
SECRET_REFERENCE = re.compile(
    r"\$\(\s*([\w.]*(?:secret|passw|token|credential|api_?key|private_?key|access_?key|sas_?token)\w*)\s*\)",
    re.IGNORECASE,
)
SERVICE_CONNECTION_INPUTS = {
    "azuresubscription",
    "connectedservicename",
    "connectedservicenamearm",
    "azureresourcemanagerconnection",
    "serviceconnection",
    "externalendpoint",
    "externalendpoints",
    "dockerregistryserviceconnection",
    "containerregistry",
    "kubernetesserviceconnection",
    "kubernetesserviceendpoint",
    "awscredentials",
    "githubconnection",
    "publishfeedcredentials",
    "externalfeedcredentials",
    "nugetserviceconnections",
    "backendservicearm",
    "environmentservicenamearm",
    "sshendpoint",
}


def variable_groups(variables) -> Iterator[str]:
    for item in variables if isinstance(variables, CommentedSeq) else ():
        if isinstance(item, CommentedMap) and isinstance(item.get("group"), str):
            yield f"variable group {item['group']!r}"


def scope_secrets(scope: CommentedMap) -> Iterator[str]:
    """Secrets a scope (pipeline, stage or job) gives its steps: its own variable groups, and for a job or a
    single-job document, what its steps reference."""
    yield from variable_groups(scope.get("variables"))
    for node in (n for key in ("steps", "strategy") for n in mappings(scope.get(key))):
        if str(node.get("persistCredentials", "")).lower() == "true":
            yield "persisted checkout credentials (persistCredentials: true)"
        task, inputs = node.get("task"), node.get("inputs")
        if isinstance(task, str) and task_name(task) == "azurekeyvault":
            yield f"Key Vault secrets ({task})"
        if isinstance(task, str) and isinstance(inputs, CommentedMap):
            for key, value in inputs.items():
                if str(key).lower() in SERVICE_CONNECTION_INPUTS and isinstance(value, str) and value.strip():
                    yield f"service connection {value.strip()[:60]!r} ({task})"
        for value in node.values():
            if isinstance(value, str):
                if TOKEN.search(value):
                    yield "$(System.AccessToken)"
                for match in SECRET_REFERENCE.finditer(value):
                    if not TOKEN.search(match.group(1)):
                        yield f"secret variable $({match.group(1)})"
                if re.search(r"issecret\s*=\s*true", value, re.IGNORECASE):
                    yield "a secret set with task.setvariable"


def document_secrets(document: CommentedMap) -> Iterator[str]:
    """What an entry pipeline gives every job, whichever template the job comes from: its variable groups."""
    yield from variable_groups(document.get("variables"))
    for stage in flatten(document.get("stages")):
        yield from variable_groups(stage.get("variables"))


def check_ppe(pipeline: Pipeline) -> Iterator[RawFinding]:
    if not pipeline.pull_requests:
        return
    inherited = tuple(s for trigger in pipeline.pull_requests for s in trigger.secrets)
    steps = list(risky_steps(pipeline))
    if not steps:
        return
    with_secrets = [s for s in steps if s.secrets or inherited]
    step = with_secrets[0] if with_secrets else steps[0]
    secrets = tuple(dict.fromkeys((*step.secrets, *inherited)))
    trigger = pipeline.pull_requests[0]
    if trigger.pipeline == pipeline.path:
        builds = f"This pipeline builds pull requests ({trigger.description})"
    else:
        builds = f"This template is included by {trigger.pipeline}, which builds pull requests ({trigger.description})"
    held = f"; the job holds {', '.join(secrets[:3])}{', …' if len(secrets) > 3 else ''}" if secrets else ""
    yield RawFinding(
        PPE if secrets else PPE_NO_SECRETS,
        pipeline.path,
        step.line,
        message=f"{builds}, and runs the pull request's code after checking it out: {step.what}{held}.",
        identity="pull-request-code-execution",
    )
