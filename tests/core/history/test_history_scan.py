"""Secrets in git history, end to end: real git over the emulator's HTTPS smart-HTTP server, the real
detectors, the real database. Every token is generated at test time."""

import logging
import os
import secrets
import string
import threading
from pathlib import Path

import pytest
from sqlmodel import select

from api.wiring import build_registry
from core.findings.models import Finding
from core.findings.sarif import repository_sarif
from core.history.fetch import HistoryLimits, HistoryRejected
from core.history.models import HistoryCommit, HistoryOccurrence, HistoryState
from core.history.service import scan_history
from core.scans.keys import secret_hash_key
from core.scans.scanner import secret_hash
from core.services import open_services
from sandbox import gitrepos
from sandbox.scenario import Commit
from tests.core.history.repository import connect, github_token, payments_api, scan, set_history


@pytest.fixture
def services_settings() -> dict:
    return {"posture_enabled": False, "scanners": "secrets", "history_enabled": True}


async def all_rows(services, model):
    async with services.sessions() as session:
        return list((await session.exec(select(model))).all())


async def test_a_secret_removed_from_the_head_is_still_reported_with_its_commit(services, world, sandbox):
    token = github_token()
    repo = payments_api(world)
    set_history(
        repo,
        [
            Commit(
                message="Deploy script",
                files={"ci/deploy.sh": f"echo hi\nexport GH_TOKEN={token}\n"},
                author="Dana Developer",
                email="dana@contoso.test",
                days_ago=30,
            ),
            Commit(message="Remove the token", files={"ci/deploy.sh": "echo hi\n"}, days_ago=29),
        ],
    )
    introducing = gitrepos.build_history(repo).commits[0]
    account_id, row, _ = await connect(services)

    run = await scan(services, row)
    assert run.status == "SUCCEEDED", run.error
    assert run.scanner_versions["history"].startswith("2+secrets.")
    findings = await all_rows(services, Finding)
    assert [(f.scanner, f.path, f.line, f.status, f.category) for f in findings] == [
        ("history", "ci/deploy.sh", 2, "OPEN", "SECRET")
    ]
    finding = findings[0]
    key = secret_hash_key(services.settings)
    assert finding.secret_hash == secret_hash(key, token)
    assert finding.rule_id.startswith("HISTORY-") and "git history" in finding.title
    assert introducing[:12] in finding.message and "only in history" in finding.message
    assert "Rotate" in finding.remediation
    assert token not in finding.message + finding.title + (finding.preview or "")
    [occurrence] = await all_rows(services, HistoryOccurrence)
    assert (
        occurrence.commit_id,
        occurrence.path,
        occurrence.line,
        occurrence.author_name,
        occurrence.in_head,
    ) == (introducing, "ci/deploy.sh", 2, "Dana Developer", False)

    # Unchanged: no pack fetched (one ref advertisement), the finding is not fixed by a head without it.
    packs = sandbox.context.git.fetches
    run = await scan(services, row)
    assert run.status == "SUCCEEDED", run.error
    assert sandbox.context.git.fetches == packs
    assert [(f.status, f.scanner) for f in await all_rows(services, Finding)] == [("OPEN", "history")]

    # SARIF: the repository and scanned commit as version control provenance, the introducing commit per result.
    async with services.sessions() as session:
        document = await repository_sarif(session, account_id, row.id)
    [run_doc] = document["runs"]
    assert run_doc["tool"]["driver"]["name"] == "panoptica-history"
    assert run_doc["versionControlProvenance"] == [
        {"repositoryUri": row.web_url, "revisionId": repo.head_commit, "branch": "refs/heads/main"}
    ]
    [result] = run_doc["results"]
    assert (result["properties"]["commit"], result["properties"]["inHistoryOnly"]) == (introducing, True)
    assert token not in str(document)


