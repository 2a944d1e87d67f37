"""Infrastructure as code: checkov, run as a subprocess from its own virtual environment.

checkov pins about a hundred packages that would clash with ours, so the Makefile installs it into
`.venv-checkov` (PANOPTICA_CHECKOV_BIN, or the `checkov_bin` option, overrides the path). Each run:

- is offline (CKV_SKIP_PACKAGE_UPDATE_CHECK, BC_SKIP_MAPPING, --skip-download; proxies pointed at a closed port so
  anything that still tries the network fails fast instead of hanging behind a firewall);
- gets a minimal environment (never our service's secrets) and a private, empty working and home directory;
- never reads a `.checkov.yaml` from the scanned repository: checkov loads one from the directory given as
  `-d DIR` (observed with 3.3.30; its `external-checks-dir` would run the repository's Python in our host), so
  the directory is passed as `--directory=DIR`, which that lookup does not see;
- runs with --compact, so code blocks (source lines, maybe secrets) never even reach our process;
- is bounded in time (the whole process group is killed) and memory (RLIMIT_AS; checkov can also stall rather
  than fail when its worker processes hit the bound: the timeout covers that).

checkov exits 1 when checks fail, so success means "parseable JSON", not exit code 0. Open-source checkov has
no severities: ours come from `checkov_severity.TABLE`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import os
import re
import resource
import shutil
import signal
import tempfile
from pathlib import Path

from core.scanners import checkov_severity
from core.scans.scanner import RawFinding, Rule, ScanContext, ScannerError

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_BIN = ROOT / ".venv-checkov" / "bin" / "checkov"
FRAMEWORKS = ("terraform", "arm", "bicep", "kubernetes", "kustomize", "dockerfile", "cloudformation")
CLOSED_PORT = "http://127.0.0.1:9"  # the discard port: connections are refused at once
ENVIRONMENT = {
    "CKV_SKIP_PACKAGE_UPDATE_CHECK": "1",
    "BC_SKIP_MAPPING": "1",
    "LOG_LEVEL": "ERROR",
    "LANG": "C.UTF-8",
    "PYTHONNOUSERSITE": "1",
    **{name: CLOSED_PORT for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY")},
    "NO_PROXY": "",
    "no_proxy": "",
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_ALLOW_PROTOCOL": "none",  # kustomize's remote bases are fetched with git: no protocol is allowed
}
MAX_OUTPUT_BYTES = 256 * 1024**2
MiB = 1024**2


def checkov_bin(context: ScanContext | None = None) -> Path:
    configured = (context.options.get("checkov_bin") if context else None) or os.environ.get(
        "PANOPTICA_CHECKOV_BIN"
    )
    return Path(configured) if configured else DEFAULT_BIN


@functools.lru_cache(maxsize=8)
def installed_version(binary: Path) -> str:
    """checkov's version from the package metadata of the virtualenv the executable belongs to."""
    venv = binary.resolve().parent.parent
    for info in sorted(venv.glob("lib/python*/site-packages/checkov-*.dist-info")):
        match = re.fullmatch(r"checkov-(.+)\.dist-info", info.name)
        if match:
            return match.group(1)
    return "unknown"


class CheckovScanner:
    name = "checkov"
    rules = ()  # checkov has ~1,250 checks: each finding's Rule is built from the check it reports

    @property
    def version(self) -> str:
        """checkov's version and our severity table's revision: a change to either rescans everything."""
        return f"{installed_version(checkov_bin())}+severity.{checkov_severity.REVISION}"

    async def scan(self, context: ScanContext) -> list[RawFinding]:
        binary = checkov_bin(context)
        if not (binary.is_file() and os.access(binary, os.X_OK)):
            log.warning("checkov executable not found at %s", binary)
            raise ScannerError("checkov is not installed on this server (run `make checkov`)")
        root = Path(context.root).resolve()
        if not root.is_dir():
            raise ScannerError("the repository to scan is not a directory")
        output = await run(binary, root, context.timeout_seconds, context.memory_limit_bytes)
        return findings_from(parse_reports(output), root)


def command(binary: Path, root: Path) -> list[str]:
    # `--directory=` (not `-d DIR`): checkov would read DIR/.checkov.yaml, a file the repository controls.
    return [
        str(binary),
        f"--directory={root}",
        "--skip-download",
        "--output=json",
        "--quiet",  # failed checks only
        "--compact",  # no code blocks
        "--framework",
        *FRAMEWORKS,
    ]


