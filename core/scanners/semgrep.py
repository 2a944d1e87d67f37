"""Code vulnerabilities (SAST): Semgrep's open-source engine with our rule pack, run as a subprocess from its own
virtual environment.

semgrep (LGPL-2.1, ~390 MB installed) is installed by the Makefile into `.venv-semgrep`, pinned in
tools/semgrep-requirements.txt (PANOPTICA_SEMGREP_BIN, or the `semgrep_bin` option, overrides the path). Only our
rules run (`rules/semgrep/`, core/scanners/sast_rules.py): the registry's rules are under a license that forbids
their use in a hosted product, and fetching them needs the network. Each run:

- is offline: `--metrics=off`, `--disable-version-check`, `--config` naming our rules directory only (so no
  `.semgrep.yml` of the repository is read, and nothing is fetched), proxies pointed at a closed port;
- gets a minimal environment (an allow-list, never our service's secrets) and a private, empty working
  directory, HOME and TMPDIR (no `~/.semgrep/settings.yml`, no login token);
- is not steered by the repository (suppression is a reviewed decision in the console): its `.semgrepignore`
  files, at any depth, are ignored (`--x-ignore-semgrepignore-files`; semgrep 1.185 otherwise honours them, a
  root one with `*.cs` hides every C# file: tested), `nosemgrep` comments too (`--disable-nosem`), and so is
  `.gitignore` (`--no-git-ignore`);
- is bounded: `--timeout` per rule and file, `--max-memory` per file, `--jobs` from the scan's CPU budget, a
  whole-run timeout that kills the process group, and the resident-memory watchdog checkov uses (summed over the
  session, core/scanners/checkov.py).

Complete or say so:
- semgrep skips files above `--max-target-bytes` without a word in its JSON: files of a scanned language above
  MAX_TARGET_BYTES become CODE-PARSE findings ("too large"); every other file of a scanned language must appear in
  `paths.scanned` (or in an error), else ScannerError;
- per-file errors (syntax errors, partial parsing, a rule that timed out or ran out of memory on the file) become
  one CODE-PARSE finding per file, LOW: rules did not (all) run there (an error type we do not know, on a file of
  the repository, too: named, never quoted). An error that names no file of the repository (a rule that failed,
  a fatal error) is a ScannerError;
- killed by a signal (Semgrep's troubleshooting page: -9 / -11 under memory pressure), an exit status other than
  0/1, output that is not semgrep's JSON: ScannerError, so the run is PARTIAL and previous findings stay open.

Findings are category CODE. The fingerprint's identity is the rule plus the matched lines' content (whitespace
collapsed, keyed-hashed: a match of the hard-coded-key rules holds the key) and its ordinal among identical
matches in the file, so moving code keeps its fingerprint. Semgrep's `extra.lines` says "requires login" in the
open-source CLI: the lines are read from the file itself, and never copied into a message.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hmac
import json
import logging
import os
import re
import shutil
import signal
import tempfile
from collections import Counter
from dataclasses import dataclass
from hashlib import sha256
from pathlib import Path

from core.scanners import sast_rules, tool_venv
from core.scanners.checkov import MemoryWatch, kill_session, watch_memory
from core.scans.scanner import RawFinding, Rule, ScanContext, ScannerError

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_BIN = ROOT / ".venv-semgrep" / "bin" / "semgrep"
CLOSED_PORT = "http://127.0.0.1:9"  # the discard port: connections are refused at once
ENVIRONMENT = {
    "LANG": "C.UTF-8",
    "PYTHONNOUSERSITE": "1",
    "SEMGREP_SEND_METRICS": "off",
    "SEMGREP_ENABLE_VERSION_CHECK": "0",
    "SEMGREP_USER_AGENT_APPEND": "panoptica",
    **{name: CLOSED_PORT for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY")},
    "NO_PROXY": "",
    "no_proxy": "",
    "GIT_TERMINAL_PROMPT": "0",
}
MiB = 1024**2
MAX_OUTPUT_BYTES = 256 * MiB
MAX_TARGET_BYTES = 4 * MiB  # larger source files are generated or vendored bundles: reported, not scanned
FILE_TIMEOUT_SECONDS = 20  # per rule and file (semgrep's default is 5 s)
# Our handling of semgrep's output (not the rules): part of the version, so a change rescans every repository.
HANDLING_REVISION = "1"
# Semgrep's CLI reference, "exit codes": 0 OK, 1 findings (only with --error), 2 fatal error, 3 invalid target
# code (with --strict), 4 invalid pattern, 5 unparseable YAML, 7 invalid rule, 8 unknown language, ...
EXIT_CODES = {2: "a fatal error", 3: "invalid code", 4: "an invalid pattern", 5: "unparseable YAML",
              7: "an invalid rule", 8: "an unknown language", 13: "an invalid API key"}  # fmt: skip

PARSE_RULE = Rule(
    id="CODE-PARSE",
    title="Source file that the code scanner could not (fully) analyse",
    severity="LOW",
    category="CODE",
    rationale=(
        "Semgrep could not parse this file, or some of our rules timed out or ran out of memory on it, or it is "
        "larger than the scanner's limit: vulnerabilities in it may be unknown. Code that does not parse may "
        "also use syntax newer than the parser's."
    ),
    remediation=(
        "Check that the file is valid source code for its language (run `semgrep scan --config rules/semgrep "
        "FILE` to see the parser's error). A generated or vendored file can be moved out of the repository; a "
        "very large file can be split."
    ),
    help_uri="https://semgrep.dev/docs/troubleshooting/semgrep",
)


def semgrep_bin(context: ScanContext | None = None) -> Path:
    return tool_venv.tool_bin(context, "semgrep_bin", "PANOPTICA_SEMGREP_BIN", DEFAULT_BIN)


def installed_version(binary: Path) -> str:
    return tool_venv.installed_version(binary, "semgrep")


def cpu_budget(context: ScanContext) -> int:
    """Semgrep's --jobs: the scan's CPU budget (option `cpus`, PANOPTICA_SEMGREP_JOBS), else this host's CPUs
    shared among the scans that run at once (PANOPTICA_SCAN_CONCURRENCY, 2 by default, as the service's)."""
    configured = context.options.get("cpus") or os.environ.get("PANOPTICA_SEMGREP_JOBS")
    if configured:
        return max(1, int(configured))
    available = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    concurrency = max(1, int(os.environ.get("PANOPTICA_SCAN_CONCURRENCY") or 2))
    return max(1, available // concurrency)


class SemgrepScanner:
    name = "semgrep"

    @property
    def version(self) -> str:
        """semgrep's version, our rule pack's digest and our handling's revision: a change to any rescans all."""
        return f"{installed_version(semgrep_bin())}+rules.{sast_rules.digest()}.handling.{HANDLING_REVISION}"

    @property
    def rules(self) -> tuple[Rule, ...]:
        """CODE-PARSE and every rule of the pack."""
        return (PARSE_RULE, *(rule.rule for rule in sast_rules.catalog().values()))

    async def scan(self, context: ScanContext) -> list[RawFinding]:
        binary = semgrep_bin(context)
        if not (binary.is_file() and os.access(binary, os.X_OK)):
            log.warning("semgrep executable not found at %s", binary)
            raise ScannerError("semgrep is not installed on this server (run `make semgrep`)")
        root = Path(context.root).resolve()
        if not root.is_dir():
            raise ScannerError("the repository to scan is not a directory")
        rules_dir = Path(context.options.get("semgrep_rules") or sast_rules.RULES_DIR)
        expected, too_large = source_files(root, sast_rules.extensions(rules_dir))
        if not expected and not too_large:
            return []  # no file of a language we have rules for: nothing to run
        jobs = cpu_budget(context)
        settings = RunSettings(
            rules_dir=rules_dir,
            jobs=jobs,
            file_timeout=int(context.options.get("semgrep_file_timeout") or FILE_TIMEOUT_SECONDS),
            max_memory_mib=max(256, context.memory_limit_bytes * 3 // 4 // MiB),
        )
        output = await run(binary, root, settings, context.timeout_seconds, context.memory_limit_bytes)
        report = parse_report(output)
        problems = file_problems(report, root)
        check_complete(report, root, expected, problems)
        catalog = sast_rules.catalog(rules_dir)
        return findings_from(report, root, catalog, context.secret_key) + parse_findings(problems, too_large)


@dataclass(frozen=True)
class RunSettings:
    rules_dir: Path
    jobs: int
    file_timeout: int
    max_memory_mib: int


def command(binary: Path, root: Path, settings: RunSettings) -> list[str]:
    return [
        str(binary),
        "scan",
        f"--config={settings.rules_dir}",  # ours only: no registry, no .semgrep.yml of the repository
        "--json",
        "--metrics=off",
        "--disable-version-check",
        "--oss-only",
        "--disable-nosem",  # a `nosemgrep` comment in the repository hides nothing
        "--x-ignore-semgrepignore-files",  # nor does its .semgrepignore (at any depth)
        "--no-git-ignore",  # nor its .gitignore
        f"--timeout={settings.file_timeout}",
        "--timeout-threshold=0",  # every rule runs on every file: one slow rule does not skip the others
        f"--max-memory={settings.max_memory_mib}",
        f"--max-target-bytes={MAX_TARGET_BYTES}",
        f"--jobs={settings.jobs}",
        "--quiet",
        "--",
        str(root),
    ]


async def run(binary: Path, root: Path, settings: RunSettings, timeout: float, memory_limit: int) -> bytes:
    """semgrep's stdout. Raises ScannerError on timeout, a crash, the memory bound or an unusable exit status."""
    workdir = Path(tempfile.mkdtemp(prefix="panoptica-semgrep-"))  # private (0700): cwd, HOME, TMPDIR
    try:
        stdout_path, stderr_path = workdir / "stdout.json", workdir / "stderr.txt"
        env = {
            **ENVIRONMENT,
            "PATH": f"{binary.parent}:/usr/local/bin:/usr/bin:/bin",
            "HOME": str(workdir),
            "TMPDIR": str(workdir),
            "XDG_CONFIG_HOME": str(workdir),
            "XDG_CACHE_HOME": str(workdir),
        }
        watch = MemoryWatch(limit=memory_limit)
        with open(stdout_path, "wb") as stdout, open(stderr_path, "wb") as stderr:
            process = await asyncio.create_subprocess_exec(
                *command(binary, root, settings),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=stdout,
                stderr=stderr,
                cwd=workdir,
                env=env,
                start_new_session=True,  # its own session and group: the unit we bound and kill
            )
            watchdog = asyncio.create_task(watch_memory(process.pid, watch))
            try:
                returncode = await asyncio.wait_for(process.wait(), timeout)
            except TimeoutError:
                if watch.exceeded:
                    raise memory_error(watch) from None
                raise ScannerError(f"semgrep timed out after {timeout:g} s") from None
            finally:
                watchdog.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watchdog
                kill_session(process.pid)  # timed out, cancelled, or a child outlived semgrep
                if process.returncode is None:
                    await process.wait()
        if watch.exceeded:
            raise memory_error(watch)
        log.debug("semgrep exited %s, peak resident %d MiB", process.returncode, watch.peak // MiB)
        return read_output(returncode, stdout_path)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def memory_error(watch: MemoryWatch) -> ScannerError:
    return ScannerError(
        f"semgrep used more than its memory bound ({watch.limit // MiB} MiB resident, memory_limit_bytes) "
        f"and was stopped: its report would be incomplete"
    )


def read_output(returncode: int, stdout_path: Path) -> bytes:
    if returncode < 0:
        name = signal.Signals(-returncode).name if -returncode in signal.valid_signals() else -returncode
        hint = " (the system may be out of memory)" if -returncode in (signal.SIGKILL, signal.SIGSEGV) else ""
        raise ScannerError(f"semgrep was killed by signal {name}{hint}")
    if returncode not in (0, 1):
        what = EXIT_CODES.get(returncode, "an error")
        raise ScannerError(f"semgrep failed with {what} (exit code {returncode})")
    if stdout_path.stat().st_size > MAX_OUTPUT_BYTES:
        raise ScannerError(f"semgrep's output is larger than {MAX_OUTPUT_BYTES // MiB} MiB")
    return stdout_path.read_bytes()


def parse_report(output: bytes) -> dict:
    try:
        report = json.loads(output)
    except ValueError:
        raise ScannerError("semgrep printed no parseable JSON") from None
    if not (
        isinstance(report, dict)
        and isinstance(report.get("results"), list)
        and isinstance(report.get("errors"), list)
        and isinstance((report.get("paths") or {}).get("scanned", []), list)
    ):
        raise ScannerError("semgrep printed JSON of an unexpected shape")
    return report


def relative_path(file_path: str, root: Path) -> str:
    prefix = str(root).rstrip("/") + "/"
    if file_path.startswith(prefix):
        file_path = file_path[len(prefix) :]
    return file_path.lstrip("/")


# --- completeness -------------------------------------------------------------------------------------------


def source_files(root: Path, extensions: frozenset[str]) -> tuple[set[str], dict[str, int]]:
    """The files semgrep must scan (a scanned language, not in .git, not a link), and those too large for it."""
    expected: set[str] = set()
    too_large: dict[str, int] = {}
    for directory, subdirectories, files in os.walk(root):
        subdirectories[:] = [d for d in subdirectories if d != ".git"]
        for name in files:
            path = Path(directory) / name
            if path.suffix.lstrip(".") not in extensions or path.is_symlink() or not path.is_file():
                continue
            relative = path.relative_to(root).as_posix()
            size = path.stat().st_size
            if size > MAX_TARGET_BYTES:
                too_large[relative] = size
            elif size > 0:
                expected.add(relative)
    return expected, too_large


ERROR_KINDS = {
    "Timeout": "some rules timed out on it",
    "OutOfMemory": "some rules ran out of memory on it",
    "PartialParsing": "parts of it could not be parsed",
    "Syntax error": "it could not be parsed",
    "Lexical error": "it could not be parsed",
    "Other syntax error": "it could not be parsed",
}


def error_kind(error: dict) -> str:
    kind = error.get("type")
    if isinstance(kind, list) and kind:  # ["PartialParsing", [locations]]
        kind = kind[0]
    return str(kind or "error")


def safe_kind(kind: str) -> str:
    """semgrep's error type, never anything else of the error (its messages can quote source)."""
    return re.sub(r"[^A-Za-z0-9 _-]", "", kind)[:60] or "error"


def file_problems(report: dict, root: Path) -> dict[str, set[str]]:
    """Per file, what went wrong there (a reason each). An error that names no file: ScannerError."""
    problems: dict[str, set[str]] = {}
    for error in report["errors"]:
        if not isinstance(error, dict):
            raise ScannerError("semgrep printed JSON of an unexpected shape")
        kind = error_kind(error)
        path = error.get("path")
        if not path:
            spans = error.get("spans") or []
            path = spans[0].get("file") if spans and isinstance(spans[0], dict) else None
        inside = bool(path) and str(path).startswith(str(root).rstrip("/") + "/")
        if not inside:
            # A rule (its path is our rule file) or the engine failed: which findings are missing is unknown.
            # Nothing of the message is quoted (it can carry source text).
            raise ScannerError(
                f"semgrep reported an error ({safe_kind(kind)}): its report would be incomplete"
            )
        reason = ERROR_KINDS.get(kind) or f"semgrep reported an error on it ({safe_kind(kind)})"
        problems.setdefault(relative_path(str(path), root), set()).add(reason)
    return problems


def check_complete(report: dict, root: Path, expected: set[str], problems: dict[str, set[str]]) -> None:
    scanned = {relative_path(str(p), root) for p in (report.get("paths") or {}).get("scanned", [])}
    missing = sorted(expected - scanned - problems.keys())
    if missing:
        more = f" and {len(missing) - 1} more file(s)" if len(missing) > 1 else ""
        raise ScannerError(f"semgrep did not scan {missing[0]}{more}: its report is incomplete")


# --- findings -------------------------------------------------------------------------------------------------


def rule_id_of(check_id: str) -> str:
    """semgrep prefixes a rule's id with its config path, relative to the working directory ("tmp.x.CODE-CS-001")."""
    return check_id.rsplit(".", 1)[-1]


@functools.lru_cache(maxsize=64)
def file_lines(path: Path) -> tuple[str, ...]:
    try:
        return tuple(path.read_bytes().decode("utf-8", "replace").splitlines())
    except OSError:
        return ()


def matched_text(root: Path, path: str, start: int, end: int) -> str:
    """The matched lines, whitespace collapsed: what stays when code moves or is re-indented."""
    lines = file_lines(root / path)
    return " ".join(" ".join(lines[start - 1 : end]).split())[:4000]


def findings_from(
    report: dict, root: Path, catalog: dict[str, sast_rules.SastRule], key: bytes
) -> list[RawFinding]:
    findings = []
    seen: Counter = Counter()
    results = sorted(
        (r for r in report["results"] if isinstance(r, dict)),
        key=lambda r: (str(r.get("path")), (r.get("start") or {}).get("offset", 0), str(r.get("check_id"))),
    )
    try:
        for result in results:
            rule_id = rule_id_of(str(result.get("check_id") or ""))
            rule = catalog.get(rule_id)
            if rule is None:
                raise ScannerError("semgrep reported a rule that is not in our rule pack")
            path = relative_path(str(result.get("path") or ""), root)
            start = int((result.get("start") or {}).get("line") or 1)
            end = max(start, int((result.get("end") or {}).get("line") or start))
            content = matched_text(root, path, start, end)
            # Keyed: the matched line may hold a hard-coded key (CWE-321); the fingerprint must not reveal it.
            digest = hmac.new(key, content.encode(), sha256).hexdigest()
            seen[(rule_id, path, digest)] += 1
            ordinal = seen[(rule_id, path, digest)]
            findings.append(
                RawFinding(
                    rule=rule.rule,
                    path=path,
                    line=start,
                    end_line=end,
                    message=f"{rule.title} ({', '.join(rule.cwe)})",  # never the code
                    identity=f"{digest}#{ordinal}",
                )
            )
    finally:
        file_lines.cache_clear()
    return findings


def parse_findings(problems: dict[str, set[str]], too_large: dict[str, int]) -> list[RawFinding]:
    """One CODE-PARSE finding per file that was not (fully) analysed. Never quotes the file or semgrep."""
    messages = {
        path: f"semgrep could not fully analyse this file: {'; '.join(sorted(reasons))}"
        for path, reasons in problems.items()
    }
    for path, size in too_large.items():
        messages[path] = (
            f"not scanned for code vulnerabilities: {size // MiB} MiB, above the scanner's limit of "
            f"{MAX_TARGET_BYTES // MiB} MiB"
        )
    return [
        RawFinding(rule=PARSE_RULE, path=path, message=message, identity="not-analysed")
        for path, message in sorted(messages.items())
    ]


SCANNER = SemgrepScanner()
