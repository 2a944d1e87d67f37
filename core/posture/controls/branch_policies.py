"""Default-branch policies of each repository (ADO-REPO-01…04, 08): who must review, and what must pass.

Policies come from the project's `policy/configurations`; one applies to a repository's default branch when
a scope entry names that repository (or none: every repository) and that branch (exactly, or by prefix).
Only enabled, blocking, non-deleted policies count: an optional policy protects nothing.
"""

from __future__ import annotations

from core.azure.models import PolicyConfiguration, PolicySettings
from core.posture.control import Control, Resource, Status, control
from core.posture.data import ProjectData

MIN_REVIEWERS = "fa4e907d-c16b-4a4c-9dfa-4906e5d171dd"
BUILD = "0609b952-1397-4640-95ec-e00a01b2c241"
STATUS = "cbdc66da-9728-4af8-aada-9a5a32e4a226"
COMMENTS = "c6a1889d-b943-4856-b76f-9e46bb6b0df2"
DOCS = "https://learn.microsoft.com/en-us/azure/devops/repos/git/branch-policies"


def branch_ref(repository) -> str:
    branch = repository.default_branch or ""
    return branch if branch.startswith("refs/") else f"refs/heads/{branch}"


def applies(config: PolicyConfiguration, repository_id: str, ref: str) -> bool:
    for scope in config.settings.scope:
        if scope.repository_id not in (None, repository_id):
            continue
        scope_ref = scope.ref_name
        if scope_ref is None:
            return True
        if (scope.match_kind or "exact").lower() == "prefix":
            if ref.startswith(scope_ref):
                return True
        elif ref.lower() == scope_ref.lower():
            return True
    return False


def enforced(data: ProjectData, repository, type_ids: tuple[str, ...]) -> list[PolicyConfiguration]:
    """The enabled, blocking policies of these types on the repository's default branch."""
    ref = branch_ref(repository)
    return [
        c
        for c in data.policies.value or []
        if c.type.id in type_ids
        and c.is_enabled
        and c.is_blocking
        and not c.is_deleted
        and applies(c, repository.ado_id, ref)
    ]


def branch_resources(data: ProjectData):
    """Each repository with a default branch, as the resource of a branch-policy result."""
    for repository in data.repositories:
        if repository.default_branch:
            yield Resource("repository", repository.ado_id, repository.name, repository.id), repository


def per_branch(check, data: ProjectData, judge):
    """NOT_EVALUATED for every repository when the policies are unreadable; else `judge` decides."""
    for resource, repository in branch_resources(data):
        if not data.policies.ok:
            yield check.result(resource, Status.NOT_EVALUATED, data.policies.error)
            continue
        yield judge(resource, repository)


def reviewer_settings(data: ProjectData, repository) -> list[PolicySettings]:
    return [c.settings for c in enforced(data, repository, (MIN_REVIEWERS,))]


@control(
    id="ADO-REPO-01",
    title="Default branch requires at least one reviewer",
    severity="HIGH",
    resource_type="repository",
    rationale="Without a blocking minimum-reviewers policy anyone who can push merges unreviewed code into "
    "the branch that is built and released.",
    remediation="Project settings → Repositories → the repository → Policies → the default branch: turn on "
    "'Require a minimum number of reviewers' (2 recommended) as required.",
    help_uri=DOCS,
    sources=("Defender for Cloud: two reviewers (High)", "CIS 1.1.3", "Scorecard Branch-Protection"),
)
def minimum_reviewers(check: Control, data: ProjectData):

    def judge(resource, repository):
        counts = [s.minimum_approver_count for s in reviewer_settings(data, repository)]
        best = max(counts, default=0)
        branch = branch_ref(repository)
        return check.check(
            resource,
            best >= 1,
            f"{repository.name}: {branch} requires {best} reviewer(s)"
            + (" (2 are recommended)." if best == 1 else "."),
            f"{repository.name}: {branch} has no required minimum-reviewers policy.",
        )

    return per_branch(check, data, judge)


