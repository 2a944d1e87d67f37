"""Azure Pipelines YAML: our rules (`pipeline_rules.py`; checkov has only a few), with line numbers.

Which files are pipelines, wherever they live:
- by name: `azure-pipelines*.yml|yaml` anywhere, and any `.yml|.yaml` under a `.azure-pipelines/` or `.pipelines/`
  directory;
- by content, any other `.yml|.yaml` whose document is an Azure Pipelines pipeline or template
  (`shaped_as_pipeline`): a mapping that is not a Kubernetes/Helm/Tekton/Drone manifest (`apiVersion`, `kind`),
  a GitHub workflow (an `on` key; and nothing under `.github/`) or GitLab CI (`.gitlab-ci.yml`), with `steps`,
  `jobs` or `stages` as a list whose items are Azure's (steps: script/bash/pwsh/powershell/task/checkout/
  download/publish/template…; jobs: job/deployment/template; stages: stage/template; `${{ }}` insertions
  allowed) and none of another CI's step keys (`run`, `uses`, `image`, `commands`, `args`…: GitHub, GitLab,
  Cloud Build, Buildkite, Woodpecker), or `extends: {template: …}`, or `pool` together with `trigger` or `pr`.
  Templates (`parameters` + `steps`/`jobs`/`stages`) are therefore checked too; docker-compose (`services`),
  Helm values and GitLab's `stages: [names]` are not.

A file that does not parse is reported (ADO-PIPE-PARSE, LOW, at the parser's line) when it is a pipeline by name,
or when its text has a top-level `steps|jobs|stages|trigger|pr|pool|extends:` line; other broken YAML is not
ours to report. Files are parsed with ruamel.yaml's round-trip loader, which keeps every key's line.

The files of a tree are read first and checked after, because whether a template builds pull requests
(ADO-PIPE-16) depends on the pipelines that include it.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from core.scanners.pipeline_ppe import pull_request_exposure
from core.scanners.pipeline_rules import CHECKS, PARSE, RULES, Pipeline, tainted_variables
from core.scans.scanner import RawFinding, ScanContext, ScannerError

MAX_FILE_BYTES = 1024 * 1024
SKIP_DIRECTORIES = {".git", "node_modules", ".venv", "venv", "vendor", ".terraform"}
TOP_LEVEL_HINT = re.compile(r"(?m)^(?:steps|jobs|stages|trigger|pr|pool|extends)\s*:")
# The keys that make a list item an Azure Pipelines step, job or stage.
ITEM_KEYS = {
    "steps": {
        "script",
        "bash",
        "pwsh",
        "powershell",
        "task",
        "checkout",
        "download",
        "downloadbuild",
        "getpackage",
        "publish",
        "template",
        "reviewapp",
    },
    "jobs": {"job", "deployment", "template"},
    "stages": {"stage", "template"},
}
# Step and job keys of other CI systems; an item with one of them is not Azure's.
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
FOREIGN_ITEM_KEYS = {
    "run",
    "uses",
    "image",
    "commands",
    "command",
    "args",
    "entrypoint",
    "plugins",
    "runs-on",
}


class PipelinesScanner:
    name = "pipelines"
    version = (
        "3"  # 3: ADO-PIPE-16 (poisoned pipeline execution), 17 and 18 (setvariable), recognition by content
    )
    rules = RULES

    async def scan(self, context: ScanContext) -> list[RawFinding]:
        if not context.root.is_dir():
            raise ScannerError(f"the repository directory {context.root.name!r} does not exist")
        deadline = time.monotonic() + context.timeout_seconds
        return await asyncio.to_thread(scan_tree, context.root, deadline, context.secret_key)


@dataclass
class PipelineFile:
    """A YAML file that is ours: its pipeline documents, or the finding that it does not parse."""

    path: str
    lines: list[str]
    documents: list[CommentedMap]
    parse_error: RawFinding | None = None


def scan_tree(root: Path, deadline: float | None = None, secret_key: bytes | None = None) -> list[RawFinding]:
    files: list[PipelineFile] = []
    for directory, subdirectories, names in os.walk(root):
        subdirectories[:] = sorted(d for d in subdirectories if d not in SKIP_DIRECTORIES)
        for name in sorted(names):
            path = Path(directory, name)
            if not is_small_yaml(path):
                continue
            check_deadline(deadline)
            try:
                text = path.read_bytes().decode("utf-8-sig", errors="replace")
            except OSError:
                continue
            if parsed := read_pipeline(path.relative_to(root).as_posix(), text):
                files.append(parsed)
    return check_files(files, secret_key, deadline)


def scan_file(relative: str, text: str, secret_key: bytes | None = None) -> list[RawFinding]:
    """Findings for one YAML file on its own (none when it is not a pipeline; a template in it is judged as not
    included by any pipeline)."""
    parsed = read_pipeline(relative, text)
    return check_files([parsed], secret_key) if parsed else []


def check_deadline(deadline: float | None) -> None:
    if deadline is not None and time.monotonic() > deadline:
        raise ScannerError("pipelines scan timed out")


def check_files(
    files: list[PipelineFile], secret_key: bytes | None, deadline: float | None = None
) -> list[RawFinding]:
    exposure = pull_request_exposure({f.path: f.documents for f in files})
    findings: list[RawFinding] = []
    for file in files:
        check_deadline(deadline)
        if file.parse_error:
            findings.append(file.parse_error)
        for document in file.documents:
            pipeline = Pipeline(
                file.path,
                document,
                file.lines,
                container_aliases(document),
                tainted_variables(document),
                exposure.get(file.path, ()),
                secret_key,
            )
            for _, check in CHECKS:
                findings.extend(check(pipeline))
    return findings


def is_small_yaml(path: Path) -> bool:
    if path.suffix.lower() not in (".yml", ".yaml") or path.is_symlink() or not path.is_file():
        return False
    return path.stat().st_size <= MAX_FILE_BYTES


def named_as_pipeline(relative: str) -> bool:
    parts = relative.lower().split("/")
    return parts[-1].startswith("azure-pipelines") or any(
        p in (".azure-pipelines", ".pipelines") for p in parts[:-1]
    )


def foreign_ci(relative: str) -> bool:
    parts = relative.lower().split("/")
    return parts[0] == ".github" or parts[-1] in (".gitlab-ci.yml", ".gitlab-ci.yaml")


def azure_items(value, kind: str) -> bool:
    """A non-empty list of Azure steps, jobs or stages (`${{ if … }}:` and `${{ parameters.x }}` insertions
    count as items), with at least one real step, job or stage."""
    if not isinstance(value, CommentedSeq) or not value:
        return False
    for item in value:
        if isinstance(item, str) and item.strip().startswith("${{"):
            continue  # `- ${{ parameters.steps }}`: a template's insertion of its caller's items
        if not isinstance(item, CommentedMap):
            return False
        keys = {str(k).lower() for k in item}
        if keys & FOREIGN_ITEM_KEYS or not (keys & ITEM_KEYS[kind] or any(k.startswith("${{") for k in keys)):
            return False
        name = item.get("name")
        if kind == "steps" and isinstance(name, str) and not IDENTIFIER.fullmatch(name):
            return False  # Azure step names are identifiers; Cloud Build's `name` is an image
    return any(isinstance(item, CommentedMap) for item in value)


def shaped_as_pipeline(document: CommentedMap) -> bool:
    if "apiVersion" in document or "kind" in document or "on" in document or True in document:
        return False  # Kubernetes/Helm/Tekton/Drone manifests; GitHub workflows (`on`, True for YAML 1.1 loaders)
    if any(azure_items(document.get(key), key) for key in ITEM_KEYS):
        return True
    extends = document.get("extends")
    if isinstance(extends, CommentedMap) and "template" in extends:
        return True
    return "pool" in document and ("trigger" in document or "pr" in document)


def read_pipeline(relative: str, text: str) -> PipelineFile | None:
    """The file's pipeline documents, or its parse error; None when it is not a pipeline."""
    named = named_as_pipeline(relative)
    if foreign_ci(relative) and not named:
        return None
    lines = text.splitlines()
    try:
        documents = [d for d in YAML(typ="rt").load_all(text) if d is not None]
    except YAMLError as error:
        if not (named or TOP_LEVEL_HINT.search(text)):
            return None
        return PipelineFile(relative, lines, [], parse_finding(relative, error))
    ours = [d for d in documents if isinstance(d, CommentedMap) and (named or shaped_as_pipeline(d))]
    return PipelineFile(relative, lines, ours) if ours else None


def parse_finding(relative: str, error: YAMLError) -> RawFinding:
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    line = mark.line + 1 if mark is not None else 1
    problem = getattr(error, "problem", None) or str(error).splitlines()[0]
    return RawFinding(
        PARSE,
        relative,
        line,
        message=f"The YAML does not parse at line {line}: {str(problem)[:200]}.",
        identity="parse",
    )


def container_aliases(document: CommentedMap) -> set[str]:
    resources = document.get("resources")
    containers = resources.get("containers") if isinstance(resources, CommentedMap) else None
    if not isinstance(containers, CommentedSeq):
        return set()
    return {str(c["container"]) for c in containers if isinstance(c, CommentedMap) and "container" in c}


SCANNER = PipelinesScanner()
