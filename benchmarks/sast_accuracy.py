"""SAST accuracy, scored the way the OWASP Benchmark project scores tools, on a labelled corpus generated here.

For each weakness class and language the corpus has four kinds of test case, each a file of its own:
- `vulnerable`: untrusted input (a request parameter) reaches the dangerous API, or the weak API is used;
- `safe`: the same feature done safely (a parameter, an argument list, a fixed URL, SHA-256, verification on);
- `sanitized` (data-flow classes): the input passes a sanitizer first (int parsing, basename, an allow-list,
  an encoder, a local-URL check);
- `dead`: the vulnerable statement inside a branch that can never run (`if False`): not exploitable, so it is
  labelled safe, as the OWASP Benchmark does; a flow-insensitive engine reports it (a false positive we print).

Per weakness class (CWE): true-positive rate (vulnerable files reported), false-positive rate (safe, sanitized and
dead files reported) and TPR - FPR (the Benchmark's score, 0 = guessing, 1 = perfect); a file counts as reported when
a finding of one of the class's rules lands in it. Plus time, files and MB/s of our scanner (real semgrep, our
rules, the production settings). For Python, bandit (Apache-2.0; installed by this script into a temporary
virtualenv, never a dependency) on the same Python files, side by side, by bandit test ids for the class.

    .venv/bin/python benchmarks/sast_accuracy.py [--copies 3] [--no-bandit]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
import venv
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.scanners import sast_rules
from core.scanners.semgrep import SCANNER
from core.scans.scanner import ScanContext

BANDIT = "bandit==1.9.4"
EXT = {"python": "py", "javascript": "js", "java": "java", "csharp": "cs", "go": "go"}
PREFIX = {"python": "PY", "javascript": "JS", "java": "JAVA", "csharp": "CS", "go": "GO"}
# The class's CWE (what decides which of our rules count) and bandit's tests for it.
CLASSES = {
    "sqli": ("CWE-89", {"B608"}),
    "cmdi": ("CWE-78", {"B602", "B604", "B605", "B609"}),
    "path": ("CWE-22", set()),
    "ssrf": ("CWE-918", {"B310"}),
    "redirect": ("CWE-601", set()),
    "deser": ("CWE-502", {"B301", "B302", "B506"}),
    "hash": ("CWE-328", {"B303", "B324"}),
    "tls": ("CWE-295", {"B501", "B323"}),
}

# (vulnerable, safe, sanitized or None): one statement each, with `v` the request input where it applies.
PYTHON = {
    "sqli": (
        'cursor.execute("SELECT * FROM t WHERE n = \'" + v + "\'")',
        'cursor.execute("SELECT * FROM t WHERE n = %s", (v,))',
        'cursor.execute("SELECT * FROM t WHERE id = " + str(int(v)))',
    ),
    "cmdi": (
        'subprocess.run("ping -c 1 " + v, shell=True)',
        'subprocess.run(["ping", "-c", "1", v])',
        'subprocess.run("ping -c 1 " + shlex.quote(v), shell=True)',
    ),
    "path": (
        'open("/srv/files/" + v).read()',
        'open("/srv/files/index.txt").read()',
        'open(os.path.join("/srv/files", os.path.basename(v))).read()',
    ),
    "ssrf": ("requests.get(v, timeout=5)", 'requests.get("https://status.example/", timeout=5)', None),
    "redirect": ("redirect(v)", 'redirect(url_for("index"))', None),
    "deser": ("pickle.loads(v)", "json.loads(v)", None),
    "hash": ("hashlib.md5(v.encode()).hexdigest()", "hashlib.sha256(v.encode()).hexdigest()", None),
    "tls": ("requests.get(URL, verify=False, timeout=5)", "requests.get(URL, timeout=5)", None),
}
JAVASCRIPT = {
    "sqli": (
        'pool.query("SELECT * FROM t WHERE n = \'" + v + "\'")',
        'pool.query("SELECT * FROM t WHERE n = $1", [v])',
        'pool.query("SELECT * FROM t WHERE id = " + parseInt(v, 10))',
    ),
    "cmdi": ('exec("ping -c 1 " + v)', 'execFile("ping", ["-c", "1", v])', None),
    "path": (
        'fs.readFileSync("/srv/files/" + v)',
        'fs.readFileSync("/srv/files/index.txt")',
        'fs.readFileSync(path.join("/srv/files", path.basename(v)))',
    ),
    "ssrf": ("fetch(v)", 'fetch("https://status.example/")', None),
    "redirect": ("res.redirect(v)", 'res.redirect("/home")', None),
    "deser": ("serialize.unserialize(v)", "JSON.parse(v)", None),
    "hash": (
        'crypto.createHash("md5").update(v).digest("hex")',
        'crypto.createHash("sha256").update(v).digest("hex")',
        None,
    ),
    "tls": ("new https.Agent({ rejectUnauthorized: false })", "new https.Agent({ ca: caPem })", None),
}
JAVA = {
    "sqli": (
        'st.executeQuery("SELECT * FROM t WHERE n = \'" + v + "\'");',
        'jdbc.query("SELECT * FROM t WHERE n = ?", mapper, v);',
        'jdbc.update("DELETE FROM t WHERE id = " + Integer.parseInt(v));',
    ),
    "cmdi": (
        'Runtime.getRuntime().exec("ping -c 1 " + v);',
        'new ProcessBuilder("ping", "-c", "1", "localhost");',
        None,
    ),
    "path": (
        'new FileInputStream("/srv/files/" + v);',
        'new FileInputStream("/srv/files/index.txt");',
        'new File("/srv/files", FilenameUtils.getName(v));',
    ),
    "ssrf": (
        "rest.getForObject(v, String.class);",
        'rest.getForObject("https://status.example/", String.class);',
        None,
    ),
    "redirect": ("response.sendRedirect(v);", 'response.sendRedirect("/home");', None),
    "deser": ("new ObjectInputStream(in).readObject();", "mapper.readValue(in, Order.class);", None),
    "hash": ('MessageDigest.getInstance("MD5");', 'MessageDigest.getInstance("SHA-256");', None),
    "tls": (
        "connection.setHostnameVerifier((h, s) -> true);",
        "connection.setHostnameVerifier(HttpsURLConnection.getDefaultHostnameVerifier());",
        None,
    ),
}
CSHARP = {
    "sqli": (
        'new SqlCommand("SELECT * FROM t WHERE n = \'" + v + "\'", conn);',
        'new SqlCommand("SELECT * FROM t WHERE n = @n", conn);',
        'new SqlCommand("SELECT * FROM t WHERE id = " + int.Parse(v), conn);',
    ),
    "cmdi": ('Process.Start("cmd.exe", "/c ping " + v);', 'Process.Start("ping", "-n 1 localhost");', None),
    "path": (
        'File.ReadAllBytes("/srv/files/" + v);',
        'File.ReadAllBytes("/srv/files/index.txt");',
        'File.ReadAllBytes(Path.Combine("/srv/files", Path.GetFileName(v)));',
    ),
    "ssrf": ("http.GetStringAsync(v);", 'http.GetStringAsync("https://status.example/");', None),
    "redirect": ("Redirect(v);", 'Redirect("/home");', None),
    "deser": ("new BinaryFormatter().Deserialize(s);", "JsonSerializer.Deserialize<Order>(s);", None),
    "hash": ("MD5.Create();", "SHA256.Create();", None),
    "tls": (
        "handler.ServerCertificateCustomValidationCallback = (m, c, ch, e) => true;",
        "handler.ServerCertificateCustomValidationCallback = (m, c, ch, e) => e == SslPolicyErrors.None;",
        None,
    ),
}
GO = {
    "sqli": (
        'db.Query("SELECT * FROM t WHERE n = \'" + v + "\'")',
        'db.Query("SELECT * FROM t WHERE n = $1", v)',
        None,
    ),
    "cmdi": (
        'exec.Command("sh", "-c", "ping -c 1 "+v).Run()',
        'exec.Command("ping", "-c", "1", "localhost").Run()',
        None,
    ),
    "path": (
        'http.ServeFile(w, r, "/srv/files/"+v)',
        'http.ServeFile(w, r, "/srv/files/index.txt")',
        'http.ServeFile(w, r, filepath.Join("/srv/files", filepath.Base(v)))',
    ),
    "ssrf": ("http.Get(v)", 'http.Get("https://status.example/")', None),
    "redirect": (
        "http.Redirect(w, r, v, http.StatusFound)",
        'http.Redirect(w, r, "/home", http.StatusFound)',
        None,
    ),
    "deser": None,  # Go's encoding packages do not instantiate arbitrary types
    "hash": ("md5.Sum([]byte(v))", "sha256.Sum256([]byte(v))", None),
    "tls": (
        "_ = &tls.Config{InsecureSkipVerify: true}",
        "_ = &tls.Config{MinVersion: tls.VersionTLS12}",
        None,
    ),
}
STATEMENTS = {"python": PYTHON, "javascript": JAVASCRIPT, "java": JAVA, "csharp": CSHARP, "go": GO}


def program(language: str, name: str, statement: str, dead: bool) -> str:
    """One request handler whose input is `v`, running the statement (or guarding it with a constant false)."""
    if language == "python":
        body = f"    if False:\n        {statement}\n" if dead else f"    {statement}\n"
        return (
            "import hashlib, json, os, pickle, shlex, subprocess\nimport requests\n"
            "from flask import request, redirect, url_for\n\n\n"
            f'def {name}():\n    v = request.args.get("v")\n{body}    return "ok"\n'
        )
    if language == "javascript":
        body = f"  if (false) {{\n    {statement};\n  }}\n" if dead else f"  {statement};\n"
        return (
            'const fs = require("fs");\nconst path = require("path");\nconst crypto = require("crypto");\n'
            'const https = require("https");\nconst { exec, execFile } = require("child_process");\n\n'
            f'app.get("/{name}", (req, res) => {{\n  const v = req.query.v;\n{body}  res.end();\n}});\n'
        )
    if language == "java":
        body = (
            f"        if (false) {{\n            {statement}\n        }}\n"
            if dead
            else f"        {statement}\n"
        )
        return (
            "import java.io.*;\nimport java.security.MessageDigest;\nimport javax.servlet.http.*;\n\n"
            f"public class {name.title().replace('_', '')} {{\n"
            "    void handle(HttpServletRequest request, HttpServletResponse response) throws Exception {\n"
            f'        String v = request.getParameter("v");\n{body}    }}\n}}\n'
        )
    if language == "csharp":
        body = (
            f"        if (false)\n        {{\n            {statement}\n        }}\n"
            if dead
            else f"        {statement}\n"
        )
        return (
            "using System.IO;\nusing System.Security.Cryptography;\nusing Microsoft.AspNetCore.Mvc;\n\n"
            f"public class {name.title().replace('_', '')}Controller : Controller\n{{\n"
            f"    public IActionResult Handle(string v)\n    {{\n{body}        return Ok();\n    }}\n}}\n"
        )
    body = f"\tif false {{\n\t\t{statement}\n\t}}\n" if dead else f"\t{statement}\n"
    return (
        'package main\n\nimport (\n\t"net/http"\n)\n\n'
        f'func {name}(w http.ResponseWriter, r *http.Request) {{\n\tv := r.URL.Query().Get("v")\n{body}}}\n'
    )


def generate(root: Path, copies: int) -> dict[str, tuple[str, str, bool]]:
    """Write the corpus; return each file's (language, class, vulnerable?)."""
    labels = {}
    for language, table in STATEMENTS.items():
        for klass, row in table.items():
            if row is None:
                continue
            vulnerable, safe, sanitized = row
            variants = [("vulnerable", vulnerable, False, True), ("safe", safe, False, False),
                        ("dead", vulnerable, True, False)]  # fmt: skip
            if sanitized:
                variants.append(("sanitized", sanitized, False, False))
            for kind, statement, dead, label in variants:
                for copy in range(copies):
                    name = f"{klass}_{kind}_{copy}"
                    relative = f"{language}/{klass}/{name}.{EXT[language]}"
                    (root / relative).parent.mkdir(parents=True, exist_ok=True)
                    (root / relative).write_text(program(language, name, statement, dead))
                    labels[relative] = (language, klass, label)
    return labels


