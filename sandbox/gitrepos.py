"""The emulated repositories as real git repositories: commits computed from the scenario, written as a pack.

A repository's git history is a pure function of its scenario entry (`Repository.history`, `generated_commits`,
then `files` as the head of the default branch), so its commit ids are known without running git: the World
model stores the default branch's tip as `head_commit`, and the REST refs, items and commits calls answer the
same ids the git server advertises. Objects are hashed here exactly as git hashes them (blob, tree, commit), and
`write_repository` writes them as one pack that `git index-pack` indexes; `git fsck` accepts the result.

History, oldest first: each `Commit` applies its file changes (content, or None to delete) to its branch, which
starts from the default branch's state when it first appears. After the history, a commit makes the default
branch's tree exactly `files` (when it differs); then `generated_commits` (many small commits, for benchmarks)
go on top of it, each appending a line to one of 50 modules. Dates: a commit's own `date`, else `days_ago` before the head's date, else one hour per commit
before it; the head's date is `last_commit_date`, else today's midnight (UTC), so a history stays inside a
"last two years" bound whatever the day. A force-push is a change of `history` (tests: `rewrite`): the ids change,
the old commits become unreachable, exactly as after `git push --force`.
"""

from __future__ import annotations

import functools
import hashlib
import struct
import subprocess
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

AUTHOR = ("Sandbox", "sandbox@example.com")
GENERATED_SPAN_MINUTES = (
    100_000  # generated commit n is dated this many minutes minus n before the head's date
)


@dataclass(frozen=True)
class GitObject:
    kind: str  # blob, tree, commit
    data: bytes

    @functools.cached_property
    def id(self) -> str:
        return object_id(self.kind, self.data)


@dataclass
class BuiltHistory:
    objects: dict[str, GitObject]  # id -> object
    refs: dict[str, str]  # "refs/heads/main" -> commit id
    commits: list[str]  # every commit id, oldest first
    default_ref: str | None


def object_id(kind: str, data: bytes) -> str:
    return hashlib.sha1(b"%s %d\0" % (kind.encode(), len(data)) + data, usedforsecurity=False).hexdigest()


def tree_objects(files: dict[str, bytes], objects: dict[str, GitObject]) -> str:
    """Blobs and trees of `files` (path -> content) into `objects`; returns the root tree's id."""
    root: dict = {}
    for path, content in files.items():
        node = root
        parts = [p for p in path.strip("/").split("/") if p]
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = content
    return _tree(root, objects)


def _tree(node: dict, objects: dict[str, GitObject]) -> str:
    entries = []
    for name, value in node.items():
        if isinstance(value, dict):
            child, mode = _tree(value, objects), b"40000"
            sort_key = name.encode() + b"/"  # git sorts a tree's entries as if folders ended with "/"
        else:
            blob = GitObject("blob", value)
            child, mode, sort_key = blob.id, b"100644", name.encode()
            objects.setdefault(child, blob)
        entries.append((sort_key, mode + b" " + name.encode() + b"\0" + bytes.fromhex(child)))
    tree = GitObject("tree", b"".join(entry for _, entry in sorted(entries)))
    objects.setdefault(tree.id, tree)
    return tree.id


def commit_object(tree: str, parent: str | None, author: tuple[str, str], when: datetime, message: str):
    stamp = f"{int(when.timestamp())} +0000"
    who = f"{author[0]} <{author[1]}> {stamp}"
    lines = [f"tree {tree}", *([f"parent {parent}"] if parent else []), f"author {who}", f"committer {who}"]
    return GitObject("commit", ("\n".join(lines) + "\n\n" + message.rstrip("\n") + "\n").encode())


def head_date(repo) -> datetime:
    if repo.last_commit_date:
        return datetime.fromisoformat(repo.last_commit_date.replace("Z", "+00:00"))
    now = datetime.now(UTC)
    return datetime(now.year, now.month, now.day, tzinfo=UTC)


def generated_changes(count: int) -> list[dict]:
    """`count` small commits for benchmarks: each appends a line to one of 50 modules."""
    return [
        {"message": f"Generated change {n}", "files": {f"src/module_{n % 50:02d}.py": f"value_{n} = {n}\n"}}
        for n in range(count)
    ]


