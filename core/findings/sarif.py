"""SARIF 2.1.0 export of a repository's findings, one run per scanner (GitHub code scanning's rules:
stable rule ids, repository-relative paths, `partialFingerprints.primaryLocationLineHash`). Posture findings
(the repository's and its project's) carry a logical location naming the Azure DevOps resource. `sarif_document`
also writes `panoptica scan`'s findings (core/scans/local.py), with each scanner's completion as an invocation.
Code findings (category CODE) carry their rules' CWE ids: a `relationships` entry per CWE on the rule descriptor, GitHub's
`external/cwe/cwe-N` tags, and the run's `taxonomies` lists the CWE entries it refers to (SARIF 2.1.0 §3.19.3, §3.52)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import and_, or_
from sqlmodel import col, select

from core import ownership
from core.discovery.models import AzureProject, AzureRepository
from core.findings.models import Finding
from core.findings.service import ACTIVE
from core.scanners import sast_rules
from core.severity import Severity

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
LEVEL: dict[str, str] = {  # keyed by Severity, a StrEnum: a stored severity string finds its entry
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}
# shared/reference/scanning.md §7: GitHub reads security-severity as a CVSS-like score; INFO has none.
SECURITY_SEVERITY: dict[str, str] = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "2.0",
}
CWE_TAXONOMY = {
    "name": "CWE",
    "organization": "MITRE",
    "version": "4.16",
    "informationUri": "https://cwe.mitre.org/data/published/cwe_v4.16.pdf",
    "shortDescription": {"text": "The MITRE Common Weakness Enumeration"},
}


def security_severity(severity: str) -> dict:
    return {"security-severity": SECURITY_SEVERITY[severity]} if severity in SECURITY_SEVERITY else {}


def cwe_ids(finding) -> tuple[str, ...]:
    """The numbers of the CWE entries a code finding's rule names ("89"); none for other categories."""
    if finding.category != "CODE":
        return ()
    return tuple(cwe.removeprefix("CWE-") for cwe in sast_rules.cwe_of(finding.rule_id))


def rule_descriptor(finding: Finding) -> dict:
    cwes = cwe_ids(finding)
    return {
        "id": finding.rule_id,
        "name": finding.rule_id[:255],
        "shortDescription": {"text": finding.title[:1024] or finding.rule_id},
        "fullDescription": {"text": (finding.description or finding.title)[:1024] or finding.rule_id},
        "help": {"text": finding.remediation or finding.title or finding.rule_id},
        "defaultConfiguration": {"level": LEVEL[finding.severity]},
        "properties": {
            "tags": ["security", finding.category.lower(), *(f"external/cwe/cwe-{cwe}" for cwe in cwes)],
            **security_severity(finding.severity),
        },
        **({"helpUri": finding.help_uri} if finding.help_uri else {}),
        **(
            {
                "relationships": [
                    {"target": {"id": cwe, "toolComponent": {"name": "CWE"}}, "kinds": ["superset"]}
                    for cwe in cwes
                ]
            }
            if cwes
            else {}
        ),
    }


def cwe_taxonomy(cwes: set[str]) -> dict:
    return {
        **CWE_TAXONOMY,
        "taxa": [
            {"id": cwe, "helpUri": f"https://cwe.mitre.org/data/definitions/{cwe}.html"}
            for cwe in sorted(cwes, key=int)
        ],
    }


def location(finding: Finding) -> dict:
    if finding.category == "POSTURE":
        # Posture is about settings in Azure DevOps, not a file: a logical location names the resource.
        return {"logicalLocations": [{"fullyQualifiedName": finding.path, "kind": "resource"}]}
    region = {"startLine": finding.line or 1}
    if finding.end_line and finding.end_line >= region["startLine"]:
        region["endLine"] = finding.end_line
    return {"physicalLocation": {"artifactLocation": {"uri": finding.path.lstrip("/")}, "region": region}}


def result(finding: Finding, rule_index: int) -> dict:
    return {
        "ruleId": finding.rule_id,
        "ruleIndex": rule_index,
        "level": LEVEL[finding.severity],
        "message": {"text": finding.message or finding.title or finding.rule_id},
        "locations": [location(finding)],
        "partialFingerprints": {"primaryLocationLineHash": f"{finding.fingerprint}:1"},
        "properties": {
            **security_severity(finding.severity),
            # A stored finding's lifecycle status; a local scan's findings have none.
            **({"status": finding.status} if getattr(finding, "status", None) else {}),
        },
    }


