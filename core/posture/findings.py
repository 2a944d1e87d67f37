"""Failed controls become findings (category POSTURE) with the same lifecycle as code findings.

A FAIL opens (or reopens) the finding of that control on that resource; a PASS fixes it; NOT_EVALUATED
leaves it as it was, because nothing was learnt. A finding whose resource is no longer listed (a deleted
service connection, an unselected repository) is fixed only when its control was evaluated in that project.
"""

from __future__ import annotations

from sqlmodel import col, select

from core.db.columns import new_id
from core.findings.lifecycle import ACTIVE, Outcome, next_status, write_changes
from core.findings.models import Finding, FindingStatus
from core.posture.control import REGISTRY, Result, Status
from core.scans.scanner import fingerprint

SCANNER = "posture"


def posture_fingerprint(project_ado_id: str, result: Result) -> str:
    resource = result.resource
    return fingerprint(result.control_id, f"{project_ado_id}/{resource.type}/{resource.id}", "")


def finding_values(project, result: Result) -> dict:
    control = REGISTRY[result.control_id]
    return {
        "scanner": SCANNER,
        "rule_id": control.id,
        "title": control.title[:300],
        "description": control.rationale[:2000],
        "remediation": control.remediation[:2000],
        "help_uri": control.help_uri[:500],
        "severity": control.severity,
        "category": "POSTURE",
        "path": f"{project.name}/{result.resource.locator}"[:1024],
        "line": None,
        "end_line": None,
        "message": result.reason[:1000],
        "commit": "",
        "repository_id": result.resource.repository_id,
        "project_id": project.id,
    }


async def record_posture_findings(session, account_id: str, run_id: str, results, now) -> Outcome:
    """`results` are (project row, Result) pairs of one evaluation of a connection."""
    project_ids = sorted({project.id for project, _ in results})
    existing = (
        {
            f.fingerprint: f
            for f in (
                await session.exec(
                    select(Finding).where(
                        col(Finding.project_id).in_(project_ids), Finding.scanner == SCANNER
                    )
                )
            ).all()
        }
        if project_ids
        else {}
    )
    outcome, inserts, updates, fixed = Outcome(), [], [], []
    seen, unevaluated = set(), set()
    for project, result in results:
        print_ = posture_fingerprint(project.ado_id, result)
        seen.add(print_)
        row = existing.get(print_)
        if result.status == Status.NOT_EVALUATED:
            unevaluated.add((project.id, result.control_id))
        elif result.status == Status.PASS:
            if row is not None and row.status in ACTIVE:
                fixed.append(row.id)
        elif row is None:
            values = finding_values(project, result)
            inserts.append(
                {
                    **values,
                    "id": new_id(),
                    "account_id": account_id,
                    "fingerprint": print_,
                    "status": FindingStatus.OPEN,
                    "first_seen_at": now,
                    "last_seen_at": now,
                    "last_run_id": run_id,
                }
            )
            outcome.new += 1
        else:
            status = next_status(row, now)
            outcome.reopened += status == FindingStatus.REOPENED and row.status != FindingStatus.REOPENED
            fixed_at = None if status != FindingStatus.FIXED else row.fixed_at
            updates.append(
                {**finding_values(project, result), "id": row.id, "status": status, "fixed_at": fixed_at}
                | {"last_seen_at": now, "last_run_id": run_id}
            )
    for print_, row in existing.items():
        gone = print_ not in seen and (row.project_id, row.rule_id) not in unevaluated
        if gone and row.status in ACTIVE:
            fixed.append(row.id)
    outcome.fixed = len(fixed)
    await write_changes(session, inserts, updates, fixed, now, run_id)
    return outcome
