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
- is bounded in time (the whole process group is killed) and in memory (below).

Complete or say so. checkov loses results silently when one of its worker processes dies: its fork runner
(`checkov/common/parallelizer/parallel_runner.py`, 3.3.30) treats a worker's closed pipe (EOFError) as "no more
results" and carries on, so checkov exits 1 as usual with a shorter report. Measured with the old bound (RLIMIT_AS
1 GiB): checkov's processes reserve ~1.5 GiB of address space even on a 120-file sample (resident: ~280 MB), so the
bound killed workers and a third of the Terraform findings vanished, with no message. Hence:

- checkov runs with CHECKOV_PARALLELIZATION_TYPE=none: one process, so any kill is the death of checkov itself and
  shows in its exit status. Measured on 806 generated files (benchmarks/checkov_completeness.py, 2 busy cores):
  28 s of CPU against 27 s with fork workers, peak resident 0.88 GiB against 1.7 GiB summed over the workers. The
  price: no framework runs beside another on a machine with idle cores;
- the memory bound is on resident memory (RSS), summed over every process of checkov's session, sampled from /proc
  every SAMPLE_SECONDS by a watchdog that kills the whole session when the sum exceeds the bound
  (`ScanContext.memory_limit_bytes`, default 2 GiB) and raises ScannerError naming it. Resident memory is what a
  run costs the host; address space is not (RLIMIT_AS is gone). No cgroup: the container this was built in offers
  cgroup v1 and a v2 hierarchy without a memory controller, so /proc is what works everywhere on Linux; a kernel
  OOM kill (cgroup or not) shows as SIGKILL and fails the scan too;
- checkov's result is accepted only when its exit status is 0 or 1 (1: checks failed), its stderr shows no sign of
  lost work (MemoryError, a crashed worker or thread, a check or framework that failed, an uncaught traceback), and
  every file that surely has checks (`CANARIES`: a Dockerfile, a Kubernetes workload, a storage bucket in Terraform,
  ARM or CloudFormation) appears in its framework's report. Otherwise: ScannerError with the reason, so the run is
  PARTIAL and the previous findings stay open;
- files checkov could not parse (`results.parsing_errors`, listed only without --quiet) become IAC-PARSE findings,
  one per file: unparsed means unchecked, and the user must see it.

Open-source checkov has no severities: ours come from `checkov_severity.TABLE`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import shutil
import signal
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

from core.scanners import checkov_severity, tool_venv
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
    # One process: a worker checkov forks can die without checkov noticing (see the module docstring).
    "CHECKOV_PARALLELIZATION_TYPE": "none",
    **{name: CLOSED_PORT for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY")},
    "NO_PROXY": "",
    "no_proxy": "",
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_ALLOW_PROTOCOL": "none",  # kustomize's remote bases are fetched with git: no protocol is allowed
}
MAX_OUTPUT_BYTES = 256 * 1024**2
MiB = 1024**2
SAMPLE_SECONDS = 0.2  # the memory watchdog's period
# Our handling of checkov's output (not its checks): part of the version, so a change rescans every repository.
# 2: the RSS bound, truncation detection, IAC-PARSE findings.
HANDLING_REVISION = "2"

PARSE_RULE = Rule(
    id="IAC-PARSE",
    title="Infrastructure-as-code file that checkov could not parse",
    severity="LOW",
    category="IAC",
    rationale=(
        "checkov could not parse this file, so none of its checks ran on it: any misconfiguration in it is "
        "unknown. A file that does not parse may also fail to deploy, or deploy differently from what it reads."
    ),
    remediation=(
        "Make the file valid for its format (HCL for Terraform, JSON or YAML for ARM, CloudFormation and "
        "Kubernetes; no comments or trailing commas in JSON) and run `checkov -f FILE` to see the parser's "
        "error. If it is not infrastructure code, rename it or move it out of the scanned tree."
    ),
    help_uri="https://www.checkov.io/2.Basics/CLI%20Command%20Reference.html",
)


def checkov_bin(context: ScanContext | None = None) -> Path:
    return tool_venv.tool_bin(context, "checkov_bin", "PANOPTICA_CHECKOV_BIN", DEFAULT_BIN)


def installed_version(binary: Path) -> str:
    return tool_venv.installed_version(binary, "checkov")


