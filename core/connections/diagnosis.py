"""Membership diagnosis: why Connect works or exactly what the admin must fix.

Checks run in stages (`STAGES`): a stage's checks depend only on earlier stages, so they run together
(asyncio.gather, results kept in order). Each says PASS, FAIL, WARN or SKIPPED with the values it saw and a
remediation an admin can follow. After the first FAIL (in check order) the remaining checks are SKIPPED (they
depend on it). What the checks learn (tenant, identity, projects, repositories, permissions) is fetched once,
shared by the checks that need it (`Context.once`), and kept in `Findings` so discovery does not fetch it again.

CAN_READ_CODE asks Azure DevOps' Security API for our principal's Read on every project's Git token in one
evaluation batch; only projects whose evaluation was refused are judged by reading a repository's refs.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

from core.azure.client import (
    GIT_READ,
    GIT_REPOSITORIES_NAMESPACE,
    AzureDevOps,
    AzureDevOpsClient,
    ConnectionData,
)
from core.azure.errors import (
    AppCredentialsInvalid,
    AuthenticationFailed,
    AzureError,
    CannotReadRepository,
    ConsentMissing,
    Forbidden,
    NotFound,
    NotOrganizationMember,
    OrganizationNotFound,
    TokenError,
    Unauthorized,
)
from core.azure.models import Project, Repository, ServicePrincipalEntitlement
from core.azure.organization import path_segment
from core.db.columns import utcnow
from core.settings import Settings

log = logging.getLogger(__name__)
PASS, FAIL, WARN, SKIPPED = "PASS", "FAIL", "WARN", "SKIPPED"
BASIC_LICENSES = {"express", "advanced"}
REFUSED = (Forbidden, Unauthorized, NotFound)  # the entitlement or Graph API refused a non-admin caller


@dataclass
class Check:
    code: str
    status: str
    message: str
    remediation: str = ""
    transient: bool = False  # Azure was unavailable or throttling: says nothing about the customer's setup

    def as_dict(self) -> dict:
        return {
            "code": self.code,
            "status": self.status,
            "message": self.message,
            "remediation": self.remediation,
        }


@dataclass
class Findings:
    """What the diagnosis learnt about the organization, for discovery to reuse."""

    organization: str
    expected_tenant: str
    consented_at: datetime | None = None
    tenant_id: str = ""
    me: ConnectionData | None = None
    entitlement: ServicePrincipalEntitlement | None = None
    entitlement_refused: str = ""
    projects: list[Project] = field(default_factory=list)
    repositories: list[Repository] | None = None
    # project name -> "ok" | "denied" | "none", from reading one repository's refs (probe_code)
    probes: dict[str, str] = field(default_factory=dict)
    # project name -> True/False: Git Read as the Security API evaluated it; absent where it refused
    permissions: dict[str, bool] | None = None
    permissions_refused: str = ""  # why the Security API did not answer (e.g. "HTTP 403")


@dataclass
class Diagnosis:
    checks: list[Check]
    findings: Findings

    @property
    def ok(self) -> bool:
        return all(c.status in (PASS, WARN) for c in self.checks)

    @property
    def transient(self) -> bool:
        return any(c.transient for c in self.checks)


@dataclass
class Context:
    ado: AzureDevOps
    settings: Settings
    findings: Findings
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    fetches: dict[str, asyncio.Future] = field(default_factory=dict)

    async def once(self, key: str, fetch: Callable[[], Awaitable]):
        """Run `fetch` once however many checks await it at the same time; all get its result or error."""
        if key not in self.fetches:
            self.fetches[key] = asyncio.ensure_future(fetch())
        return await asyncio.shield(self.fetches[key])

    @property
    def org(self) -> AzureDevOpsClient:
        return self.ado.organization(self.findings.organization, self.findings.tenant_id or None)


def names(values: list[str], limit: int = 10) -> str:
    shown = ", ".join(values[:limit])
    return shown + (f" and {len(values) - limit} more" if len(values) > limit else "")


# --- the checks, in order -----------------------------------------------------------------------------


async def organization_exists(ctx: Context) -> Check:
    org = ctx.findings.organization
    try:
        found = await ctx.ado.find_tenant(org)
    except OrganizationNotFound:
        return Check(
            "ORGANIZATION_EXISTS",
            FAIL,
            f"Azure DevOps has no organization named '{org}'.",
            f"Check the name as it appears in https://dev.azure.com/{org}.",
        )
    ctx.findings.tenant_id = found.tenant_id
    return Check("ORGANIZATION_EXISTS", PASS, f"Organization '{org}' exists.")


async def organization_entra_backed(ctx: Context) -> Check:
    org = ctx.findings.organization
    if ctx.findings.tenant_id.strip("0-") == "":
        return Check(
            "ORGANIZATION_ENTRA_BACKED",
            FAIL,
            f"Organization '{org}' uses Microsoft accounts, not Microsoft Entra ID; service principals cannot be "
            "added to it.",
            f"Connect the organization to your Entra tenant (https://dev.azure.com/{org}/_settings/organizationAad), "
            "then connect again.",
        )
    return Check(
        "ORGANIZATION_ENTRA_BACKED", PASS, f"Organization '{org}' is connected to Microsoft Entra ID."
    )


async def tenant_matches(ctx: Context) -> Check:
    seen, expected = ctx.findings.tenant_id, ctx.findings.expected_tenant
    if seen != expected:
        return Check(
            "TENANT_MATCHES",
            FAIL,
            f"Organization '{ctx.findings.organization}' is connected to tenant {seen}, but consent was granted "
            f"in tenant {expected}.",
            "Start the connection again so that consent is requested in the organization's tenant.",
        )
    return Check("TENANT_MATCHES", PASS, f"Consent was granted in the organization's tenant {seen}.")


async def app_token(ctx: Context) -> Check:
    tenant = ctx.findings.tenant_id
    started, attempts = time.monotonic(), 1
    while True:
        try:
            await ctx.ado.tokens.get_token(tenant, fresh=attempts > 1)
            break
        except ConsentMissing as error:
            waited = time.monotonic() - started
            if (
                not propagating(ctx)
                or waited + ctx.settings.consent_retry_delay_seconds
                > ctx.settings.consent_retry_budget_seconds
            ):
                return token_failure(error, attempts, waited, ctx)
            await ctx.sleep(min(ctx.settings.consent_retry_delay_seconds * attempts, 30))
            attempts += 1
        except TokenError as error:
            return token_failure(error, attempts, time.monotonic() - started, ctx)
    retried = (
        f" after {attempts - 1} retr{'y' if attempts == 2 else 'ies'} while consent propagated"
        if attempts > 1
        else ""
    )
    return Check("APP_TOKEN", PASS, f"Signed in to tenant {tenant}{retried}.")


def propagating(ctx: Context) -> bool:
    consented = ctx.findings.consented_at
    window = ctx.settings.consent_propagation_window_seconds
    return consented is not None and (utcnow() - consented).total_seconds() < window


def token_failure(error: TokenError, attempts: int, waited: float, ctx: Context) -> Check:
    if isinstance(error, AppCredentialsInvalid):
        # Our problem, not the customer's: say so, and alert operators (without the secret, which we never hold
        # in an error anyway).
        log.error(
            "our Entra app credentials were refused (%s); tenant %s", error.detail, ctx.findings.tenant_id
        )
        return Check(
            "APP_TOKEN",
            FAIL,
            "Panoptica could not sign in with its own app credentials. This is not a problem in your tenant.",
            "Nothing to change on your side: our operators have been alerted. Try again later.",
        )
    retried = (
        f" (retried {attempts - 1} time{'s' if attempts != 2 else ''} over {waited:.0f} s while consent propagated)"
        if attempts > 1
        else ""
    )
    return Check("APP_TOKEN", FAIL, error.message + retried, error.remediation)


async def service_principal_member(ctx: Context) -> Check:
    try:
        ctx.findings.me = await ctx.org.connection_data()
    except NotOrganizationMember:
        return Check(
            "SERVICE_PRINCIPAL_MEMBER",
            FAIL,
            f"The {ctx.settings.service_principal_name} service principal is not a member of organization "
            f"'{ctx.findings.organization}' (TF401444).",
            f"Open https://dev.azure.com/{ctx.findings.organization}/_settings/users, choose Add users, type "
            f"{ctx.settings.service_principal_name}, set the access level to Basic and add it to your projects.",
        )
    except (AuthenticationFailed, Unauthorized) as error:
        return Check(
            "SERVICE_PRINCIPAL_MEMBER",
            FAIL,
            f"Azure DevOps rejected the service's token: {error.message}",
            error.remediation,
        )
    return Check(
        "SERVICE_PRINCIPAL_MEMBER",
        PASS,
        f"Signed in to '{ctx.findings.organization}' as {ctx.findings.me.display_name or 'the service principal'}.",
    )


async def access_level_basic(ctx: Context) -> Check:
    entitlement = await read_entitlement(ctx)
    if entitlement is None:
        return await access_level_by_probe(ctx)
    level = entitlement.access_level
    license_type = level.account_license_type or "none"
    msdn = level.msdn_license_type or "none"
    status = level.status or "active"
    shown = level.license_display_name or license_type
    if status != "active":
        return Check(
            "ACCESS_LEVEL_BASIC",
            FAIL,
            f"The service principal's access level {shown} is {status}.",
            "In Organization settings → Users, make its access level active (Basic).",
        )
    if license_type in BASIC_LICENSES or msdn not in ("none", ""):
        return Check("ACCESS_LEVEL_BASIC", PASS, f"Access level is {shown}.")
    return Check(
        "ACCESS_LEVEL_BASIC",
        FAIL,
        f"Access level is {shown} ({license_type}); reading code needs Basic.",
        f"In https://dev.azure.com/{ctx.findings.organization}/_settings/users, change the service principal's "
        "access level to Basic.",
    )


PROBED_FOR_ACCESS_LEVEL = 3  # private projects read to tell a Stakeholder (all refused) from Basic


async def access_level_by_probe(ctx: Context) -> Check:
    """A Stakeholder cannot read code in any private project, whatever its permissions: reading a few private
    repositories the Security API says we may read tells the access level."""
    why = f"The entitlement API refused to show the access level ({ctx.findings.entitlement_refused}), so it was probed"
    await list_projects(ctx)
    permissions = await read_permissions(ctx)
    candidates = await probe_candidates(ctx)
    private = [
        p.name
        for p in ctx.findings.projects
        if p.visibility == "private" and p.name in candidates and permissions.get(p.name) is not False
    ]
    probes = await probe_code(ctx, private[:PROBED_FOR_ACCESS_LEVEL])
    denied = sorted(name for name, result in probes.items() if result == "denied" and name in private)
    if denied:
        return Check(
            "ACCESS_LEVEL_BASIC",
            FAIL,
            f"{why}: code in private project(s) {names(denied)} is unreadable, as with Stakeholder access.",
            "Change the service principal's access level to Basic (Organization settings → Users).",
        )
    if not any(result == "ok" and name in private for name, result in probes.items()):
        return Check(
            "ACCESS_LEVEL_BASIC",
            WARN,
            f"{why}, but no private repository could be tried.",
            "Make sure the service principal's access level is Basic.",
        )
    return Check(
        "ACCESS_LEVEL_BASIC",
        PASS,
        f"{why}: code in private projects is readable, so the access level is Basic or higher.",
    )


async def project_membership(ctx: Context) -> Check:
    projects = await list_projects(ctx)
    if not projects:
        return Check(
            "PROJECT_MEMBERSHIP",
            FAIL,
            "The service principal is a member of the organization but of no project, so it sees no repositories.",
            "In each project to scan: Project settings → Permissions → Contributors → Add, and pick the service "
            "principal (or add it to projects from Organization settings → Users).",
        )
    return Check(
        "PROJECT_MEMBERSHIP",
        PASS,
        f"Sees {len(projects)} project(s): {names([p.name for p in projects])}.",
    )


async def contributors_group(ctx: Context) -> Check:
    groups, _ = await asyncio.gather(project_groups(ctx), list_projects(ctx))
    if groups is None:
        return Check(
            "CONTRIBUTORS_GROUP",
            WARN,
            "Could not read the service principal's project groups (the entitlement and Graph APIs refused).",
            "Make sure the service principal is in each project's Contributors group.",
        )
    visible = [p.name for p in ctx.findings.projects]
    missing = sorted(name for name in visible if "contributor" not in groups.get(name.lower(), "").lower())
    if missing:
        seen = ", ".join(f"{name} ({groups.get(name.lower()) or 'no group'})" for name in missing[:10])
        return Check(
            "CONTRIBUTORS_GROUP",
            WARN,
            f"Not in Contributors of {len(missing)} project(s): {seen}.",
            "Add the service principal to the Contributors group of those projects.",
        )
    return Check("CONTRIBUTORS_GROUP", PASS, f"In Contributors of all {len(visible)} visible project(s).")


async def can_read_code(ctx: Context) -> Check:
    """Read on every project's repositories: the Security API's evaluation where it answered, a refs read of
    one repository where it refused. The message says which way each project was judged."""
    projects, _ = await asyncio.gather(list_projects(ctx), list_repositories(ctx))
    permissions = await read_permissions(ctx)
    unjudged = [p.name for p in projects if p.name not in permissions]
    probes = await probe_code(ctx, unjudged)
    denied_by_acl = sorted(name for name, allowed in permissions.items() if not allowed)
    denied_by_probe = sorted(name for name in unjudged if probes.get(name) == "denied")
    read = [name for name, allowed in permissions.items() if allowed]
    read += [name for name in unjudged if probes.get(name) == "ok"]
    untried = [name for name in unjudged if probes.get(name) == "none"]
    how = judged_by(len(permissions), len(unjudged), ctx.findings.permissions_refused)
    if denied_by_acl or denied_by_probe:
        reasons = []
        if denied_by_acl:
            reasons.append(f"the Security API denies Git Read in {names(denied_by_acl)}")
        if denied_by_probe:
            reasons.append(f"reading a repository was refused in {names(denied_by_probe)} (TF401019)")
        count = len(denied_by_acl) + len(denied_by_probe)
        return Check(
            "CAN_READ_CODE",
            FAIL,
            f"Cannot read repositories in {count} project(s): {'; '.join(reasons)}. {how}",
            "Give the service principal the Basic access level and Read on those projects' repositories "
            "(the Contributors group has it; remove any Deny on Read under Project settings → Repositories "
            "→ Security).",
        )
    if not read:
        return Check("CAN_READ_CODE", WARN, f"No non-empty repository to try reading. {how}", "")
    untried_note = f" No non-empty repository to try in {names(untried)}." if untried else ""
    return Check(
        "CAN_READ_CODE", PASS, f"May read repository contents in {len(read)} project(s). {how}{untried_note}"
    )


def judged_by(evaluated: int, probed: int, refused: str) -> str:
    """Which way the projects were judged, for the check's message."""
    parts = []
    if evaluated:
        parts.append(f"{evaluated} project(s) judged by the Security API's permission evaluation (Git Read)")
    if probed:
        because = f" because the Security API refused ({refused})" if refused else ""
        parts.append(f"{probed} by reading a repository's refs{because}")
    return ("; ".join(parts) + ".") if parts else ""