def build_history(repo) -> BuiltHistory:
    """Every object, ref and commit of the repository (see the module's docstring)."""
    objects: dict[str, GitObject] = {}
    if not repo.default_branch:
        return BuiltHistory(objects, {}, [], None)
    default = repo.default_branch
    generated_from = head_date(repo) - timedelta(minutes=GENERATED_SPAN_MINUTES)
    # With generated commits on top, the scenario's own commits come before them.
    head_when = generated_from - timedelta(minutes=1) if repo.generated_commits else head_date(repo)
    steps = [
        {
            "message": c.message,
            "files": c.files,
            "branch": c.branch or default,
            "author": (c.author, c.email),
            "date": c.date,
            "days_ago": c.days_ago,
        }
        for c in repo.history
    ]
    states: dict[str, dict[str, bytes]] = {default: {}}
    tips: dict[str, str | None] = {default: None}
    commits: list[str] = []
    total = len(steps) + 1
    for number, step in enumerate(steps):
        branch = step["branch"]
        if branch not in states:
            states[branch], tips[branch] = dict(states[default]), tips[default]
        state = states[branch]
        for path, content in step["files"].items():
            if content is None:
                state.pop(path.strip("/"), None)
            else:
                state[path.strip("/")] = content.encode()
        when = step_date(step, head_when, total - number)
        commit = commit_object(
            tree_objects(state, objects), tips[branch], step["author"], when, step["message"]
        )
        objects[commit.id] = commit
        tips[branch] = commit.id
        commits.append(commit.id)
    final = {path.strip("/"): content.encode() for path, content in repo.files.items()}
    if final != states[default] or tips[default] is None:
        commit = commit_object(
            tree_objects(final, objects), tips[default], AUTHOR, head_when, "Head of the default branch"
        )
        objects[commit.id] = commit
        tips[default] = commit.id
        commits.append(commit.id)
    state = dict(final)
    for n, change in enumerate(generated_changes(repo.generated_commits)):
        # On top of the head, each at its own fixed time: growing `generated_commits` adds commits and
        # leaves every earlier id as it was (what a push of new commits does).
        for path, content in change["files"].items():
            state[path] = state.get(path, b"") + content.encode()
        when = generated_from + timedelta(minutes=n)
        commit = commit_object(tree_objects(state, objects), tips[default], AUTHOR, when, change["message"])
        objects[commit.id] = commit
        tips[default] = commit.id
        commits.append(commit.id)
    refs = {f"refs/heads/{name}": tip for name, tip in tips.items() if tip}
    for name in repo.branches:  # the scenario's other branches point at the head, as the REST API says
        refs.setdefault(f"refs/heads/{name}", tips[default])
    return BuiltHistory(objects, refs, commits, f"refs/heads/{default}")


def step_date(step: dict, head_when: datetime, hours_before: int) -> datetime:
    if step.get("date"):
        return datetime.fromisoformat(step["date"].replace("Z", "+00:00"))
    if step.get("days_ago") is not None:
        return head_when - timedelta(days=step["days_ago"])
    return head_when - timedelta(hours=hours_before)


def head_commit(repo) -> str:
    """The default branch's tip: what the World stores as `head_commit` (cheap for small repositories)."""
    built = build_history(repo)
    return built.refs.get(built.default_ref or "", "") or repo.tree_digest()


def fingerprint(repo) -> str:
    """Changes whenever the repository's git content would (a rebuild is due)."""
    keys = ("files", "history", "generated_commits", "default_branch", "branches", "last_commit_date")
    dumped = repo.model_dump(include=set(keys), mode="json")
    if not repo.last_commit_date:
        dumped["day"] = head_date(repo).isoformat()
    return hashlib.sha256(repr(sorted(dumped.items())).encode()).hexdigest()


# --- writing ---------------------------------------------------------------------------------------------------
PACK_TYPES = {"commit": 1, "tree": 2, "blob": 3}


def pack_bytes(objects: list[GitObject]) -> bytes:
    """A version-2 pack of whole (undeltified) objects."""
    out = bytearray(b"PACK" + struct.pack(">II", 2, len(objects)))
    for obj in objects:
        size, kind = len(obj.data), PACK_TYPES[obj.kind]
        header = bytearray([(kind << 4) | (size & 0x0F)])
        size >>= 4
        while size:
            header[-1] |= 0x80
            header.append(size & 0x7F)
            size >>= 7
        out += header + zlib.compress(obj.data, 1)
    out += hashlib.sha1(out, usedforsecurity=False).digest()
    return bytes(out)


def write_repository(path: Path, built: BuiltHistory) -> None:
    """A bare repository at `path` (created empty first) holding `built`: one pack, its index, the refs."""
    path.mkdir(parents=True, exist_ok=True)
    run_git(["init", "--bare", "--quiet", str(path)])
    if built.objects:
        pack = path / "objects" / "pack" / "tmp-sandbox.pack"
        pack.write_bytes(pack_bytes(list(built.objects.values())))
        run_git(["index-pack", str(pack)], cwd=path)
        # index-pack wrote tmp-sandbox.idx; git finds packs by name pack-<sha>.pack: rename both.
        name = "pack-" + pack.read_bytes()[-20:].hex()
        pack.rename(pack.with_name(name + ".pack"))
        pack.with_suffix(".idx").rename(pack.with_name(name + ".idx"))
    lines = [f"{commit} {ref}" for ref, commit in sorted(built.refs.items())]
    (path / "packed-refs").write_text(
        "# pack-refs with: peeled fully-peeled sorted \n" + "".join(line + "\n" for line in lines)
    )
    if built.default_ref:
        (path / "HEAD").write_text(f"ref: {built.default_ref}\n")


def run_git(args: list[str], cwd: Path | None = None, stdin: bytes | None = None) -> bytes:
    env = {"PATH": "/usr/bin:/bin", "GIT_CONFIG_NOSYSTEM": "1", "HOME": "/nonexistent"}
    result = subprocess.run(  # noqa: S603 - fixed arguments of ours, no shell
        ["/usr/bin/git", *args], cwd=cwd, input=stdin, capture_output=True, env=env, check=False, timeout=600
    )
    if result.returncode != 0:
        raise RuntimeError(f"git {args[0]} failed: {result.stderr.decode(errors='replace')[:500]}")
    return result.stdout


def rewrite(repo, history: list) -> None:
    """A force-push: the repository's history replaced, its head recomputed (REST and git agree again)."""
    repo.history = history
    repo.head_commit = head_commit(repo)
