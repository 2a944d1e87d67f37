"""Infrastructure as code: checkov, run as a subprocess from its own virtual environment.

checkov pins about a hundred packages that would clash with ours, so the Makefile installs it into
`.venv-checkov` (PANOPTICA_CHECKOV_BIN overrides the path). It runs offline, with a timeout and a memory
bound; it exits 1 when checks fail, so success means "parseable JSON", not exit code 0. Open-source checkov
has no severities: ours come from the table below. Its `code_block` (source lines, maybe secrets) is never kept.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import signal
from pathlib import Path

from core.scans.scanner import RawFinding, Rule, ScanContext, ScannerError

ROOT = Path(__file__).resolve().parents[2]
FRAMEWORKS = ["terraform", "arm", "bicep", "kubernetes", "kustomize", "dockerfile", "cloudformation"]
OFFLINE = {"CKV_SKIP_PACKAGE_UPDATE_CHECK": "1", "BC_SKIP_MAPPING": "1", "LOG_LEVEL": "ERROR"}
TABLE_REVISION = "1"

# Our severities for checkov's checks (open source reports none): by check id, then by words in the name.
SEVERITY_BY_ID = {
    "CKV_K8S_16": "HIGH",  # privileged container
    "CKV_K8S_14": "MEDIUM",  # image tag latest or missing
    "CKV_AZURE_9": "HIGH",  # RDP open to the internet
    "CKV_AZURE_10": "HIGH",  # SSH open to the internet
    "CKV_AZURE_59": "HIGH",  # storage account public network access
    "CKV_AZURE_190": "HIGH",  # storage blob public access
    "CKV_AZURE_44": "MEDIUM",  # storage TLS below 1.2
    "CKV_AZURE_2": "HIGH",  # managed disk not encrypted
    "CKV_DOCKER_7": "MEDIUM",  # base image latest
    "CKV_DOCKER_3": "MEDIUM",  # no non-root user
}
SEVERITY_BY_WORDS = (
    (("privileged", "public", "0.0.0.0", "internet", "encrypt", "secret", "password", "root"), "HIGH"),  # noqa: S104
    (("limit", "request", "probe", "label", "healthcheck", "logging", "tag"), "LOW"),
)


def severity(check_id: str, name: str) -> str:
    if check_id in SEVERITY_BY_ID:
        return SEVERITY_BY_ID[check_id]
    lowered = name.lower()
    for words, level in SEVERITY_BY_WORDS:
        if any(word in lowered for word in words):
            return level
    return "MEDIUM"


def checkov_bin() -> Path:
    return Path(os.environ.get("PANOPTICA_CHECKOV_BIN", ROOT / ".venv-checkov" / "bin" / "checkov"))


class CheckovScanner:
    name = "checkov"
    rules = ()  # built from checkov's own check ids as they are reported

    @property
    def version(self) -> str:
        return f"3.3.30+{TABLE_REVISION}"

    async def scan(self, context: ScanContext) -> list[RawFinding]:
        binary = checkov_bin()
        if not binary.exists():
            raise ScannerError(f"checkov is not installed ({binary}); run `make test` or `make checkov`")
        output = await run(binary, context)
        return findings_from(parse_reports(output))


async def run(binary: Path, context: ScanContext) -> bytes:
    args = [
        str(binary),
        "-d",
        str(context.root),
        "--skip-download",
        "-o",
        "json",
        "--quiet",
        "--framework",
        *FRAMEWORKS,
    ]
    limit = context.memory_limit_bytes

    def bound_memory() -> None:  # in the child, before exec
        os.setsid()
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    process = await asyncio.create_subprocess_exec(
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, **OFFLINE},
        preexec_fn=bound_memory,
    )
    try:
        stdout, _ = await asyncio.wait_for(process.communicate(), context.timeout_seconds)
    except TimeoutError:
        os.killpg(process.pid, signal.SIGKILL)
        await process.wait()
        raise ScannerError(f"checkov timed out after {context.timeout_seconds:.0f} s") from None
    if process.returncode not in (0, 1):
        raise ScannerError(f"checkov failed (exit code {process.returncode}; killed by the memory bound?)")
    return stdout


def parse_reports(output: bytes) -> list[dict]:
    """One report, a list of reports, or a bare summary when nothing was scanned: always a list."""
    try:
        data = json.loads(output or b"null")
    except ValueError:
        raise ScannerError("checkov printed no parseable JSON") from None
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise ScannerError("checkov printed an unexpected JSON shape")
    return [report for report in data if isinstance(report, dict) and "results" in report]


def findings_from(reports: list[dict]) -> list[RawFinding]:
    findings = []
    for report in reports:
        for check in report["results"].get("failed_checks") or []:
            check_id, name = str(check.get("check_id", "")), str(check.get("check_name", ""))
            rule = Rule(
                check_id,
                name[:300],
                severity(check_id, name),
                "IAC",
                f"checkov {report.get('check_type', '')} check {check_id}.",
                "See the check's guideline.",
                str(check.get("guideline") or ""),
            )
            lines = check.get("file_line_range") or [None, None]
            resource_name = str(check.get("resource", ""))
            findings.append(
                RawFinding(
                    rule,
                    str(check.get("file_path", "")).lstrip("/"),
                    lines[0],
                    lines[1],
                    message=f"{name} ({resource_name})"[:1000],
                    identity=resource_name,
                )
            )
    return findings


SCANNER = CheckovScanner()