async def test_the_second_scan_scans_only_the_new_commits_and_a_secret_still_in_the_head(
    services, world, sandbox
):
    token = github_token()
    repo = payments_api(world)
    repo.files = {"README.md": "# api\n", "app/.env": f"GITHUB_TOKEN={token}\n"}
    set_history(repo, [], generated=20)
    _, row, _ = await connect(services)

    assert (await scan(services, row)).status == "SUCCEEDED"
    [state] = await all_rows(services, HistoryState)
    assert (state.commits_scanned, state.last_run_commits, state.bounded) == (21, 21, False)
    [history] = [f for f in await all_rows(services, Finding) if f.scanner == "history"]
    assert "still in the head" in history.message

    set_history(repo, [], generated=25)  # five commits pushed on top
    assert (await scan(services, row)).status == "SUCCEEDED"
    [state] = await all_rows(services, HistoryState)
    assert (state.commits_scanned, state.last_run_commits) == (26, 5)
    assert len(await all_rows(services, HistoryCommit)) == 26


async def test_a_force_push_keeps_the_findings_of_commits_no_longer_reachable(services, world):
    token = github_token()
    repo = payments_api(world)
    set_history(repo, [Commit(message="oops", files={"key.txt": f"token={token}\n"}, days_ago=3)])
    _, row, _ = await connect(services)
    assert (await scan(services, row)).status == "SUCCEEDED"
    before = {c.commit_id for c in await all_rows(services, HistoryCommit)}

    set_history(repo, [Commit(message="clean", files={"key.txt": "token=${TOKEN}\n"}, days_ago=3)])
    run = await scan(services, row)
    assert run.status == "SUCCEEDED", run.error
    commits = {c.commit_id: c.reachable for c in await all_rows(services, HistoryCommit)}
    assert all(commits[c] is False for c in before) and any(commits.values())
    [occurrence] = await all_rows(services, HistoryOccurrence)
    assert occurrence.reachable is False
    [state] = await all_rows(services, HistoryState)
    assert state.unreachable_commits == len(before)
    assert [(f.scanner, f.status) for f in await all_rows(services, Finding)] == [("history", "OPEN")]


async def test_the_token_never_appears_in_process_arguments_logs_or_errors(services, world, caplog):
    repo = payments_api(world)
    set_history(repo, [Commit(files={"a.txt": "a\n"})], generated=200)
    _, row, connection = await connect(services)
    token = await services.tokens.get_token(connection.tenant_id)
    seen: list[str] = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            for pid in os.listdir("/proc"):
                if pid.isdigit():
                    try:
                        seen.append(Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode())
                    except OSError:
                        continue

    sampler = threading.Thread(target=sample, daemon=True)
    caplog.set_level(logging.INFO)
    sampler.start()
    try:
        run = await scan(services, row)
        world.organization("contoso").members[0].access_level = "stakeholder"
        with pytest.raises(HistoryRejected) as refused:
            await scan_history(services, row, connection, b"k")
    finally:
        stop.set()
        sampler.join()
    assert run.status == "SUCCEEDED", run.error
    git_lines = [line for line in seen if "git" in line and ("fetch" in line or "ls-remote" in line)]
    assert git_lines, "the sampler saw git running"
    assert not [line for line in seen if token in line]
    assert token not in caplog.text
    assert token not in refused.value.reason and "TF401019" in refused.value.reason


@pytest.mark.parametrize("refusal", ["stakeholder", "not in the project"])
async def test_permission_refusal_has_azure_devops_words(services, world, refusal):
    _, row, connection = await connect(services)
    member = world.organization("contoso").members[0]
    if refusal == "stakeholder":
        member.access_level = "stakeholder"
    else:
        member.projects = {k: v for k, v in member.projects.items() if k != "Payments"}
    with pytest.raises(HistoryRejected) as refused:
        await scan_history(services, row, connection, b"k")
    assert refused.value.reason == (
        "Azure DevOps refused git ls-remote: TF401019: The Git repository with name or identifier payments-api "
        "does not exist or you do not have permissions for the operation you are attempting."
    )
    assert await all_rows(services, HistoryState) == []


