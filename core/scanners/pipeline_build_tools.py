"""Which steps run a repository's own code: build tools and repository scripts in inline scripts
(`BUILD_COMMANDS`, at a command position), and tasks that run a repository script file or a build tool on the
repository (`task_runs_repository_code`). The list follows poutine's `untrusted_checkout_exec` build commands,
widened to the tools whose normal use executes code from the checkout (install hooks, build scripts, test
collection, MSBuild targets, build.rs, Dockerfile RUN, Terraform's external data sources)."""

from __future__ import annotations

import re

from ruamel.yaml.comments import CommentedMap

from core.scanners.pipeline_yaml import Script, task_name

_SOURCES = (
    r"(?:\$\(\s*(?:Build\.SourcesDirectory|System\.DefaultWorkingDirectory|Build\.Repository\.LocalPath)\s*\)"
    r"|\$\{?BUILD_SOURCESDIRECTORY\}?|\$env:BUILD_SOURCESDIRECTORY)"
)
# A command position: start of a line, after a separator, a subshell, `then`/`do`, or a prefix like sudo, and
# after environment assignments (`CI=1 npm ci`) and PowerShell's call operator (`& ./build.ps1`).
_START = (
    r"(?:^|(?<=[;&|(`{])|(?<=\$\()|(?<=\bthen\s)|(?<=\bdo\s)|(?<=\belse\s))[ \t]*"
    r"(?:(?:sudo|time|exec|nohup|source|\.)[ \t]+(?:-\S+[ \t]+)*)?(?:[A-Za-z_]\w*=\S*[ \t]+)*"
)
BUILD_COMMANDS: tuple[tuple[str, str], ...] = (
    ("shell script", r"(?:ba|z|k|da)?sh[ \t]+(?:-\w+[ \t]+)*[\w./\\${}()-]*\.(?:sh|bash)\b"),
    ("repository script", rf"(?:\.{{1,2}}[/\\]|{_SOURCES}[/\\])[\w./\\-]+"),
    ("repository script", r"[\w-]+(?:[/\\][\w.-]+)+\.(?:sh|bash|py|ps1|cmd|bat|pl|rb)\b"),
    ("npm", r"npm[ \t]+(?:install|i|ci|run|run-script|test|t|start|build|rebuild|exec|pack|publish)\b"),
    ("yarn", r"yarn\b(?![ \t]+(?:--version|-v|config|cache)\b)"),
    ("npx", r"npx\b"),
    ("pnpm", r"pnpm[ \t]+(?:install|i|run|test|build|exec|rebuild)\b"),
    ("make", r"g?make\b(?![\w-])"),
    ("cmake", r"cmake\b"),
    (
        "pip",
        r"(?:python[0-9.]*[ \t]+-m[ \t]+)?pip[0-9.]*[ \t]+install\b"
        r"(?=[^\n;&|]*?[ \t](?:-e|--editable|-r|--requirement)\b|[^\n;&|]*?[ \t]\.(?:[ \t\[/]|$))",
    ),
    ("python setup.py", r"python[0-9.]*[ \t]+(?:-\w+[ \t]+)*setup\.py\b"),
    ("python script", r"python[0-9.]*[ \t]+(?:-u[ \t]+)?[\w./\\-]+\.py\b"),
    ("pytest", r"(?:python[0-9.]*[ \t]+-m[ \t]+)?(?:pytest|tox|nox)\b"),
    ("python -m build", r"python[0-9.]*[ \t]+-m[ \t]+build\b"),
    ("poetry", r"poetry[ \t]+(?:install|run|build)\b"),
    ("maven", r"(?:mvn|mvnw)\b"),
    ("gradle", r"(?:gradle|gradlew)\b"),
    ("dotnet", r"dotnet[ \t]+(?:build|test|restore|run|publish|pack|msbuild)\b"),
    ("msbuild", r"msbuild(?:\.exe)?\b"),
    ("go", r"go[ \t]+(?:build|test|generate|run|install)\b"),
    ("cargo", r"cargo[ \t]+(?:build|test|run|check|bench|clippy|install)\b"),
    (
        "docker build",
        r"docker(?:[ \t]+buildx)?[ \t]+build\b|docker[ \t-]compose\b[^\n;&|]*?\b(?:build|up|run)\b",
    ),
    ("terraform", r"terraform[ \t]+(?:-chdir=\S+[ \t]+)?(?:init|plan|apply|refresh|console)\b"),
    ("bundler", r"bundle[ \t]+(?:install|exec)\b|rake\b"),
    ("composer", r"composer[ \t]+(?:install|update|run-script|run)\b"),
    ("node script", r"node[ \t]+[\w./\\-]+\.(?:js|mjs|cjs)\b"),
    (
        "powershell script",
        r"(?:pwsh|powershell)(?:\.exe)?[ \t]+(?:-\w+[ \t]+)*(?:-File[ \t]+)?[\w./\\-]+\.ps1\b",
    ),
    ("pre-commit", r"pre-commit[ \t]+(?:run|install)\b"),
    ("ant", r"ant\b(?![\w-])"),
    ("mkdocs", r"mkdocs[ \t]+build\b"),
    ("gomplate", r"gomplate\b"),
)
BUILD_COMMAND = re.compile(
    _START + "(?:" + "|".join(f"(?P<t{i}>{pattern})" for i, (_, pattern) in enumerate(BUILD_COMMANDS)) + ")",
    re.MULTILINE,
)