@control(
    id="ADO-REPO-02",
    title="Authors cannot approve their own changes",
    severity="HIGH",
    resource_type="repository",
    rationale="When the creator's vote counts, or the last pusher may approve, one person can push and merge "
    "a change alone.",
    remediation="In the minimum-reviewers policy of the default branch, clear 'Allow requestors to approve "
    "their own changes' and check 'Prohibit the most recent pusher from approving their own changes'.",
    help_uri=DOCS,
    sources=("Defender for Cloud: requestors can't approve own PRs (High)", "Scorecard Branch-Protection"),
)
def no_self_approval(check: Control, data: ProjectData):

    def judge(resource, repository):
        settings = reviewer_settings(data, repository)
        safe = any(not s.creator_vote_counts and s.block_last_pusher_vote for s in settings)
        if not settings:
            why = "has no required minimum-reviewers policy, so authors merge alone"
        elif any(s.creator_vote_counts for s in settings):
            why = "counts the author's own vote"
        else:
            why = "lets the most recent pusher approve"
        return check.check(
            resource,
            safe,
            f"{repository.name}: the author's and last pusher's votes do not count.",
            f"{repository.name}: the default branch policy {why}.",
        )

    return per_branch(check, data, judge)


@control(
    id="ADO-REPO-03",
    title="Approvals reset when new changes are pushed",
    severity="MEDIUM",
    resource_type="repository",
    rationale="An approval that survives later pushes approves code nobody reviewed.",
    remediation="In the minimum-reviewers policy of the default branch, choose 'When new changes are pushed: "
    "reset all approval votes' (or require a vote on the last iteration).",
    help_uri=DOCS,
    sources=("CIS 1.1.4", "Legitify dismisses_stale_reviews", "Scorecard Branch-Protection T5"),
)
def reset_on_push(check: Control, data: ProjectData):

    def judge(resource, repository):
        settings = reviewer_settings(data, repository)
        safe = any(s.reset_on_source_push or s.require_vote_on_last_iteration for s in settings)
        return check.check(
            resource,
            safe,
            f"{repository.name}: approvals reset when changes are pushed.",
            f"{repository.name}: approvals on the default branch survive new pushes"
            + ("" if settings else " (no required reviewer policy)")
            + ".",
        )

    return per_branch(check, data, judge)


@control(
    id="ADO-REPO-04",
    title="Default branch requires a passing build",
    severity="MEDIUM",
    resource_type="repository",
    rationale="Without build validation (or a required status check) broken or failing code, including "
    "failing security checks, can be merged.",
    remediation="Add a required 'Build validation' policy (or a required status check) to the default branch.",
    help_uri=DOCS,
    sources=("CIS 1.1.9", "Legitify requires_status_checks", "Scorecard Branch-Protection T3"),
)
def build_validation(check: Control, data: ProjectData):

    def judge(resource, repository):
        found = enforced(data, repository, (BUILD, STATUS))
        return check.check(
            resource,
            bool(found),
            f"{repository.name}: merging requires a passing build or status check.",
            f"{repository.name}: the default branch has no required build validation or status check.",
        )

    return per_branch(check, data, judge)


@control(
    id="ADO-REPO-08",
    title="Default branch requires comments to be resolved",
    severity="LOW",
    resource_type="repository",
    rationale="Review comments left open at merge time are review findings nobody acted on.",
    remediation="Add the required 'Check for comment resolution' policy to the default branch.",
    help_uri=DOCS,
    sources=("CIS 1.1.11", "Legitify no_conversation_resolution"),
)
def comment_resolution(check: Control, data: ProjectData):

    def judge(resource, repository):
        found = enforced(data, repository, (COMMENTS,))
        return check.check(
            resource,
            bool(found),
            f"{repository.name}: comments must be resolved before merging.",
            f"{repository.name}: pull requests can merge with unresolved comments.",
        )

    return per_branch(check, data, judge)