def build_sarif(repository: AzureRepository, findings: list[Finding], history: dict | None = None) -> dict:
    """`history`: fingerprint -> (introducing commit, in history only) of the secrets found in git history
    (core/history), which their results carry as properties; every run names the repository and the scanned
    commit in `versionControlProvenance` (SARIF 2.1.0 §3.14.21)."""
    document = sarif_document(findings, f"{repository.organization}/{repository.name}/")
    provenance = version_control(repository)
    for run in document["runs"]:
        if provenance:
            run["versionControlProvenance"] = provenance
        for item in run["results"]:
            found = (history or {}).get(
                item["partialFingerprints"]["primaryLocationLineHash"].rsplit(":", 1)[0]
            )
            if found is not None:
                item["properties"] |= {"commit": found[0], "inHistoryOnly": found[1]}
    return document


def version_control(repository: AzureRepository) -> list[dict]:
    if not repository.web_url:
        return []
    details = {"repositoryUri": repository.web_url}
    if repository.scanned_commit:
        details["revisionId"] = repository.scanned_commit
    if repository.default_branch:
        details["branch"] = repository.default_branch
    return [details]


@dataclass(frozen=True)
class RunInfo:
    """What a run says about its scanner beyond the results (a local scan knows; stored findings do not)."""

    version: str = ""
    successful: bool = True
    notifications: tuple[tuple[str, str], ...] = ()  # (SARIF level, text): why it failed, what it left out


def sarif_document(findings: list, automation_prefix: str, runs: dict[str, RunInfo] | None = None) -> dict:
    """SARIF for findings that have `Finding`'s attributes (stored rows, or core.scans.local's): one run per
    scanner. With `runs`, every scanner named there gets a run, even without results, and an invocation that
    says whether it completed (`executionSuccessful`), so a consumer never reads a failed scanner as clean."""
    by_scanner: dict[str, list] = defaultdict(list)
    for finding in findings:
        by_scanner[finding.scanner].append(finding)
    documents = []
    for scanner in sorted(set(by_scanner) | set(runs or {})):
        rules: dict[str, int] = {}
        descriptors, results = [], []
        for finding in sorted(by_scanner[scanner], key=lambda f: (f.path, f.line or 0, f.rule_id)):
            if finding.rule_id not in rules:
                rules[finding.rule_id] = len(descriptors)
                descriptors.append(rule_descriptor(finding))
            results.append(result(finding, rules[finding.rule_id]))
        driver = {
            "name": f"panoptica-{scanner}",
            "informationUri": "https://panoptica.app",
            "rules": descriptors,
        }
        cwes = {cwe for finding in by_scanner[scanner] for cwe in cwe_ids(finding)}
        if cwes:
            driver["supportedTaxonomies"] = [{"name": "CWE"}]
        run = {
            "tool": {"driver": driver},
            "automationDetails": {"id": f"panoptica/{scanner}/{automation_prefix}"},
            "results": results,
            **({"taxonomies": [cwe_taxonomy(cwes)]} if cwes else {}),
        }
        info = (runs or {}).get(scanner)
        if info is not None:
            if info.version:
                driver["version"] = info.version
            run["invocations"] = [invocation(info)]
        documents.append(run)
    return {"$schema": SCHEMA, "version": "2.1.0", "runs": documents}


def invocation(info: RunInfo) -> dict:
    notes = [{"level": level, "message": {"text": text}} for level, text in info.notifications]
    return {
        "executionSuccessful": info.successful,
        **({"toolExecutionNotifications": notes} if notes else {}),
    }


async def repository_sarif(session, account_id: str, repository_id: str) -> dict:
    """The active findings of one of the account's repositories; NotFound for anything else."""
    repository = await ownership.owned(session, AzureRepository, repository_id, account_id, "repository")
    project = (
        await session.exec(
            select(AzureProject.id).where(
                AzureProject.connection_id == repository.connection_id,
                AzureProject.ado_id == repository.project_ado_id,
            )
        )
    ).first()
    # The repository's own findings, and its project's posture (its pipelines run under those settings).
    owned = or_(
        col(Finding.repository_id) == repository_id,
        and_(Finding.project_id == project, col(Finding.repository_id).is_(None)),
    )
    findings = (await session.exec(select(Finding).where(owned, col(Finding.status).in_(ACTIVE)))).all()
    return build_sarif(repository, list(findings), await history_provenance(session, findings))


async def history_provenance(session, findings) -> dict[str, tuple[str, bool]]:
    """Fingerprint -> (the commit that introduced the secret, whether it is only in history), one statement."""
    from core.history.service import NAME, occurrences_of

    keys = {
        (f.repository_id, f.secret_hash): f.fingerprint
        for f in findings
        if f.scanner == NAME and f.secret_hash
    }
    if not keys:
        return {}
    found = await occurrences_of(session, list(keys))
    return {
        keys[key]: (rows[0].commit_id, not any(r.in_head for r in rows))
        for key, rows in found.items()
        if rows
    }
