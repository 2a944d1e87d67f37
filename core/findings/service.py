"""Reading findings for the console, counting them per repository, suppressing and unsuppressing.

Pages never count: counts are separate functions (exact up to `TOTAL_COUNT_CAP`, see `core.pagination`), called
only by a client that asks for them. Per-repository pages and counts for a whole page of repositories are one
statement each (a UNION ALL of one bounded, index-ordered part per repository).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import quote

from sqlalchemy import and_, func, literal, literal_column, or_, union_all
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core import ownership
from core.audit.service import record
from core.db.columns import utcnow
from core.discovery.models import AzureRepository
from core.findings.models import Finding, FindingStatus
from core.pagination import (
    TOTAL_COUNT_CAP,
    Count,
    InvalidInput,
    Page,
    capped_count,
    decode_cursor,
    encode_cursor,
    page_size,
)
from core.scanners import sast_rules
from core.scans.models import ScanRun
from core.severity import ORDER, Severity

ACTIVE = (FindingStatus.OPEN, FindingStatus.REOPENED)
# A CODE finding's language is its rule's: the rule pack names rules CODE-<LANG>-<NNN> (TypeScript shares the
# JavaScript rules). CODE-PARSE findings (a file semgrep could not analyse) belong to no language.
CODE_LANGUAGE_PREFIXES = {
    "CSHARP": "CODE-CS-",
    "JAVA": "CODE-JAVA-",
    "JAVASCRIPT": "CODE-JS-",
    "PYTHON": "CODE-PY-",
    "GO": "CODE-GO-",
}


def at_least(severity: str) -> list[str]:
    """The severities at or above `severity` (CRITICAL is the highest)."""
    if severity not in ORDER:
        raise InvalidInput(f"severity must be one of {', '.join(ORDER)}")
    return [s.value for s in Severity(severity).at_or_above()]


# --- CODE findings: CWE and OWASP from the rule pack, by rule id (not stored: a new pack relabels old findings) --


def cwe_of(category: str, rule_id: str) -> list[str]:
    """The CWE ids ("CWE-89") of a CODE finding's rule; none for any other finding."""
    return list(sast_rules.cwe_of(rule_id)) if category == sast_rules.CATEGORY else []


def owasp_of(category: str, rule_id: str) -> str | None:
    """The OWASP Top 10 2021 category ("A03:2021 - Injection") of a CODE finding's rule; None otherwise."""
    return (sast_rules.owasp_of(rule_id) or None) if category == sast_rules.CATEGORY else None


def normalized_cwe(text: str) -> str:
    """ "CWE-89", "cwe-89" or "89" as "CWE-89"; anything else is the caller's mistake."""
    number = text.strip().upper().removeprefix("CWE-")
    if not number.isascii() or not number.isdigit() or len(number) > 6 or int(number) == 0:
        raise InvalidInput(f'cwe must be a CWE id such as "CWE-89" or "89" (got {text[:40]!r})')
    return f"CWE-{int(number)}"


def rules_with_cwe(text: str) -> list[str]:
    """The ids of the pack's rules tagged with this CWE (possibly none: a valid CWE no rule checks)."""
    cwe = normalized_cwe(text)
    return sorted(rule.id for rule in sast_rules.catalog().values() if cwe in rule.cwe)


def language_condition(language: str):
    prefix = CODE_LANGUAGE_PREFIXES.get(language)
    if prefix is None:
        raise InvalidInput(f"language must be one of {', '.join(CODE_LANGUAGE_PREFIXES)}")
    return col(Finding.rule_id).startswith(prefix, autoescape=True)


@dataclass
class FindingFilter:
    repository_id: str | None = None
    statuses: list[str] = field(default_factory=lambda: list(ACTIVE))
    min_severity: str | None = None
    category: str | None = None
    scanner: str | None = None
    search: str | None = None
    path: str | None = None  # exactly this file
    organization: str | None = None  # the repository's (case-insensitive)
    project: str | None = None
    cwe: str | None = None  # "CWE-89" or "89": CODE findings whose rule has it
    language: str | None = None  # a CODE_LANGUAGE_PREFIXES key
    in_history_only: bool | None = None  # history findings no longer (True) or still (False) in the head


