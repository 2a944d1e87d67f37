"""The emulator's git smart-HTTP server: real git clones what the REST API describes, behind the same checks."""

import asyncio
import ssl
import subprocess

import httpx

from core.history.fetch import Git, clone_url
from sandbox import gitrepos
from sandbox.scenario import Commit
from tests.worlds import CONTOSO_TENANT


def token_for(settings) -> str:
    from core.azure.tokens import TokenProvider

    tokens = TokenProvider(settings)
    try:
        return asyncio.run(tokens.get_token(CONTOSO_TENANT))
    finally:
        tokens.close()


def test_git_serves_the_history_whose_head_the_rest_refs_call_answers(sandbox, world, settings):
    repo = world.organization("contoso").project("Payments").repositories[0]
    gitrepos.rewrite(
        repo, [Commit(files={"a.txt": "one\n"}), Commit(files={"a.txt": None}, branch="feature")]
    )
    token = token_for(settings)
    url = clone_url(sandbox.devops_url, "contoso", "Payments", repo.name)
    git = Git(url, token, sandbox.ca_path)
    try:
        heads = git.remote_heads()
        rest = httpx.get(
            f"{sandbox.devops_url}/contoso/Payments/_apis/git/repositories/{repo.name}/refs",
            headers={"Authorization": f"Bearer {token}"},
            verify=ssl.create_default_context(cafile=str(sandbox.ca_path)),
        ).json()["value"]
        assert {r["name"]: r["objectId"] for r in rest} == heads
        assert heads["refs/heads/main"] == repo.head_commit
        git.init()
        git.run(["fetch", "--quiet", url, "+refs/heads/*:refs/heads/*"])
        assert git.run(["fsck", "--strict"]) == ""
        assert next(c for c, _ in git.commits(10)) in heads.values()
        push = subprocess.run(
            ["git", "push", url, "refs/heads/main:refs/heads/x"],
            cwd=git.repo,
            env=git.environment(),
            capture_output=True,
            text=True,
            check=False,
        )
        assert push.returncode != 0
        assert "TF401027: You need the Git 'GenericContribute' permission" in push.stderr
    finally:
        git.close()
