"""Git over smart HTTP for the emulated repositories: `https://dev.azure.com/{org}/{project}/_git/{repo}`.

The routes are `AdoRoute`s of the dev host, so a git client meets the same dispatcher as the REST API: unknown
organization, bearer token (sandbox/identity.py), then `readable_repository`, which answers TF401019 to a
Stakeholder on a private project, to a principal not added to the project and for a disabled repository. Errors
reach git as `text/plain` (what Azure DevOps sends), which git prints as `remote: TF401019: …` before its own
`fatal:` line. Only fetching is served: a push is refused with TF401027.

Each repository is written once per content (sandbox/gitrepos.py, keyed by its fingerprint) into a bare
repository under the sandbox's directory, and `git http-backend` (the CGI that ships with git) serves it: real
ref advertisement, protocol v2, negotiation, shallow fetches and packs. `GitStore` counts what it served.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import os
import shutil
import threading
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from sandbox import gitrepos
from sandbox.adohttp import AdoRoute

HTTP_BACKEND = "/usr/lib/git-core/git-http-backend"
SERVICES = ("git-upload-pack",)


@dataclass
class GitStore:
    """The bare repositories on disk, rebuilt when a repository's scenario entry changes."""

    root: Path
    bytes_served: int = 0  # response bytes of git requests (advertisements and packs)
    upload_packs: int = 0  # POSTs to git-upload-pack (protocol v2 lists refs this way too)
    fetches: int = 0  # of which fetches (objects asked for): what an unchanged repository must not cost
    _built: dict[str, str] = field(default_factory=dict)  # repository id -> fingerprint on disk
    _refs: dict[str, tuple[str, dict[str, str]]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def path(self, repo) -> Path:
        """The repository's bare directory, (re)written first when its content changed."""
        print_ = gitrepos.fingerprint(repo)
        directory = self.root / f"{repo.id}-{print_[:16]}.git"
        with self._lock:
            if self._built.get(repo.id) != print_:
                if not directory.exists():
                    tmp = directory.with_suffix(".tmp")
                    shutil.rmtree(tmp, ignore_errors=True)
                    gitrepos.write_repository(tmp, gitrepos.build_history(repo))
                    tmp.rename(directory)
                self._built[repo.id] = print_
        return directory

    def refs(self, repo) -> dict[str, str]:
        """Branch -> commit, as git advertises them (the REST refs list answers the same)."""
        print_ = gitrepos.fingerprint(repo)
        cached = self._refs.get(repo.id)
        if cached is None or cached[0] != print_:
            cached = (print_, gitrepos.build_history(repo).refs)
            self._refs[repo.id] = cached
        return cached[1]


def git_routes(context, readable_repository) -> list[AdoRoute]:
    store: GitStore = context.git

    async def info_refs(request: Request, caller, org: str, project: str, repo: str) -> Response:
        service = request.query_params.get("service", "")
        if service not in SERVICES:
            return push_refused() if service == "git-receive-pack" else dumb_refused()
        return await serve(request, caller, project, repo, "info/refs")

    async def upload_pack(request: Request, caller, org: str, project: str, repo: str) -> Response:
        return await serve(request, caller, project, repo, "git-upload-pack")

    async def receive_pack(request: Request, caller, org: str, project: str, repo: str) -> Response:
        return push_refused()

    async def serve(request: Request, caller, project: str, repo: str, suffix: str) -> Response:
        with context.holder.lock:
            found = readable_repository(caller, project, repo)
            if isinstance(found, Response):
                return found
            snapshot = found[1].model_copy(
                deep=True
            )  # built outside the lock: the world may change meanwhile
        directory = await asyncio.to_thread(store.path, snapshot)
        if suffix == "git-upload-pack":
            store.upload_packs += 1
        return await http_backend(request, store, directory, suffix)

    base = "/{org}/{project}/_git/{repo}"
    return [
        AdoRoute("GET", base + "/info/refs", info_refs),
        AdoRoute("POST", base + "/git-upload-pack", upload_pack),
        AdoRoute("POST", base + "/git-receive-pack", receive_pack),
    ]


def push_refused() -> Response:
    return Response(
        "TF401027: You need the Git 'GenericContribute' permission to perform this action.",
        status_code=403,
        media_type="text/plain",
    )


def dumb_refused() -> Response:
    return Response("Only the smart HTTP protocol is served.", status_code=403, media_type="text/plain")


async def http_backend(request: Request, store: GitStore, directory: Path, suffix: str) -> Response:
    """Run `git http-backend` for one request (CGI: environment and stdin in, headers and body out)."""
    body = await request.body()
    if suffix == "git-upload-pack" and is_fetch(body, request.headers.get("content-encoding", "")):
        store.fetches += 1
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(store.root),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_PROJECT_ROOT": str(directory.parent),
        "GIT_HTTP_EXPORT_ALL": "1",
        "PATH_INFO": f"/{directory.name}/{suffix}",
        "REQUEST_METHOD": request.method,
        "QUERY_STRING": request.url.query,
        "CONTENT_TYPE": request.headers.get("content-type", ""),
        "CONTENT_LENGTH": str(len(body)),
        "REMOTE_ADDR": request.client.host if request.client else "127.0.0.1",
        "GIT_PROTOCOL": request.headers.get("git-protocol", ""),
        "HTTP_CONTENT_ENCODING": request.headers.get("content-encoding", ""),
    }
    with open(store.root / "http-backend.log", "ab") as log:  # the CGI's complaints, for whoever debugs
        process = await asyncio.create_subprocess_exec(
            HTTP_BACKEND,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=log,
            env=env,
        )
    # A GET's empty body: the CGI may answer and exit before reading it, which is no error.
    with contextlib.suppress(ConnectionResetError, BrokenPipeError):
        process.stdin.write(body)
        await process.stdin.drain()
        process.stdin.close()
    status, headers = 200, {}
    while True:
        line = (await process.stdout.readline()).decode("latin-1").rstrip("\r\n")
        if not line:
            break
        name, _, value = line.partition(":")
        if name.lower() == "status":
            status = int(value.strip().split()[0])
        else:
            headers[name.strip()] = value.strip()
    media = headers.pop("Content-Type", None)

    async def stream():
        try:
            while chunk := await process.stdout.read(65536):
                store.bytes_served += len(chunk)
                yield chunk
        finally:
            if process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
            await process.wait()

    return StreamingResponse(stream(), status_code=status, headers=headers, media_type=media)