def class_rules(klass: str, language: str) -> set[str]:
    cwe = CLASSES[klass][0]
    return {
        rule.id
        for rule in sast_rules.catalog().values()
        if cwe in rule.cwe and rule.id.startswith(f"CODE-{PREFIX[language]}-")
    }


def score(labels: dict, reported: dict[str, set[str]], match) -> dict[str, list[int]]:
    """Per class: [TP, FN, FP, TN]."""
    table: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for path, (language, klass, vulnerable) in labels.items():
        hit = match(path, language, klass, reported.get(path, set()))
        row = table[klass]
        row[(0 if hit else 1) if vulnerable else (2 if hit else 3)] += 1
    return table


def false_positives_by_kind(labels: dict, reported: dict[str, set[str]], match) -> dict[str, str]:
    """How many files of each safe kind were reported: which kind of safe code fools the scanner."""
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for path, (language, klass, vulnerable) in labels.items():
        if vulnerable:
            continue
        kind = Path(path).stem.split("_")[1]
        counts[kind][0] += match(path, language, klass, reported.get(path, set()))
        counts[kind][1] += 1
    return {kind: f"{hit}/{total}" for kind, (hit, total) in sorted(counts.items())}


def print_table(title: str, table: dict[str, list[int]]) -> None:
    print(f"\n{title}")
    print(
        f"  {'class':<10} {'CWE':<8} {'TP':>4} {'FN':>4} {'FP':>4} {'TN':>4} {'TPR':>6} {'FPR':>6} {'TPR-FPR':>8}"
    )
    totals = [0, 0, 0, 0]
    for klass in CLASSES:
        if klass not in table:
            continue
        tp, fn, fp, tn = table[klass]
        totals = [a + b for a, b in zip(totals, table[klass], strict=True)]
        tpr, fpr = tp / max(1, tp + fn), fp / max(1, fp + tn)
        print(
            f"  {klass:<10} {CLASSES[klass][0]:<8} {tp:>4} {fn:>4} {fp:>4} {tn:>4} {tpr:>6.2f} {fpr:>6.2f} {tpr - fpr:>8.2f}"
        )
    tp, fn, fp, tn = totals
    tpr, fpr = tp / max(1, tp + fn), fp / max(1, fp + tn)
    print(f"  {'all':<10} {'':<8} {tp:>4} {fn:>4} {fp:>4} {tn:>4} {tpr:>6.2f} {fpr:>6.2f} {tpr - fpr:>8.2f}")