def finding_conditions(account_id: str, flt: FindingFilter) -> list:
    conditions = [ownership.owned_by(Finding, account_id)]
    if flt.repository_id:
        conditions.append(col(Finding.repository_id) == flt.repository_id)
    if flt.statuses:
        conditions.append(col(Finding.status).in_(flt.statuses))
    if flt.min_severity:
        conditions.append(col(Finding.severity).in_(at_least(flt.min_severity)))
    if flt.category:
        conditions.append(col(Finding.category) == flt.category)
    if flt.scanner:
        conditions.append(col(Finding.scanner) == flt.scanner)
    if flt.search:
        conditions.append(search_condition(flt.search))
    if flt.path is not None:
        conditions.append(col(Finding.path) == flt.path)
    if flt.organization or flt.project:
        conditions.append(col(Finding.repository_id).in_(repositories_of(account_id, flt)))
    if flt.cwe is not None:
        conditions.append(col(Finding.rule_id).in_(rules_with_cwe(flt.cwe)))
        conditions.append(col(Finding.category) == sast_rules.CATEGORY)
    if flt.language is not None:
        conditions.append(language_condition(flt.language))
        conditions.append(col(Finding.category) == sast_rules.CATEGORY)
    if flt.in_history_only is not None:
        conditions.extend(history_only_conditions(flt.in_history_only))
    return conditions


def history_only_conditions(only: bool) -> list:
    """A history finding is in the head when one of its occurrences still is (core/history, one per secret)."""
    # Here, not at the top: core.history imports the scanners, which import this module.
    from core.history.models import HistoryOccurrence
    from core.history.service import NAME as HISTORY

    in_head = (
        select(HistoryOccurrence.id)
        .where(
            HistoryOccurrence.repository_id == Finding.repository_id,
            HistoryOccurrence.secret_hash == Finding.secret_hash,
            col(HistoryOccurrence.in_head).is_(True),
        )
        .correlate(Finding)  # explicit: the count's select(1).select_from(Finding) does not auto-correlate
        .exists()
    )
    return [Finding.scanner == HISTORY, ~in_head if only else in_head]


def repositories_of(account_id: str, flt: FindingFilter):
    query = ownership.where_owned(select(AzureRepository.id), AzureRepository, account_id)
    if flt.organization:
        query = query.where(func.lower(AzureRepository.organization) == flt.organization.lower())
    if flt.project:
        query = query.where(func.lower(AzureRepository.project_name) == flt.project.lower())
    return query


# The searched text of a finding: its fields joined by newlines (a search never spans two fields). Written as SQL
# so that PostgreSQL matches it to the trigram index of migration 0013 (`ix_findings_search_trgm`), which keeps
# a search of a million findings an index lookup; SQLite reads the account's rows.
SEARCH_TEXT = literal_column(
    "lower(findings.title || '\n' || findings.message || '\n' || findings.rule_id || '\n' || findings.path)"
)


def search_condition(search: str):
    """Case-insensitive substring of a finding's title, message, rule id or path. Aliases (CVE, GHSA) and the
    package (its purl) are in a dependency finding's message, its advisory id is its rule id: so "log4j",
    "CVE-2021-44228" and "GHSA-jfh8-c2jp-5v3q" all find Log4Shell."""
    if len(search) > 200:
        raise InvalidInput("search is at most 200 characters")
    words = search.replace("\n", " ").strip()
    pattern = "%" + words.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return SEARCH_TEXT.like(pattern, escape="\\")


def after_condition(after: str | None, model, time_column):
    """Rows older than the cursor's (time, id), newest first."""
    if not after:
        return None
    when_text, row_id = decode_cursor(after, 2)
    try:
        when = datetime.fromisoformat(when_text)
    except ValueError:
        raise InvalidInput("after is not a cursor returned by this API") from None
    return or_(time_column < when, and_(time_column == when, model.id < row_id))


def to_page(rows: list, size: int, time_key: str) -> Page:
    items = rows[:size]
    cursors = [encode_cursor(getattr(r, time_key).isoformat(), r.id) for r in items]
    return Page(items=items, cursors=cursors, has_next_page=len(rows) > size)


async def keyset_page(
    session: AsyncSession, model, conditions: list, first: int | None, after: str | None, time_column
) -> Page:
    """Newest first on (time_column, id): one statement whatever the page size (counting is separate)."""
    size = page_size(first)
    query = select(model).where(*conditions)
    cursor = after_condition(after, model, time_column)
    if cursor is not None:
        query = query.where(cursor)
    query = query.order_by(time_column.desc(), col(model.id).desc()).limit(size + 1)
    return to_page(list((await session.exec(query)).all()), size, time_column.key)


async def list_findings(session, account_id: str, flt: FindingFilter, first: int | None, after: str | None):
    return await keyset_page(
        session, Finding, finding_conditions(account_id, flt), first, after, col(Finding.first_seen_at)
    )


