"""Merge commits in the history scan, with real git on a repository built here: a secret typed into a conflict's
resolution is found at the merge commit; a clean merge adds nothing of its own, so a secret its branch brought is
reported once, at the branch's commit. Every token is generated at test time."""

import os
import secrets
import string
import subprocess
from pathlib import Path

from core.history.fetch import GIT, Git
from core.history.patches import PatchStats, added_files, scan_added


def github_token() -> str:
    return "ghp_1" + "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(35))


def git(repo: Path, *args: str) -> str:
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(repo),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "Dana Developer",
        "GIT_AUTHOR_EMAIL": "dana@example.com",
        "GIT_COMMITTER_NAME": "Dana Developer",
        "GIT_COMMITTER_EMAIL": "dana@example.com",
    }
    done = subprocess.run([GIT, *args], cwd=repo, env=env, capture_output=True, text=True, check=False)
    return done.stdout.strip()


def write(repo: Path, path: str, text: str) -> None:
    (repo / path).write_text(text)
    git(repo, "add", path)


def scanned(tmp_path: Path, work: Path) -> list:
    """What the history scan finds in every commit of `work`, read from a bare copy as a fetch would leave it."""
    bare = tmp_path / "bare.git"
    subprocess.run(
        [GIT, "clone", "--bare", "--quiet", str(work), str(bare)], check=True, env={"PATH": "/usr/bin:/bin"}
    )
    reader = Git("https://dev.azure.com/unused/_git/unused", "unused-token")
    reader.repo = bare
    try:
        commits = reader.run(["rev-list", "--branches"]).split()
        stats = PatchStats()
        return list(scan_added(added_files(reader.patches(commits), stats), os.urandom(32), stats))
    finally:
        reader.close()


def test_a_secret_typed_into_a_conflict_resolution_is_found_at_the_merge(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    git(work, "init", "--quiet", "--initial-branch=main")
    write(work, "app.env", "NAME=app\nTOKEN=${TOKEN}\n")
    git(work, "commit", "--quiet", "-m", "base")
    git(work, "checkout", "--quiet", "-b", "feature")
    write(work, "app.env", "NAME=app\nTOKEN=${FEATURE_TOKEN}\n")
    git(work, "commit", "--quiet", "-m", "feature")
    git(work, "checkout", "--quiet", "main")
    write(work, "app.env", "NAME=app\nTOKEN=${MAIN_TOKEN}\n")
    git(work, "commit", "--quiet", "-m", "main")
    git(work, "merge", "--quiet", "feature")  # conflicts
    token = github_token()
    write(work, "app.env", f"NAME=app\nTOKEN={token}\n")  # the resolution: neither side's line
    git(work, "commit", "--quiet", "--no-edit")
    merge = git(work, "rev-parse", "HEAD")
    assert len(git(work, "rev-parse", "HEAD^@").split()) == 2

    [found] = scanned(tmp_path, work)
    assert (found.commit, found.path, found.line, found.author) == (merge, "app.env", 2, "Dana Developer")
    assert token not in found.preview


def test_a_clean_merge_adds_nothing_of_its_own(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    git(work, "init", "--quiet", "--initial-branch=main")
    write(work, "README.md", "# app\n")
    git(work, "commit", "--quiet", "-m", "base")
    git(work, "checkout", "--quiet", "-b", "feature")
    write(work, "deploy.sh", f"export GH_TOKEN={github_token()}\n")
    git(work, "commit", "--quiet", "-m", "feature")
    added = git(work, "rev-parse", "HEAD")
    git(work, "checkout", "--quiet", "main")
    write(work, "README.md", "# app\n\nMore.\n")
    git(work, "commit", "--quiet", "-m", "main")
    git(work, "merge", "--quiet", "--no-ff", "--no-edit", "feature")

    [found] = scanned(tmp_path, work)  # once, at the branch's commit: the merge brought it, did not add it
    assert (found.commit, found.path, found.line) == (added, "deploy.sh", 1)
