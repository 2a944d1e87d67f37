"""Azure Pipelines YAML: our rules (`pipeline_rules.py`; checkov has only a few), with line numbers.

Which files are pipelines:
- by name: `azure-pipelines*.yml|yaml` anywhere, and any `.yml|.yaml` under a `.azure-pipelines/` or `.pipelines/`
  directory;
- by shape, any other `.yml|.yaml` whose top level is a mapping that is not a Kubernetes manifest (`apiVersion` /
  `kind`), a GitHub workflow (under `.github/`, or an `on` key) or GitLab CI (`.gitlab-ci.yml`), and that has
  `steps`, `jobs` or `stages` as a list of mappings (Azure's shape: GitLab's `stages` is a list of names, GitHub's
  `jobs` a mapping), or `extends: {template: …}`, or `pool` together with `trigger` or `pr`.
  Template files (`parameters` + `steps`) are therefore checked too.

A file that does not parse is reported (ADO-PIPE-PARSE, LOW, at the parser's line) when it is a pipeline by name,
or when its text has a top-level `steps|jobs|stages|trigger|pr|pool|extends:` line; other broken YAML is not
ours to report. Files are parsed with ruamel.yaml's round-trip loader, which keeps every key's line.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from core.scanners.pipeline_rules import CHECKS, PARSE, RULES, Pipeline, tainted_variables
from core.scans.scanner import RawFinding, ScanContext, ScannerError

MAX_FILE_BYTES = 1024 * 1024
SKIP_DIRECTORIES = {".git", "node_modules", ".venv", "venv", "vendor", ".terraform"}
PIPELINE_KEYS = ("steps", "jobs", "stages")
TOP_LEVEL_HINT = re.compile(r"(?m)^(?:steps|jobs|stages|trigger|pr|pool|extends)\s*:")


class PipelinesScanner:
    name = "pipelines"
    version = "2"
    rules = RULES

    async def scan(self, context: ScanContext) -> list[RawFinding]:
        if not context.root.is_dir():
            raise ScannerError(f"the repository directory {context.root.name!r} does not exist")
        deadline = time.monotonic() + context.timeout_seconds
        return await asyncio.to_thread(scan_tree, context.root, deadline)


def scan_tree(root: Path, deadline: float | None = None) -> list[RawFinding]:
    findings: list[RawFinding] = []
    for directory, subdirectories, names in os.walk(root):
        subdirectories[:] = sorted(d for d in subdirectories if d not in SKIP_DIRECTORIES)
        for name in sorted(names):
            path = Path(directory, name)
            if not is_small_yaml(path):
                continue
            if deadline is not None and time.monotonic() > deadline:
                raise ScannerError("pipelines scan timed out")
            try:
                text = path.read_bytes().decode("utf-8-sig", errors="replace")
            except OSError:
                continue
            findings += scan_file(path.relative_to(root).as_posix(), text)
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


def shaped_as_pipeline(document: CommentedMap) -> bool:
    if "apiVersion" in document or "kind" in document or "on" in document or True in document:
        return False  # Kubernetes manifests; GitHub workflows (`on`, read as True by YAML 1.1 loaders)
    for key in PIPELINE_KEYS:
        value = document.get(key)
        if isinstance(value, CommentedSeq) and all(isinstance(item, CommentedMap) for item in value):
            return True
    extends = document.get("extends")
    if isinstance(extends, CommentedMap) and "template" in extends:
        return True
    return "pool" in document and ("trigger" in document or "pr" in document)


def scan_file(relative: str, text: str) -> list[RawFinding]:
    """Findings for one YAML file (none when it is not a pipeline)."""
    named = named_as_pipeline(relative)
    if foreign_ci(relative) and not named:
        return []
    try:
        documents = [d for d in YAML(typ="rt").load_all(text) if d is not None]
    except YAMLError as error:
        if not (named or TOP_LEVEL_HINT.search(text)):
            return []
        mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
        line = mark.line + 1 if mark is not None else 1
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        return [
            RawFinding(
                PARSE,
                relative,
                line,
                message=f"The YAML does not parse at line {line}: {str(problem)[:200]}.",
                identity="parse",
            )
        ]
    findings: list[RawFinding] = []
    lines = text.splitlines()
    for document in documents:
        if not isinstance(document, CommentedMap) or not (named or shaped_as_pipeline(document)):
            continue
        pipeline = Pipeline(
            relative, document, lines, container_aliases(document), tainted_variables(document)
        )
        for _, check in CHECKS:
            findings.extend(check(pipeline))
    return findings


def container_aliases(document: CommentedMap) -> set[str]:
    resources = document.get("resources")
    containers = resources.get("containers") if isinstance(resources, CommentedMap) else None
    if not isinstance(containers, CommentedSeq):
        return set()
    return {str(c["container"]) for c in containers if isinstance(c, CommentedMap) and "container" in c}


SCANNER = PipelinesScanner()
