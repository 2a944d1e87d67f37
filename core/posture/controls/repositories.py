"""Repository hygiene (ADO-REPO-07): repositories nobody commits to any more.

An inactive repository still has build pipelines, service connections and secrets wired to it, and nobody
watching; it is a candidate for archiving (disable the repository) or deletion.
"""

from __future__ import annotations

from core.posture.control import Control, Resource, Status, control
from core.posture.data import ProjectData, parse_date


@control(
    id="ADO-REPO-07",
    title="Repositories are active",
    severity="MEDIUM",
    resource_type="repository",
    rationale="A repository without commits for months keeps its pipelines, credentials and permissions while "
    "nobody maintains its dependencies or reviews its access.",
    remediation="Archive it (Project settings → Repositories → Disable repository) or delete it; if it is "
    "still used, make sure someone owns it.",
    help_uri="https://learn.microsoft.com/en-us/azure/devops/repos/git/repository-settings#disable-repository",
    sources=("AzSK Repository_DP_Inactive_Repos", "Legitify repository_not_maintained"),
)
def inactive_repositories(check: Control, data: ProjectData):
    for repository in data.repositories:
        if not repository.default_branch:
            continue
        resource = Resource("repository", repository.ado_id, repository.name, repository.id)
        last = data.last_commits.get(repository.id)
        if last is None or not last.ok:
            reason = last.why if last is not None else f"{repository.name}: its history was not read."
            yield check.result(resource, Status.NOT_EVALUATED, reason)
            continue
        when = parse_date(last.value)
        if when is None:
            yield check.result(
                resource, Status.NOT_EVALUATED, f"{repository.name}: Azure DevOps returned no commit date."
            )
            continue
        assert data.now is not None  # the evaluation reads its data with its clock
        idle = (data.now - when).days
        yield check.check(
            resource,
            idle < data.inactive_days,
            f"{repository.name}: last commit {idle} day(s) ago.",
            f"{repository.name}: no commit on the default branch for {idle} days "
            f"(threshold {data.inactive_days}).",
        )