CHECKS = (
    organization_exists,
    organization_entra_backed,
    tenant_matches,
    app_token,
    service_principal_member,
    access_level_basic,
    project_membership,
    contributors_group,
    can_read_code,
)
CHECK_CODES = (
    "ORGANIZATION_EXISTS",
    "ORGANIZATION_ENTRA_BACKED",
    "TENANT_MATCHES",
    "APP_TOKEN",
    "SERVICE_PRINCIPAL_MEMBER",
    "ACCESS_LEVEL_BASIC",
    "PROJECT_MEMBERSHIP",
    "CONTRIBUTORS_GROUP",
    "CAN_READ_CODE",
)


# Checks of one stage depend only on earlier stages and run together.
STAGES = (
    (organization_exists,),
    (organization_entra_backed, tenant_matches),
    (app_token,),
    (service_principal_member,),
    (access_level_basic, project_membership, contributors_group, can_read_code),
)


async def diagnose(
    ado: AzureDevOps, settings: Settings, findings: Findings, sleep=asyncio.sleep
) -> Diagnosis:
    ctx = Context(ado, settings, findings, sleep)
    codes = dict(zip(CHECKS, CHECK_CODES, strict=True))
    checks: list[Check] = []
    for stage in STAGES:
        if any(c.status == FAIL for c in checks):
            checks += [
                Check(codes[s], SKIPPED, f"Skipped until {first_failure(checks)} passes.") for s in stage
            ]
            continue
        results = await asyncio.gather(*(run_check(ctx, codes[step], step) for step in stage))
        for result in results:  # a check after a failure in the same stage depended on it: SKIPPED
            failed = any(c.status == FAIL for c in checks)
            checks.append(
                Check(result.code, SKIPPED, f"Skipped until {first_failure(checks)} passes.")
                if failed
                else result
            )
    return Diagnosis(checks, findings)