async def count_findings(session, account_id: str, flt: FindingFilter, cap: int = TOTAL_COUNT_CAP) -> Count:
    return await capped_count(session, Finding, finding_conditions(account_id, flt), cap)


def scan_run_conditions(account_id: str, repository_id: str | None) -> list:
    conditions = [ownership.owned_by(ScanRun, account_id)]
    if repository_id:
        conditions.append(col(ScanRun.repository_id) == repository_id)
    return conditions


async def list_scan_runs(
    session, account_id: str, repository_id: str | None, first: int | None, after: str | None
):
    conditions = scan_run_conditions(account_id, repository_id)
    return await keyset_page(session, ScanRun, conditions, first, after, col(ScanRun.created_at))


async def count_scan_runs(session, account_id: str, repository_id: str | None, cap: int = TOTAL_COUNT_CAP):
    return await capped_count(session, ScanRun, scan_run_conditions(account_id, repository_id), cap)


# --- per repository, for a whole page of repositories at once -----------------------------------------------


async def pages_by_repository(
    session, model, account_id: str, repository_ids: list[str], conditions: list, first, after, time_column
) -> dict[str, Page]:
    """Each repository's own page (newest first), in one statement: a UNION ALL of one part per repository,
    each ordered by the (repository_id, time, id) index and limited, so no part reads more than its page."""
    size = page_size(first)
    cursor = after_condition(after, model, time_column)
    if not repository_ids:
        return {}
    parts = []
    for repository_id in repository_ids:
        part = select(model).where(
            ownership.owned_by(model, account_id), model.repository_id == repository_id, *conditions
        )
        if cursor is not None:
            part = part.where(cursor)
        part = part.order_by(time_column.desc(), col(model.id).desc()).limit(size + 1)
        # SQLite: a compound member's LIMIT must be in a subquery (sqlmodel's select overloads omit subqueries,
        # which it selects from as SQLAlchemy's does).
        parts.append(select(part.subquery()))  # pyright: ignore[reportCallIssue, reportArgumentType]
    rows_of = aliased(model, union_all(*parts).subquery())
    rows: dict[str, list] = {repository_id: [] for repository_id in repository_ids}
    for row in (await session.exec(select(rows_of))).all():
        rows[row.repository_id].append(row)
    ordered = {
        rid: sorted(found, key=lambda r: (getattr(r, time_column.key), r.id), reverse=True)
        for rid, found in rows.items()
    }
    return {rid: to_page(found, size, time_column.key) for rid, found in ordered.items()}


async def counts_per_repository(
    session, model, account_id: str, repository_ids: list[str], conditions: list, cap: int = TOTAL_COUNT_CAP
) -> dict[str, Count]:
    """Capped counts for many repositories in one statement (each part reads at most cap + 1 rows)."""
    if not repository_ids:
        return {}
    parts = []
    for repository_id in repository_ids:
        limited = (
            select(literal(1).label("one"))
            .select_from(model)
            .where(ownership.owned_by(model, account_id), model.repository_id == repository_id, *conditions)
            .limit(cap + 1)
            .subquery()
        )
        parts.append(
            select(literal(repository_id).label("rid"), func.count().label("n")).select_from(limited)
        )
    found = {rid: n for rid, n in (await session.exec(union_all(*parts))).all()}
    return {rid: Count(min(found.get(rid, 0), cap), found.get(rid, 0) > cap) for rid in repository_ids}


async def findings_by_repository(
    session, account_id: str, repository_ids: list[str], flt: FindingFilter, first, after
) -> dict[str, Page]:
    conditions = finding_conditions(account_id, flt)
    return await pages_by_repository(
        session, Finding, account_id, repository_ids, conditions, first, after, col(Finding.first_seen_at)
    )


async def finding_counts_by_repository(
    session, account_id: str, repository_ids: list[str], flt: FindingFilter, cap: int = TOTAL_COUNT_CAP
) -> dict[str, Count]:
    conditions = finding_conditions(account_id, flt)
    return await counts_per_repository(session, Finding, account_id, repository_ids, conditions, cap)


async def scan_runs_by_repository(
    session, account_id: str, repository_ids: list[str], first, after
) -> dict[str, Page]:
    return await pages_by_repository(
        session, ScanRun, account_id, repository_ids, [], first, after, col(ScanRun.created_at)
    )


async def scan_run_counts_by_repository(
    session, account_id: str, repository_ids: list[str], cap: int = TOTAL_COUNT_CAP
) -> dict[str, Count]:
    return await counts_per_repository(session, ScanRun, account_id, repository_ids, [], cap)