def run_bandit(python_root: Path) -> tuple[dict[str, set[str]], float, str]:
    """bandit from a temporary virtualenv: its test ids per file, its time, its version."""
    with tempfile.TemporaryDirectory(prefix="bandit-venv-") as where:
        venv.create(where, with_pip=True)
        pip = [f"{where}/bin/python", "-m", "pip", "install", "-q", "--disable-pip-version-check", BANDIT]
        subprocess.run(pip, check=True, timeout=600)  # noqa: S603 - our own arguments
        started = time.perf_counter()
        done = subprocess.run(  # noqa: S603 - our own arguments
            [f"{where}/bin/bandit", "-r", "-q", "-f", "json", str(python_root)],
            capture_output=True, text=True, timeout=600, check=False,
        )  # fmt: skip
        seconds = time.perf_counter() - started
        report = json.loads(done.stdout)
    reported: dict[str, set[str]] = defaultdict(set)
    for result in report["results"]:
        relative = Path(result["filename"]).resolve().relative_to(python_root.parent.resolve()).as_posix()
        reported[relative].add(result["test_id"])
    return reported, seconds, BANDIT.split("==")[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=3, help="files per (language, class, kind)")
    parser.add_argument("--no-bandit", action="store_true", help="skip bandit (it is installed from PyPI)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sast-corpus-") as where:
        root = Path(where)
        labels = generate(root, args.copies)
        size = sum((root / path).stat().st_size for path in labels)
        started = time.perf_counter()
        found = asyncio.run(SCANNER.scan(ScanContext(root=root, secret_key=b"benchmark")))
        seconds = time.perf_counter() - started
        reported: dict[str, set[str]] = defaultdict(set)
        for finding in found:
            reported[finding.path].add(finding.rule.id)
        ours = lambda path, language, klass, ids: bool(ids & class_rules(klass, language))  # noqa: E731
        print(f"SAST accuracy: {len(labels)} generated files ({size / 1024:.0f} KiB), {len(sast_rules.catalog())} "
              f"rules, scanner {SCANNER.version}")  # fmt: skip
        print(f"ours: {seconds:.1f} s, {len(labels) / seconds:.1f} files/s, {size / 1e6 / seconds:.3f} MB/s "
              f"(semgrep start-up included), {len(found)} findings")  # fmt: skip
        print_table("ours, all languages (OWASP Benchmark scoring)", score(labels, reported, ours))
        print(f"  reported safe files by kind: {false_positives_by_kind(labels, reported, ours)}")
        for language in STATEMENTS:
            subset = {p: v for p, v in labels.items() if v[0] == language}
            print_table(f"ours, {language}", score(subset, reported, ours))
        if args.no_bandit:
            return
        python = {p: v for p, v in labels.items() if v[0] == "python"}
        bandit_reported, bandit_seconds, version = run_bandit(root / "python")
        theirs = lambda path, language, klass, ids: bool(ids & CLASSES[klass][1])  # noqa: E731
        python_size = sum((root / path).stat().st_size for path in python)
        print(f"\nbandit {version} on the same {len(python)} Python files: {bandit_seconds:.1f} s, "
              f"{python_size / 1e6 / bandit_seconds:.3f} MB/s")  # fmt: skip
        print_table(
            "bandit, python (classes without a bandit test score 0)", score(python, bandit_reported, theirs)
        )
        print(f"  reported safe files by kind: {false_positives_by_kind(python, bandit_reported, theirs)}")
        print(f"  ours on the same files: {false_positives_by_kind(python, reported, ours)}")


if __name__ == "__main__":
    main()