async def run_check(ctx: Context, code: str, step) -> Check:
    try:
        return await step(ctx)
    except AzureError as error:
        return Check(code, FAIL, error.message, error.remediation, transient=error.retryable)


def first_failure(checks: list[Check]) -> str:
    return next(c.code for c in checks if c.status == FAIL)


# --- what the checks read, fetched once -------------------------------------------------------------


async def list_projects(ctx: Context) -> list[Project]:
    async def fetch() -> list[Project]:
        ctx.findings.projects = [p async for p in ctx.org.list_projects(page_size=1000)]
        return ctx.findings.projects

    return ctx.findings.projects or await ctx.once("projects", fetch)


async def list_repositories(ctx: Context) -> list[Repository]:
    async def fetch() -> list[Repository]:
        ctx.findings.repositories = await ctx.org.list_repositories()
        return ctx.findings.repositories

    if ctx.findings.repositories is not None:
        return ctx.findings.repositories
    return await ctx.once("repositories", fetch)


def signed_in(ctx: Context) -> ConnectionData:
    """Who we are in the organization: read by the sign-in check, which every other check runs after."""
    if ctx.findings.me is None:
        raise RuntimeError("the sign-in check must run before the checks that need its identity")
    return ctx.findings.me


async def read_entitlement(ctx: Context) -> ServicePrincipalEntitlement | None:
    """The service principal's entitlement; None (and why, in findings) when the API refuses us."""

    async def fetch() -> ServicePrincipalEntitlement | None:
        try:
            ctx.findings.entitlement = await ctx.org.get_service_principal_entitlement(signed_in(ctx).user_id)
        except REFUSED as error:
            ctx.findings.entitlement_refused = f"HTTP {error.status}" if error.status else error.code
        return ctx.findings.entitlement

    return await ctx.once("entitlement", fetch)