class CheckovScanner:
    name = "checkov"
    # checkov has ~1,250 checks: each finding's Rule is built from the check it reports. IAC-PARSE is ours.
    rules = (PARSE_RULE,)

    @property
    def version(self) -> str:
        """checkov's version, our severity table's and our handling's revisions: a change to any rescans all."""
        return (
            f"{installed_version(checkov_bin())}"
            f"+severity.{checkov_severity.REVISION}.handling.{HANDLING_REVISION}"
        )

    async def scan(self, context: ScanContext) -> list[RawFinding]:
        binary = checkov_bin(context)
        if not (binary.is_file() and os.access(binary, os.X_OK)):
            log.warning("checkov executable not found at %s", binary)
            raise ScannerError("checkov is not installed on this server (run `make checkov`)")
        root = Path(context.root).resolve()
        if not root.is_dir():
            raise ScannerError("the repository to scan is not a directory")
        output = await run(binary, root, context.timeout_seconds, context.memory_limit_bytes)
        reports = parse_reports(output)
        unparsed = unreported_files(reports, root)
        return findings_from(reports, root) + parse_error_findings(reports, unparsed, root)


def command(binary: Path, root: Path) -> list[str]:
    # `--directory=` (not `-d DIR`): checkov would read DIR/.checkov.yaml, a file the repository controls.
    # No --quiet: with it, checkov's JSON gives the number of files it could not parse but not their names, and
    # omits passed checks, which show that an always-checked file was read. (806 generated files: 132 MB of JSON.)
    return [
        str(binary),
        f"--directory={root}",
        "--skip-download",
        "--output=json",
        "--compact",  # no code blocks
        "--framework",
        *FRAMEWORKS,
    ]


# --- the memory bound: resident memory of checkov's whole session, sampled from /proc -----------------------


def session_of(pid: str) -> int | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None  # gone meanwhile, or not ours to read
    return int(fields[3]) if len(fields) > 3 else None  # state ppid pgrp session


def session_members(session: int) -> list[int]:
    """Every process of the session, whatever process group it moved to (checkov's children included)."""
    try:
        pids = [name for name in os.listdir("/proc") if name.isdigit()]
    except OSError:
        return []
    return [int(pid) for pid in pids if session_of(pid) == session]


def resident_bytes(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, IndexError, ValueError):
        return 0


def session_resident_bytes(session: int) -> int:
    """The sum of the session's resident sets. Pages shared between processes count once per process: an
    overestimate, so the bound is kept, never exceeded unseen."""
    return sum(resident_bytes(pid) for pid in session_members(session))