# Tasks that run repository code: a script file of the repository, or a build tool on the repository.
FILE_INPUTS = {"filepath", "scriptpath", "scriptfile"}
INLINE_MODES = {"inline", "inlinescript"}
MODE_INPUTS = {"targettype", "scriptlocation", "scripttype", "scriptsource"}
BUILD_TASKS = {
    "npm": "install",
    "dotnetcorecli": "build",
    "maven": "",
    "gradle": "",
    "ant": "",
    "msbuild": "",
    "vsbuild": "",
    "vstest": "",
    "xcode": "",
    "cmake": "",
    "go": "get",
    "docker": "buildAndPush",
    "grunt": "",
    "gulp": "",
    "yarn": "",
    "terraformtaskv4": "",
    "terraformtaskv3": "",
    "terraformcli": "",
}
SAFE_COMMANDS = {  # task commands that run nothing from the repository
    "dotnetcorecli": {"push"},
    "go": {"get"},
    "docker": {"login", "logout", "push", "pull"},
    "terraformtaskv4": {"validate", "show", "output"},
    "terraformtaskv3": {"validate", "show", "output"},
    "terraformcli": {"validate", "show", "output"},
    "npm": set(),
}


def task_runs_repository_code(step: CommentedMap) -> str | None:
    """What a task step runs from the repository (`Bash@3 filePath build.sh`, `Npm@1 install`), or None."""
    task, inputs = step.get("task"), step.get("inputs")
    if not isinstance(task, str):
        return None
    inputs = {str(k).lower(): v for k, v in inputs.items()} if isinstance(inputs, CommentedMap) else {}
    name = task_name(task)
    mode = next((str(inputs[k]).lower() for k in MODE_INPUTS if k in inputs), "")
    for key in FILE_INPUTS:
        if isinstance(inputs.get(key), str) and mode not in INLINE_MODES:
            return f"{task} {key} {inputs[key].strip()[:80]}"
    if name not in BUILD_TASKS:
        return None
    command = str(inputs.get("command", BUILD_TASKS[name]) or "").strip()
    if command.lower() in SAFE_COMMANDS.get(name, set()):
        return None
    return f"{task} {command}".strip()


def build_command(script: Script) -> re.Match | None:
    text = script.text.replace("\\\n", "  ")  # shell line continuations, same length
    return BUILD_COMMAND.search(text)
