"""What every Azure Pipelines rule reads: the parsed document with its lines, and its scripts and variables.

Documents are ruamel.yaml round-trip mappings, which keep every key's line; `locate` maps an offset in a script
value back to the file line, so findings point at the offending script line, not the step.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from ruamel.yaml.comments import CommentedMap, CommentedSeq


@dataclass(frozen=True)
class PullRequestTrigger:
    """A pull-request build that runs a document: the entry pipeline's own `pr:` (or its absence), inherited by
    the templates it includes."""

    pipeline: str  # repository-relative path of the entry pipeline whose trigger it is
    description: str  # what the trigger says, for messages: "pr: main, release/*" or "no pr: key"
    secrets: tuple[str, ...] = ()  # secrets that entry pipeline gives every job (variable groups, …)


@dataclass
class Pipeline:
    path: str
    document: CommentedMap
    lines: list[str]
    container_aliases: set[str] = field(default_factory=set)
    tainted: dict[str, str] = field(default_factory=dict)  # lowercased variable name -> untrusted source
    # The pull-request builds this document runs in (empty: none, or a template whose includers we cannot see).
    pull_requests: tuple[PullRequestTrigger, ...] = ()
    secret_key: bytes | None = None  # the service's key, for the keyed hash of a committed secret


@dataclass(frozen=True)
class Script:
    node: CommentedMap  # the mapping holding the script text (a step, or a task's inputs)
    key: str
    text: str
    kind: str  # "script", "bash", "powershell", "pwsh", or "Bash@3 inputs.script"…
    step: CommentedMap  # the step


def mappings(node) -> Iterator[CommentedMap]:
    if isinstance(node, CommentedMap):
        yield node
        for value in node.values():
            yield from mappings(value)
    elif isinstance(node, CommentedSeq):
        for item in node:
            yield from mappings(item)


def key_line(node: CommentedMap, key) -> int:
    return node.lc.key(key)[0] + 1


def locate(pipeline: Pipeline, script: Script, offset: int) -> int:
    """The file line of a character offset in a script value, found in the source text: the rest of the value's
    line from the offset is searched from where the value starts, counting earlier occurrences, so block, folded
    and plain multi-line scalars all map right. The key's line if it cannot be found (escaped quoted strings)."""
    needle = script.text[offset:].split("\n", 1)[0].rstrip()[:80].lower()
    if not needle:
        return key_line(script.node, script.key)
    occurrence = script.text[:offset].lower().count(needle)
    seen = 0
    for index in range(script.node.lc.value(script.key)[0], len(pipeline.lines)):
        seen += pipeline.lines[index].lower().count(needle)
        if seen > occurrence:
            return index + 1
    return key_line(script.node, script.key)


def source_line(pipeline: Pipeline, line: int) -> str:
    return " ".join(pipeline.lines[line - 1].split()) if 0 < line <= len(pipeline.lines) else ""


SCRIPT_KEYS = ("script", "bash", "powershell", "pwsh")
SCRIPT_TASKS = {"bash", "cmdline", "powershell", "azurecli", "azurepowershell", "shellscript"}
SCRIPT_INPUTS = {"script", "inlinescript", "inline"}


def task_name(task: str) -> str:
    """`Bash@3` -> `bash`; `ms-devlabs.custom.Task@1` -> `task`."""
    return task.split("@")[0].rsplit(".", 1)[-1].lower()


def step_scripts(step: CommentedMap) -> Iterator[Script]:
    """The inline scripts of one step: a script/bash/powershell/pwsh step, or a script-running task's inline
    script input."""
    for key in SCRIPT_KEYS:
        if isinstance(step.get(key), str):
            yield Script(step, key, step[key], key, step)
    task, inputs = step.get("task"), step.get("inputs")
    if isinstance(task, str) and isinstance(inputs, CommentedMap) and task_name(task) in SCRIPT_TASKS:
        for key, value in inputs.items():
            if str(key).lower() in SCRIPT_INPUTS and isinstance(value, str):
                yield Script(inputs, key, value, f"{task} inputs.{key}", step)


def scripts(pipeline: Pipeline) -> Iterator[Script]:
    """Every inline script in the document."""
    task_inputs = {
        id(node["inputs"]) for node in mappings(pipeline.document) if "task" in node and "inputs" in node
    }
    for node in mappings(pipeline.document):
        if id(node) not in task_inputs:
            yield from step_scripts(node)


def variable_definitions(document: CommentedMap) -> Iterator[tuple[str, object, CommentedMap, object]]:
    """(name, value, holder, key) for every variable in mapping or list form, at any level."""
    for node in mappings(document):
        variables = node.get("variables")
        if isinstance(variables, CommentedMap):
            for name, value in variables.items():
                yield str(name), value, variables, name
        elif isinstance(variables, CommentedSeq):
            for item in variables:
                if isinstance(item, CommentedMap) and "name" in item and "value" in item:
                    yield str(item["name"]), item["value"], item, "name"


def step_label(step: CommentedMap) -> str:
    for key in ("displayName", "name", *SCRIPT_KEYS, "task"):
        if isinstance(step.get(key), str):
            return f"{key}:{' '.join(step[key].split())[:80]}"
    return ""