MAX_FILES = 2000


@dataclass
class FileFindings:
    path: str
    counts: dict[str, int]  # severity -> findings


async def files_with_findings(
    session, account_id: str, repository_id: str, flt: FindingFilter, limit: int = MAX_FILES
) -> tuple[list[FileFindings], bool]:
    """A repository's files that have matching findings, by path, with counts by severity (the repository
    page's file tree): one grouped statement. At most `limit` files; the flag says whether there were more."""
    conditions = [*finding_conditions(account_id, flt), Finding.repository_id == repository_id]
    paths = (
        select(Finding.path).where(*conditions).group_by(Finding.path).order_by(Finding.path).limit(limit + 1)
    ).subquery()
    query = (
        select(Finding.path, Finding.severity, func.count())
        .where(*conditions, col(Finding.path).in_(select(paths.c.path)))
        .group_by(Finding.path, Finding.severity)
    )
    files: dict[str, FileFindings] = {}
    for path, severity, count in (await session.exec(query)).all():
        files.setdefault(path, FileFindings(path, {})).counts[severity] = count
    ordered = [files[path] for path in sorted(files)]
    return ordered[:limit], len(ordered) > limit


def web_url(repository_web_url: str, default_branch: str | None, finding: Finding) -> str | None:
    """The finding's file at its line in Azure DevOps, at the commit that was scanned (the default branch when
    the finding has no commit). Whole lines are selected: from column 1 of the first line to column 1 of the
    line after the last, the selection Azure DevOps' own "copy link to line" makes."""
    if not repository_web_url or not finding.path:
        return None
    if finding.commit:
        version = f"GC{finding.commit}"
    elif default_branch:
        version = "GB" + default_branch.removeprefix("refs/heads/")
    else:
        version = None
    query = [f"path={quote('/' + finding.path.lstrip('/'), safe='/')}"]
    if version:
        query.append(f"version={quote(version, safe='')}")
    if finding.line:
        last = max(finding.end_line or finding.line, finding.line)
        query += [f"line={finding.line}", f"lineEnd={last + 1}", "lineStartColumn=1", "lineEndColumn=1"]
        query.append("lineStyle=plain")
    query.append("_a=contents")
    return f"{repository_web_url}?{'&'.join(query)}"


async def counts_by_repository(session: AsyncSession, repository_ids: list[str]) -> dict[str, dict[str, int]]:
    """Active findings per repository and severity, for a whole page in one statement."""
    if not repository_ids:
        return {}
    query = (
        select(Finding.repository_id, Finding.severity, func.count())
        .where(col(Finding.repository_id).in_(repository_ids), col(Finding.status).in_(ACTIVE))
        .group_by(Finding.repository_id, Finding.severity)
    )
    counts: dict[str, dict[str, int]] = {}
    for repository_id, severity, count in (await session.exec(query)).all():
        assert repository_id is not None  # selected by repository_id IN (...)
        counts.setdefault(repository_id, {})[severity] = count
    return counts


async def suppress(
    session, account_id: str, actor: str, finding_id: str, reason: str, until: datetime | None
) -> Finding:
    reason = reason.strip()
    if not reason or len(reason) > 500:
        raise InvalidInput("a suppression needs a reason of 1 to 500 characters")
    if until is not None and until <= utcnow():
        raise InvalidInput("the expiry must be in the future")
    finding = await owned(session, account_id, finding_id)
    if finding.status == FindingStatus.FIXED:
        raise InvalidInput("a fixed finding cannot be suppressed")
    finding.status, finding.suppressed_reason, finding.suppressed_by = FindingStatus.SUPPRESSED, reason, actor
    finding.suppressed_until = until
    session.add(finding)
    record(
        session,
        account_id,
        actor,
        "finding.suppressed",
        finding.rule_id,
        finding_id=finding.id,
        reason=reason,
    )
    return finding


async def unsuppress(session, account_id: str, actor: str, finding_id: str) -> Finding:
    finding = await owned(session, account_id, finding_id)
    if finding.status != FindingStatus.SUPPRESSED:
        raise InvalidInput("the finding is not suppressed")
    finding.status, finding.suppressed_reason, finding.suppressed_until = FindingStatus.OPEN, "", None
    finding.suppressed_by = ""
    session.add(finding)
    record(session, account_id, actor, "finding.unsuppressed", finding.rule_id, finding_id=finding.id)
    return finding


async def owned(session, account_id: str, finding_id: str) -> Finding:
    return await ownership.owned(session, Finding, finding_id, account_id, "finding")