async def test_a_hostile_repository_stops_at_the_limits_with_a_clear_reason(services, world, sandbox):
    repo = payments_api(world)
    big = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(3 * 1024 * 1024))
    set_history(repo, [Commit(files={"blob.bin": big})])
    _, row, connection = await connect(services)
    with pytest.raises(HistoryRejected) as huge:
        await scan_history(services, row, connection, b"k", limits=HistoryLimits(fetch_bytes=1024 * 1024))
    assert huge.value.reason == (
        "The repository's history is larger than 1048576 bytes: the fetch was stopped at the limit."
    )

    repo.branches = [f"feature/{n}" for n in range(30)]
    repo.head_commit = gitrepos.head_commit(repo)
    with pytest.raises(HistoryRejected) as refs:
        await scan_history(services, row, connection, b"k", limits=HistoryLimits(refs=10))
    assert refs.value.reason == "The repository has more than 10 branches."
    assert await all_rows(services, HistoryCommit) == []


async def test_the_digest_counts_new_secrets_in_history_after_a_baseline(services, world):
    from core.db.columns import utcnow
    from core.digests.summary import load_findings

    repo = payments_api(world)
    set_history(repo, [Commit(files={"old.env": f"GITHUB_TOKEN={github_token()}\n"}, days_ago=5)])
    _, row, _ = await connect(services)
    assert (await scan(services, row)).status == "SUCCEEDED"
    after_first = utcnow()
    async with services.sessions() as session:
        first = await load_findings(session, {row.id: row.name}, None, utcnow())
    # The first history scan is a baseline: counted on the baseline line, not as news.
    assert (first.new_in_history, first.baseline_repositories) == (0, 1)

    # Two secrets pushed and deleted again since: news, and nothing in the head to show for it.
    set_history(
        repo,
        [
            *repo.history,
            Commit(files={"a.env": f"GITHUB_TOKEN={github_token()}\n", "b.env": f"X={github_token()}\n"}),
            Commit(files={"a.env": None, "b.env": None}),
        ],
    )
    assert (await scan(services, row)).status == "SUCCEEDED"
    async with services.sessions() as session:
        later = await load_findings(session, {row.id: row.name}, after_first, utcnow())
    assert later.new_in_history == 2


def test_the_digest_says_how_many_new_secrets_were_found_in_history():
    from datetime import UTC, datetime

    from bot.digests import render_digest
    from core.digests.summary import DigestSummary, FindingsSummary, RepositorySummary, Scope

    until = datetime(2030, 1, 2, 9, 0, tzinfo=UTC)
    message = render_digest(
        DigestSummary(
            day="2030-01-02",
            scope=Scope(),
            baseline=False,
            since=datetime(2030, 1, 1, 9, 0, tzinfo=UTC),
            until=until,
            connections=(),
            repositories=RepositorySummary(total=1),
            findings=FindingsSummary(new_by_severity={"HIGH": 3}, new_in_history=3),
        ),
        "https://panoptica.example",
    )
    assert "3 new secrets found in history" in str(message["blocks"])


async def test_the_first_scan_stops_at_the_commit_bound_and_says_so(settings, db, tmp_path, world):
    bounded = settings.model_copy(
        update={
            "key_directory": str(tmp_path),
            "posture_enabled": False,
            "scanners": "secrets",
            "history_enabled": True,
            "history_max_commits": 5,
        }
    )
    set_history(payments_api(world), [], generated=12)
    async with open_services(bounded, jobs=build_registry()) as services:
        _, row, _ = await connect(services)
        assert (await scan(services, row)).status == "SUCCEEDED"
        [state] = await all_rows(services, HistoryState)
    assert (state.commits_scanned, state.bounded) == (5, True)
    assert state.note == (
        "5 new commit(s) scanned, 0 secret occurrence(s) found; stopped at the history bound (older commits not "
        "scanned)."
    )


async def test_object_and_time_limits_stop_the_fetch_with_their_reason(services, world):
    set_history(payments_api(world), [], generated=20)
    _, row, connection = await connect(services)
    with pytest.raises(HistoryRejected) as objects:
        await scan_history(services, row, connection, b"k", limits=HistoryLimits(objects=10))
    assert objects.value.reason == "The repository's history has more than 10 objects."
    with pytest.raises(HistoryRejected) as slow:
        await scan_history(services, row, connection, b"k", limits=HistoryLimits(seconds=0))
    assert slow.value.reason == "git took longer than 0 s: stopped."
    assert await all_rows(services, HistoryCommit) == []