async def run(binary: Path, root: Path, timeout: float, memory_limit: int) -> bytes:
    """checkov's stdout. Raises ScannerError on timeout, a crash, or the memory bound."""
    workdir = Path(tempfile.mkdtemp(prefix="panoptica-checkov-"))  # private (0700): cwd, HOME, TMPDIR
    try:
        stdout_path, stderr_path = workdir / "stdout.json", workdir / "stderr.txt"
        env = {
            **ENVIRONMENT,
            "PATH": f"{binary.parent}:/usr/local/bin:/usr/bin:/bin",
            "HOME": str(workdir),
            "TMPDIR": str(workdir),
        }

        def bound_memory() -> None:  # in the child, before exec
            resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))

        with open(stdout_path, "wb") as stdout, open(stderr_path, "wb") as stderr:
            process = await asyncio.create_subprocess_exec(
                *command(binary, root),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=stdout,
                stderr=stderr,
                cwd=workdir,
                env=env,
                start_new_session=True,  # its own process group: a timeout kills checkov's workers too
                preexec_fn=bound_memory,
            )
            try:
                await asyncio.wait_for(process.wait(), timeout)
            except TimeoutError:
                raise ScannerError(f"checkov timed out after {timeout:g} s") from None
            finally:
                if process.returncode is None:  # timed out, or this task was cancelled
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(process.pid, signal.SIGKILL)
                    await process.wait()
        return read_output(process.returncode, stdout_path, stderr_path, memory_limit)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def read_output(returncode: int, stdout_path: Path, stderr_path: Path, memory_limit: int) -> bytes:
    with open(stderr_path, "rb") as stderr:  # checkov's own diagnostics: classified, never passed on
        stderr.seek(max(0, stderr_path.stat().st_size - 64 * 1024))
        out_of_memory = b"MemoryError" in stderr.read()
    if out_of_memory:
        raise ScannerError(f"checkov ran out of memory (bound {memory_limit // MiB} MiB)")
    if returncode < 0:
        name = signal.Signals(-returncode).name if -returncode in signal.valid_signals() else -returncode
        hint = f"; out of memory? bound {memory_limit // MiB} MiB" if -returncode == signal.SIGKILL else ""
        raise ScannerError(f"checkov was killed by signal {name}{hint}")
    if returncode not in (0, 1):
        raise ScannerError(f"checkov failed (exit code {returncode})")
    if stdout_path.stat().st_size > MAX_OUTPUT_BYTES:
        raise ScannerError(f"checkov's output is larger than {MAX_OUTPUT_BYTES // MiB} MiB")
    return stdout_path.read_bytes()


def parse_reports(output: bytes) -> list[dict]:
    """One report, a list of reports, or a bare summary when nothing was scanned: always a list of reports."""
    try:
        data = json.loads(output)
    except ValueError:
        raise ScannerError("checkov printed no parseable JSON") from None
    reports = data if isinstance(data, list) else [data]
    if not all(isinstance(report, dict) for report in reports):
        raise ScannerError("checkov printed JSON of an unexpected shape")
    if len(reports) == 1 and "results" not in reports[0] and {"passed", "failed"} <= reports[0].keys():
        return []  # the bare summary: no file of a scanned framework
    for report in reports:
        if not isinstance(report.get("results"), dict):
            raise ScannerError("checkov printed JSON of an unexpected shape")
    return reports


def relative_path(file_path: str, root: Path) -> str:
    """checkov reports "/main.tf" (relative to the root, with a leading slash); some runners the absolute path."""
    prefix = str(root).rstrip("/") + "/"
    if file_path.startswith(prefix):
        file_path = file_path[len(prefix) :]
    return file_path.lstrip("/")


def findings_from(reports: list[dict], root: Path) -> list[RawFinding]:
    """Failed checks as findings. Only named fields are copied: `code_block` (and anything else) is dropped."""
    findings = []
    for report in reports:
        check_type = str(report.get("check_type") or "")
        for check in report["results"].get("failed_checks") or []:
            if not isinstance(check, dict):
                continue
            check_id, name = str(check.get("check_id") or ""), str(check.get("check_name") or "")
            row = checkov_severity.classify(check_id, name)
            rule = Rule(
                id=check_id,
                title=name[:300],
                severity=row.severity,
                category="IAC",
                rationale=f"checkov {check_type} check {check_id}: {name[:300]}. Severity (ours): {row.why}.",
                remediation=f"Change the resource so that it complies: {name[:300]}.",
                help_uri=str(check.get("guideline") or "")[:500],  # empty offline (BC_SKIP_MAPPING)
            )
            lines = check.get("file_line_range") or []
            start = lines[0] if len(lines) > 0 and isinstance(lines[0], int) and lines[0] > 0 else None
            end = lines[1] if len(lines) > 1 and isinstance(lines[1], int) and lines[1] > 0 else start
            resource_name = str(check.get("resource") or "")[:500]
            findings.append(
                RawFinding(
                    rule=rule,
                    path=relative_path(str(check.get("file_path") or ""), root),
                    line=start,
                    end_line=end,
                    message=f"{name} ({resource_name})"[:1000],
                    identity=resource_name,  # not the line: moving the resource keeps its fingerprint
                )
            )
    return findings


SCANNER = CheckovScanner()