async def read_permissions(ctx: Context) -> dict[str, bool]:
    """Project name -> Git Read, from one Security API evaluation batch for all projects; {} when refused
    (the reason is kept in findings), so the caller probes instead."""

    async def fetch() -> dict[str, bool]:
        projects = await list_projects(ctx)
        tokens = {f"repoV2/{p.id}": p.name for p in projects if p.id}
        try:
            values = await ctx.org.evaluate_permissions(GIT_REPOSITORIES_NAMESPACE, GIT_READ, list(tokens))
        except REFUSED as error:
            ctx.findings.permissions_refused = f"HTTP {error.status}" if error.status else error.code
            values = {}
        ctx.findings.permissions = {tokens[token]: allowed for token, allowed in values.items()}
        return ctx.findings.permissions

    return await ctx.once("permissions", fetch)


async def probe_candidates(ctx: Context) -> dict[str, Repository]:
    """Project name -> one non-empty, enabled repository to read."""
    candidates: dict[str, Repository] = {}
    for repo in await list_repositories(ctx):
        if repo.default_branch and not repo.is_disabled and not repo.is_in_maintenance:
            candidates.setdefault(repo.project.name, repo)
    return candidates


async def probe_code(ctx: Context, project_names: list[str]) -> dict[str, str]:
    """Read the refs of one non-empty, enabled repository of each named project: "ok", "denied" or "none".
    Results are kept in findings, so a project is read at most once per diagnosis."""
    candidates = await probe_candidates(ctx)

    async def probe(name: str) -> tuple[str, str]:
        repo = candidates.get(name)
        if repo is None:
            return name, "none"
        path = f"_apis/git/repositories/{path_segment(repo.id)}/refs"
        try:
            await ctx.org.get_json(path, {"filter": "heads/", "$top": 1})
        except CannotReadRepository:
            return name, "denied"
        return name, "ok"

    wanted = [name for name in dict.fromkeys(project_names) if name not in ctx.findings.probes]
    ctx.findings.probes.update(await asyncio.gather(*(probe(name) for name in wanted)))
    return {name: ctx.findings.probes[name] for name in project_names}


async def project_groups(ctx: Context) -> dict[str, str] | None:
    """Project name (lowercase) -> group, from the entitlement or else Graph; None when both refuse."""
    entitlement = await read_entitlement(ctx)
    if entitlement is not None:
        return {e.project_ref.name.lower(): e.group.group_type for e in entitlement.project_entitlements}
    try:
        memberships = await ctx.org.list_memberships(signed_in(ctx).subject_descriptor)
        groups = await asyncio.gather(*(ctx.org.get_group(m.container_descriptor) for m in memberships))
    except REFUSED:
        return None
    result: dict[str, str] = {}
    for group in groups:
        principal = group.principal_name  # "[Project]\\Contributors"
        if principal.startswith("[") and "]\\" in principal:
            project, _, name = principal[1:].partition("]\\")
            result[project.lower()] = "projectContributor" if name == "Contributors" else name
    return result