def is_fetch(body: bytes, encoding: str) -> bool:
    if encoding.lower() == "gzip":
        with contextlib.suppress(OSError, EOFError, zlib.error):
            body = gzip.decompress(body)
    return b"command=fetch" in body or body[4:9] == b"want "


class PlainGitErrors:
    """Azure DevOps answers git clients' errors as text/plain (git shows it as `remote: …`); the REST
    dispatcher's JSON errors (TF400813, TF401444, TF401019) are rewritten so for paths under `/_git/`."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or "/_git/" not in scope.get("path", ""):
            await self.app(scope, receive, send)
            return
        start: dict = {}
        chunks: list[bytes] = []

        async def capture(message) -> None:
            if message["type"] == "http.response.start":
                kind = dict(message.get("headers") or []).get(b"content-type", b"")
                if message["status"] >= 400 and kind.startswith(b"application/json"):
                    start.update(message)
                    return
                await send(message)
            elif start:
                chunks.append(message.get("body", b""))
                if not message.get("more_body"):
                    await send_plain(send, start, b"".join(chunks))
            else:
                await send(message)

        await self.app(scope, receive, capture)


async def send_plain(send, start: dict, body: bytes) -> None:
    try:
        text = str(json.loads(body.decode("utf-8-sig")).get("message", "")).encode()
    except (ValueError, AttributeError):
        text = body
    headers = [(k, v) for k, v in start.get("headers", []) if k not in (b"content-type", b"content-length")]
    headers += [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(text)).encode())]
    await send({"type": "http.response.start", "status": start["status"], "headers": headers})
    await send({"type": "http.response.body", "body": text})


def new_store(directory: Path) -> GitStore:
    root = directory / "git"
    root.mkdir(parents=True, exist_ok=True)
    os.chmod(root, 0o700)
    return GitStore(root)