def kill_session(session: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(session, signal.SIGKILL)
    for pid in session_members(session):  # a member that left the process group
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


@dataclass
class MemoryWatch:
    limit: int
    peak: int = 0
    exceeded: bool = False


async def watch_memory(session: int, watch: MemoryWatch) -> None:
    """Kill the session once its resident memory exceeds the bound; runs until cancelled."""
    while True:
        used = session_resident_bytes(session)
        watch.peak = max(watch.peak, used)
        if used > watch.limit:
            watch.exceeded = True
            kill_session(session)
            return
        await asyncio.sleep(SAMPLE_SECONDS)


def memory_error(watch: MemoryWatch) -> ScannerError:
    return ScannerError(
        f"checkov used more than its memory bound ({watch.limit // MiB} MiB resident, memory_limit_bytes) "
        f"and was stopped: its report would be incomplete"
    )


async def run(binary: Path, root: Path, timeout: float, memory_limit: int) -> bytes:
    """checkov's stdout. Raises ScannerError on timeout, a crash, the memory bound, or signs of lost work."""
    workdir = Path(tempfile.mkdtemp(prefix="panoptica-checkov-"))  # private (0700): cwd, HOME, TMPDIR
    try:
        stdout_path, stderr_path = workdir / "stdout.json", workdir / "stderr.txt"
        env = {
            **ENVIRONMENT,
            "PATH": f"{binary.parent}:/usr/local/bin:/usr/bin:/bin",
            "HOME": str(workdir),
            "TMPDIR": str(workdir),
        }
        watch = MemoryWatch(limit=memory_limit)
        with open(stdout_path, "wb") as stdout, open(stderr_path, "wb") as stderr:
            process = await asyncio.create_subprocess_exec(
                *command(binary, root),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=stdout,
                stderr=stderr,
                cwd=workdir,
                env=env,
                start_new_session=True,  # its own session and group (id = its pid): the unit we bound and kill
            )
            watchdog = asyncio.create_task(watch_memory(process.pid, watch))
            try:
                returncode = await asyncio.wait_for(process.wait(), timeout)
            except TimeoutError:
                if watch.exceeded:
                    raise memory_error(watch) from None
                raise ScannerError(f"checkov timed out after {timeout:g} s") from None
            finally:
                watchdog.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watchdog
                kill_session(process.pid)  # timed out, cancelled, or a child outlived checkov
                if process.returncode is None:
                    await process.wait()
        if watch.exceeded:
            raise memory_error(watch)
        log.debug("checkov exited %s, peak resident %d MiB", process.returncode, watch.peak // MiB)
        return read_output(returncode, stdout_path, stderr_path)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def read_output(returncode: int, stdout_path: Path, stderr_path: Path) -> bytes:
    with open(stderr_path, "rb") as stderr:  # checkov's own diagnostics: classified, never passed on
        trouble = stderr_trouble(line.decode("utf-8", "replace") for line in stderr)
    if returncode < 0:
        name = signal.Signals(-returncode).name if -returncode in signal.valid_signals() else -returncode
        hint = (
            " (not by our memory bound: the system may be out of memory)"
            if -returncode == signal.SIGKILL
            else ""
        )
        raise ScannerError(f"checkov was killed by signal {name}{hint}")
    if trouble:
        raise ScannerError(trouble)
    if returncode not in (0, 1):  # 1: checks failed; 2: checkov caught a crash of its own
        raise ScannerError(f"checkov failed (exit code {returncode})")
    if stdout_path.stat().st_size > MAX_OUTPUT_BYTES:
        raise ScannerError(f"checkov's output is larger than {MAX_OUTPUT_BYTES // MiB} MiB")
    return stdout_path.read_bytes()


# --- stderr: signs that checkov lost work and still exited as usual -----------------------------------------

# checkov's log records: "2026-12-01 10:57:11,401 [MainThread  ] [ERROR]  message".
LOG_RECORD = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} \[[^\]]*\] \[(\w+)\]\s*(.*)")
MEMORY_ERROR = re.compile(r"(?:^|[\s:(])MemoryError\b")
# Records that mean results were dropped (checkov 3.3.30): a task of the parallel runner raised, a framework's
# runner crashed (its report is replaced by an empty one), a check raised on a resource, the main catch-all.
LOST_WORK = {
    "Failed to invoke function": "a checkov worker task failed",
    "Failed to create report for": "a checkov framework runner crashed",
    "Failed to run check": "a checkov check crashed on a resource",
    "Exception traceback:": "checkov crashed",
}
# Python's own report of an uncaught exception outside checkov's logging: a forked process or a thread died.
UNCAUGHT = (
    (re.compile(r"^Process \S+:\s*$"), "a checkov worker process crashed"),
    (re.compile(r"^Exception in thread "), "a checkov thread crashed"),
    (re.compile(r"^Fatal Python error"), "checkov's interpreter failed"),
    (re.compile(r"^Killed\s*$"), "a checkov process was killed"),
)
TRACEBACK = "Traceback (most recent call last):"


def stderr_trouble(lines: Iterable[str]) -> str | None:
    """The first sign of lost work in checkov's stderr, as a reason; None when there is none. A traceback that
    belongs to a log record is that record's detail (checkov logs tracebacks for files it could not parse: those
    become IAC-PARSE findings); a traceback before any record is an uncaught exception. Nothing of a line is
    quoted in the reason (log lines can carry file content)."""
    in_record = False
    for line in lines:
        if MEMORY_ERROR.search(line):
            return "checkov ran out of memory (MemoryError): its report would be incomplete"
        record = LOG_RECORD.match(line)
        if record:
            in_record = True
            for prefix, reason in LOST_WORK.items():
                if record.group(2).startswith(prefix):
                    return f"{reason}: its report would be incomplete"
            continue
        for pattern, reason in UNCAUGHT:
            if pattern.match(line):
                return f"{reason}: its report would be incomplete"
        if line.startswith(TRACEBACK) and not in_record:
            return "checkov printed an uncaught exception: its report would be incomplete"
    return None


