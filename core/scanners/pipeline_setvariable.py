"""The two `##vso[task.setvariable]` rules (scanning.md §3): a secret set without `issecret=true` (ADO-PIPE-17,
split out of ADO-PIPE-13 in scanner version 3), and a literal value committed as a secret (ADO-PIPE-18, the sense
of checkov's CKV_AZUREPIPELINES_3)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from core.scanners.pipeline_yaml import Pipeline, locate, scripts
from core.scans.scanner import RawFinding, Rule, redacted_preview, secret_hash

SETVARIABLE_HELP = "https://learn.microsoft.com/en-us/azure/devops/pipelines/process/set-secret-variables"

UNMARKED_SECRET = Rule(
    "ADO-PIPE-17",
    "Secret set with task.setvariable without issecret",
    "MEDIUM",
    "PIPELINE",
    "A value set with ##vso[task.setvariable] without issecret=true is an ordinary variable: the agent does not "
    "mask it, so it is printed in clear in the logs of this and every later step that echoes it, and any "
    "later step (or tool it runs) reads it from the environment. Judged by the variable's name, or the name "
    "of the variable it is copied from (password, token, secret, key, connection string, …).",
    "Add ;issecret=true to the task.setvariable command (and map the secret into the steps that need it with "
    "env:), or read it from a variable group linked to Key Vault instead of passing it through a script.",
    SETVARIABLE_HELP,
)
COMMITTED_SECRET = Rule(
    "ADO-PIPE-18",
    "Literal value committed as a secret variable",
    "HIGH",
    "PIPELINE",
    "`##vso[task.setvariable variable=x;issecret=true]value` with a literal value: the value was marked secret, "
    "so it is one, and it is written in the pipeline YAML, readable by everyone who can read the repository and "
    "kept in its history. Masking in the logs does not help once it is in the source. This is the sense of "
    'checkov\'s CKV_AZUREPIPELINES_3 ("Ensure set variable is not marked as a secret"), which flags every '
    "issecret=true in bash/powershell steps, also when the value comes from a variable; we flag the literal "
    "ones, in every script step and script task.",
    "Rotate the credential, remove it from the YAML (and the history), and read it at run time from a secret "
    "variable, a Key Vault-linked variable group or an AzureKeyVault task.",
    SETVARIABLE_HELP,
)
SET_VARIABLE = re.compile(
    r"##vso\[task\.setvariable\s+variable=(?P<name>[^;\]]+)(?P<options>[^\]]*)\](?P<value>[^\n]*)",
    re.IGNORECASE,
)
IS_SECRET = re.compile(r"issecret\s*=\s*true", re.IGNORECASE)
SECRET_NAME = re.compile(
    r"secret|passw|pwd|token|credential|api_?key|access_?key|private_?key|account_?key|conn(?:ection)?_?str|sas\b|key$",
    re.IGNORECASE,
)
SECRET_REFERENCE = re.compile(r"^\s*[\"']?\$(?:\(|\{|env:)?\s*(?P<name>[\w.]+)")
# What makes a value not literal: a macro, shell or PowerShell variable, template expression, command
# substitution (`$`), a cmd variable (%X%), a backtick substitution, or string concatenation in PowerShell.
NOT_LITERAL = re.compile(r"\$|%[\w.]+%|`|\"\s*\+|'\s*\+|\{\d+\}")
TRAILING = " \t\r\"');"
# Values that say where a secret goes rather than being one.
PLACEHOLDER = re.compile(
    r"<[^>]*>|\*+|x{3,}|\.{3}|(?:your[-_ ]?\w*|changeme|change[-_]me|dummy|example|placeholder|redacted|todo|"
    r"secret|password|none|null|true|false)",
    re.IGNORECASE,
)


def literal_value(value: str) -> str | None:
    """The committed literal a setvariable line sets, or None when the value is computed at run time. Echo's
    closing quote (and a trailing `)`/`;`) is not part of the value."""
    value = value.rstrip(TRAILING)
    if not value or NOT_LITERAL.search(value) or PLACEHOLDER.fullmatch(value):
        return None
    return value


def check_setvariable(pipeline: Pipeline) -> Iterator[RawFinding]:
    for script in scripts(pipeline):
        for match in SET_VARIABLE.finditer(script.text):
            name, options, value = match.group("name").strip(), match.group("options"), match.group("value")
            if IS_SECRET.search(options):
                literal = literal_value(value)
                if literal is not None:
                    yield committed_secret(
                        pipeline, locate(pipeline, script, match.start()), name, literal, script
                    )
                continue
            reference = SECRET_REFERENCE.match(value)
            if not (SECRET_NAME.search(name) or (reference and SECRET_NAME.search(reference.group("name")))):
                continue
            yield RawFinding(
                UNMARKED_SECRET,
                pipeline.path,
                locate(pipeline, script, match.start()),
                message=f"Variable {name} looks secret but is set without issecret=true.",
                identity=f"setvariable:{name}",
                # pipelines scanner 2 reported it as ADO-PIPE-13 with this identity: the stored finding (its
                # status, suppression, first sighting) continues under the new rule id
                previous_keys=(("ADO-PIPE-13", f"setvariable:{name}"),),
            )


def committed_secret(pipeline: Pipeline, line: int, name: str, literal: str, script) -> RawFinding:
    """Never the value: the message names the variable; the keyed hash and the redacted preview (when the
    service's key is known) let the secret be recognised without being shown."""
    return RawFinding(
        COMMITTED_SECRET,
        pipeline.path,
        line,
        message=f"Secret variable {name} is set to a literal value written in a {script.kind} step.",
        identity=f"committed-secret:{name}",
        secret_hash=secret_hash(pipeline.secret_key, literal) if pipeline.secret_key else None,
        preview=redacted_preview(literal),
    )
