"""Azure Pipelines YAML: our rules (checkov has only a few), with line numbers.

Pipeline files are `azure-pipelines*.yml|yaml` anywhere, anything under `.azure-pipelines/` or `.pipelines/`,
and any other YAML whose top level has `steps`, `jobs` or `stages` and no `apiVersion` (not a Kubernetes
manifest). A pipeline file that does not parse is reported as such, never silently skipped.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from core.scans.scanner import RawFinding, Rule, ScanContext

DOCS = "https://learn.microsoft.com/en-us/azure/devops/pipelines/security/inputs"
INJECTION = Rule(
    "ADO-PIPE-10",
    "Untrusted branch or commit data interpolated into a script",
    "HIGH",
    "PIPELINE",
    "Branch names and commit messages are chosen by whoever pushes; macro syntax pastes them into the script "
    "before it runs, so a crafted branch name runs commands on the agent.",
    "Pass the value through an environment variable (env: BRANCH: $(Build.SourceBranch)) and quote it.",
    DOCS,
)
ACCESS_TOKEN = Rule(
    "ADO-PIPE-11",
    "System.AccessToken exposed to a script",
    "MEDIUM",
    "PIPELINE",
    "The job's OAuth token can act on the project; every tool the script runs can read it.",
    "Map System.AccessToken only into the steps that need it, and limit the job authorization scope.",
    "https://learn.microsoft.com/en-us/azure/devops/pipelines/build/variables#systemaccesstoken",
)
UNPINNED_IMAGE = Rule(
    "ADO-PIPE-12",
    "Container image not pinned",
    "MEDIUM",
    "PIPELINE",
    "A tag like latest (or none) can change under the pipeline; a compromised image then runs in it.",
    "Pin the image by digest (image@sha256:...).",
)
REMOTE_SCRIPT = Rule(
    "ADO-PIPE-13",
    "Remote script piped to a shell, or secret set without issecret",
    "MEDIUM",
    "PIPELINE",
    "curl | bash runs whatever the server returns; a secret set with task.setvariable without issecret=true "
    "is printed in clear in the logs.",
    "Download, verify (checksum or signature), then run; add issecret=true when setting secret variables.",
)
DEBUG = Rule(
    "ADO-PIPE-14",
    "system.debug committed as true",
    "LOW",
    "PIPELINE",
    "Debug logging prints variables and internals of every task in the logs of every run.",
    "Remove system.debug from the YAML; set it at queue time when needed.",
)
PARSE = Rule(
    "ADO-PIPE-PARSE",
    "Pipeline YAML does not parse",
    "LOW",
    "PIPELINE",
    "A pipeline that does not parse is not checked by any rule (and does not run).",
    "Fix the YAML syntax at the reported line.",
)
RULES = (INJECTION, ACCESS_TOKEN, UNPINNED_IMAGE, REMOTE_SCRIPT, DEBUG, PARSE)

SCRIPT_KEYS = ("script", "bash", "powershell", "pwsh")
UNTRUSTED = re.compile(
    r"\$\(\s*(Build\.(SourceBranchName|SourceBranch|SourceVersionMessage)|System\.PullRequest\.SourceBranch)\s*\)",
    re.IGNORECASE,
)
TOKEN = re.compile(r"\$\(\s*System\.AccessToken\s*\)", re.IGNORECASE)
PIPE_TO_SHELL = re.compile(r"\b(curl|wget)\b[^\n|]*\|\s*(sudo\s+)?(ba|z|k)?sh\b")
SET_SECRET = re.compile(r"##vso\[task\.setvariable\s+variable=([^;\]]+)([^\]]*)\]", re.IGNORECASE)
SECRET_NAME = re.compile(r"(secret|password|passwd|pwd|token|key|credential)", re.IGNORECASE)
MAX_FILE_BYTES = 1024 * 1024


class PipelinesScanner:
    name = "pipelines"
    version = "1"
    rules = RULES

    async def scan(self, context: ScanContext) -> list[RawFinding]:
        return await asyncio.to_thread(scan_tree, context.root)


def scan_tree(root: Path) -> list[RawFinding]:
    findings: list[RawFinding] = []
    for path in sorted(root.rglob("*")):
        if is_small_yaml(path):
            findings += scan_file(path.relative_to(root).as_posix(), path.read_text(errors="replace"))
    return findings


def is_small_yaml(path: Path) -> bool:
    if path.suffix.lower() not in (".yml", ".yaml") or path.is_symlink() or not path.is_file():
        return False
    return path.stat().st_size <= MAX_FILE_BYTES


def named_as_pipeline(relative: str) -> bool:
    name = relative.rsplit("/", 1)[-1].lower()
    return name.startswith("azure-pipelines") or relative.startswith((".azure-pipelines/", ".pipelines/"))


def scan_file(relative: str, text: str) -> list[RawFinding]:
    try:
        document = YAML(typ="rt").load(text)
    except YAMLError as error:
        if not named_as_pipeline(relative):
            return []
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        return [
            RawFinding(
                PARSE,
                relative,
                line,
                message=f"YAML error: {str(error).splitlines()[0][:200]}",
                identity="parse",
            )
        ]
    if not isinstance(document, CommentedMap):
        return []
    if not named_as_pipeline(relative) and (
        "apiVersion" in document or not any(k in document for k in ("steps", "jobs", "stages"))
    ):
        return []
    lines = text.splitlines()
    aliases = container_aliases(document)
    return list(check(relative, document, lines, aliases))


def container_aliases(document: CommentedMap) -> set[str]:
    resources = document.get("resources")
    containers = resources.get("containers") if isinstance(resources, CommentedMap) else None
    return {str(c.get("container")) for c in containers or [] if isinstance(c, CommentedMap)}


def mappings(node) -> Iterator[CommentedMap]:
    if isinstance(node, CommentedMap):
        yield node
        for value in node.values():
            yield from mappings(value)
    elif isinstance(node, CommentedSeq):
        for item in node:
            yield from mappings(item)


def check(relative: str, document: CommentedMap, lines: list[str], aliases: set[str]) -> Iterator[RawFinding]:
    for node in mappings(document):
        for key in SCRIPT_KEYS:
            if isinstance(node.get(key), str):
                yield from check_script(relative, node, key, lines)
        env = node.get("env")
        if isinstance(env, CommentedMap):
            for name, value in env.items():
                if isinstance(value, str) and TOKEN.search(value):
                    yield RawFinding(
                        ACCESS_TOKEN,
                        relative,
                        env.lc.key(name)[0] + 1,
                        message=f"System.AccessToken mapped into the script's environment as {name}.",
                        identity=f"env:{name}",
                    )
        yield from check_image(relative, node, aliases)
        yield from check_debug(relative, node)


def script_line(node: CommentedMap, key: str, lines: list[str], offset: int) -> int:
    """The file line of a character offset inside a script value (block scalars start on the next line)."""
    key_line = node.lc.key(key)[0]
    value_line = node.lc.value(key)[0]
    block = value_line == key_line and re.search(
        r":\s*[|>]", lines[key_line] if key_line < len(lines) else ""
    )
    first = value_line + (1 if block else 0)
    return first + node[key][:offset].count("\n") + 1


def check_script(relative: str, node: CommentedMap, key: str, lines: list[str]) -> Iterator[RawFinding]:
    script = node[key]
    for match in UNTRUSTED.finditer(script):
        yield RawFinding(
            INJECTION,
            relative,
            script_line(node, key, lines, match.start()),
            message=f"{match.group(1)} is pasted into a {key} step.",
            identity=f"{key}:{match.group(1)}",
        )
    for match in TOKEN.finditer(script):
        yield RawFinding(
            ACCESS_TOKEN,
            relative,
            script_line(node, key, lines, match.start()),
            message=f"System.AccessToken is pasted into a {key} step.",
            identity=f"{key}:token",
        )
    for match in PIPE_TO_SHELL.finditer(script):
        yield RawFinding(
            REMOTE_SCRIPT,
            relative,
            script_line(node, key, lines, match.start()),
            message="A downloaded script is piped straight into a shell.",
            identity=f"pipe:{match.group(0)[:80]}",
        )
    for match in SET_SECRET.finditer(script):
        variable, options = match.group(1).strip(), match.group(2)
        if SECRET_NAME.search(variable) and not re.search(r"issecret\s*=\s*true", options, re.IGNORECASE):
            yield RawFinding(
                REMOTE_SCRIPT,
                relative,
                script_line(node, key, lines, match.start()),
                message=f"Variable {variable} looks secret but is set without issecret=true.",
                identity=f"setvariable:{variable}",
            )


def image_problem(image: str) -> str | None:
    if "@sha256:" in image:
        return None
    name = image.rsplit("/", 1)[-1]
    if ":" not in name or name.endswith(":latest"):
        return "uses the latest tag"
    return "is tagged but not pinned by digest"


def check_image(relative: str, node: CommentedMap, aliases: set[str]) -> Iterator[RawFinding]:
    candidates = []
    if isinstance(node.get("image"), str) and "container" in node:
        candidates.append(("image", node["image"]))
    elif isinstance(node.get("container"), str) and node["container"] not in aliases:
        candidates.append(("container", node["container"]))
    for key, image in candidates:
        problem = image_problem(image)
        if problem:
            yield RawFinding(
                UNPINNED_IMAGE,
                relative,
                node.lc.key(key)[0] + 1,
                message=f"Container image {image[:100]} {problem}.",
                identity=f"image:{image[:100]}",
            )


def check_debug(relative: str, node: CommentedMap) -> Iterator[RawFinding]:
    variables = node.get("variables")
    if isinstance(variables, CommentedMap) and str(variables.get("system.debug", "")).lower() == "true":
        yield RawFinding(
            DEBUG,
            relative,
            variables.lc.key("system.debug")[0] + 1,
            message="system.debug is set to true in the YAML.",
            identity="system.debug",
        )
    if isinstance(variables, CommentedSeq):
        for item in variables:
            if (
                isinstance(item, CommentedMap)
                and str(item.get("name", "")).lower() == "system.debug"
                and str(item.get("value", "")).lower() == "true"
            ):
                yield RawFinding(
                    DEBUG,
                    relative,
                    item.lc.key("name")[0] + 1,
                    message="system.debug is set to true in the YAML.",
                    identity="system.debug",
                )


SCANNER = PipelinesScanner()