# --- checkov's JSON -------------------------------------------------------------------------------------------

KEPT_FIELDS = ("check_id", "check_name", "file_path", "file_line_range", "resource", "guideline")


def trimmed(record: dict) -> dict:
    """A check record reduced, while parsing, to the fields we use: code blocks and evaluated values (maybe
    secrets) never live on in our process, and the passed checks of a large repository cost little."""
    if "check_id" in record and "check_result" in record:
        return {name: record[name] for name in KEPT_FIELDS if name in record}
    return record


def parse_reports(output: bytes) -> list[dict]:
    """One report, a list of reports, or a bare summary when nothing was scanned: always a list of reports."""
    try:
        data = json.loads(output, object_hook=trimmed)
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


# --- completeness: files that surely have checks must be in their framework's report -----------------------

# checkov skips these directories (CKV_IGNORED_DIRECTORIES' default) and anything whose name starts with ".".
CHECKOV_SKIPS = {"node_modules", ".terraform", ".serverless"}
CANARY_BYTES = 256 * 1024
MAX_PARSE_CHECK_BYTES = 8 * MiB


@dataclass(frozen=True)
class Canary:
    """Files that checkov checks whenever it reads them: a resource or document that several checks apply to."""

    framework: str
    names: re.Pattern  # the file name
    matches: Callable[[str], bool]  # the file's text
    why: str


def all_of(*patterns: str) -> Callable[[str], bool]:
    compiled = [re.compile(pattern, re.MULTILINE) for pattern in patterns]
    return lambda text: all(pattern.search(text) for pattern in compiled)


ARM_STORAGE_ACCOUNT = re.compile(r'"type"\s*:\s*"Microsoft\.Storage/storageAccounts"')


def arm_storage_account(text: str) -> bool:
    """A top-level storage account of an ARM template (one in a nested deployment's template may go unchecked)."""
    if "deploymentTemplate.json#" not in text:
        return False
    try:
        template = json.loads(text)
    except (
        ValueError
    ):  # checkov lists it as a parse error or skips it (a trailing comma): IAC-PARSE either way
        return bool(ARM_STORAGE_ACCOUNT.search(text))
    resources = template.get("resources") if isinstance(template, dict) else None
    return isinstance(resources, list) and any(
        isinstance(item, dict) and item.get("type") == "Microsoft.Storage/storageAccounts"
        for item in resources
    )


CANARIES = (
    Canary("dockerfile", re.compile(r"Dockerfile"), all_of(r"^\s*FROM\s+\S"), "a Dockerfile"),
    Canary(
        "kubernetes",
        re.compile(r".+\.ya?ml"),
        all_of(
            r"^apiVersion:\s*\S",
            r"^kind:\s*(Pod|Deployment|DaemonSet|StatefulSet|Job)\s*$",
            r"^metadata:\s*$",
            r"^\s+containers:\s*$",
        ),
        "a Kubernetes workload",
    ),
    Canary(
        "terraform",
        re.compile(r".+\.tf"),
        all_of(r'^resource\s+"(aws_s3_bucket|azurerm_storage_account|google_storage_bucket)"\s+"'),
        "a storage bucket in Terraform",
    ),
    Canary("arm", re.compile(r".+\.json"), arm_storage_account, "a storage account in an ARM template"),
    Canary(
        "cloudformation",
        re.compile(r".+\.(ya?ml|json|template)"),
        all_of(r"AWSTemplateFormatVersion", r"""^\s+"?Type"?\s*:\s*["']?AWS::S3::Bucket["']?\s*,?\s*$"""),
        "an S3 bucket in a CloudFormation template",
    ),
)


def scanned_files(root: Path) -> Iterator[Path]:
    """The files checkov walks into: not in hidden or ignored directories, not hidden, not links."""
    for directory, subdirectories, files in os.walk(root):
        subdirectories[:] = [d for d in subdirectories if d not in CHECKOV_SKIPS and not d.startswith(".")]
        for name in files:
            path = Path(directory) / name
            if not name.startswith(".") and not path.is_symlink():
                yield path


def canaries(root: Path) -> Iterator[tuple[Canary, str]]:
    for path in scanned_files(root):
        candidates = [canary for canary in CANARIES if canary.names.fullmatch(path.name)]
        if not candidates:
            continue
        try:
            with open(path, "rb") as file:
                text = file.read(CANARY_BYTES).decode("utf-8", "replace")
        except OSError:
            continue
        if "{{" in text:  # a Helm or Go template: not the document it looks like
            continue
        for canary in candidates:
            if canary.matches(text):
                yield canary, path.relative_to(root).as_posix()


def reported_files(reports: list[dict], root: Path) -> dict[str, set[str]]:
    """Per framework, the files its report mentions: in a check (passed, failed or skipped) or a parse error."""
    seen: dict[str, set[str]] = {}
    for report in reports:
        files = seen.setdefault(str(report.get("check_type") or ""), set())
        results = report["results"]
        for kind in ("passed_checks", "failed_checks", "skipped_checks"):
            for check in results.get(kind) or []:
                if isinstance(check, dict):
                    files.add(relative_path(str(check.get("file_path") or ""), root))
        files.update(relative_path(str(path), root) for path in results.get("parsing_errors") or [])
    return seen


class TolerantLoader(yaml.SafeLoader):
    """YAML with any tag (CloudFormation's !Ref, !Sub…) read as plain data: we ask only "does it parse"."""


TolerantLoader.add_multi_constructor("!", lambda loader, suffix, node: None)


def parses(path: Path) -> bool:
    """Whether the file parses as the JSON or YAML its name says (other formats: assumed to)."""
    try:
        if path.stat().st_size > MAX_PARSE_CHECK_BYTES:
            return True  # too large to judge here: a missing report stays an error
        text = path.read_bytes().decode("utf-8")
        if path.suffix == ".json":
            json.loads(text)
        elif path.suffix in (".yaml", ".yml", ".template"):
            for _ in yaml.load_all(text, Loader=TolerantLoader):
                pass
    except (OSError, UnicodeDecodeError, ValueError, yaml.YAMLError):
        return False
    return True


def unreported_files(reports: list[dict], root: Path) -> list[tuple[str, str]]:
    """Files that surely have checks but are missing from their framework's report, as (path, format) when
    they do not parse (checkov skips a Kubernetes file that is not YAML without listing it as a parse error).
    Raises ScannerError when such a file parses: then checkov lost it."""
    seen = reported_files(reports, root)
    unparsed, lost = [], []
    for canary, path in canaries(root):
        if path in seen.get(canary.framework, ()):
            continue
        if parses(root / path):
            lost.append((canary, path))
        else:
            unparsed.append((path, "JSON" if path.endswith(".json") else "YAML"))
    if lost:
        canary, path = lost[0]
        more = f" and {len(lost) - 1} more file(s)" if len(lost) > 1 else ""
        raise ScannerError(
            f"checkov's {canary.framework} report lacks {path}{more} ({canary.why}, which checkov always "
            f"checks): its report is incomplete"
        )
    return unparsed


# --- findings -------------------------------------------------------------------------------------------------


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


def parse_error_findings(
    reports: list[dict], unparsed: list[tuple[str, str]], root: Path
) -> list[RawFinding]:
    """One IAC-PARSE finding per file checkov could not parse: those its reports list (naming the frameworks
    that tried: a broken JSON file is tried as ARM and as CloudFormation) and those it skipped without a word
    (`unreported_files`). The message never quotes the file or the parser's error."""
    frameworks: dict[str, set[str]] = {}
    for report in reports:
        for file_path in report["results"].get("parsing_errors") or []:
            path = relative_path(str(file_path), root)
            if path:
                frameworks.setdefault(path, set()).add(str(report.get("check_type") or "checkov"))
    messages = {
        path: f"checkov could not parse this file (as {', '.join(sorted(names))}), so none of its checks ran on it"
        for path, names in frameworks.items()
    }
    for path, file_format in unparsed:
        messages.setdefault(
            path, f"checkov skipped this file: it is not valid {file_format}, so none of its checks ran on it"
        )
    return [
        RawFinding(rule=PARSE_RULE, path=path, message=message, identity="unparsed")  # one per file
        for path, message in sorted(messages.items())
    ]


SCANNER = CheckovScanner()
