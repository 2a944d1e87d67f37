"""Serves every emulated host over HTTPS on loopback, one port per host, from one uvicorn server.

Hosts are told apart by the port a request arrived on (ASGI `scope["server"]`), so each keeps its own
base URL just as `login.microsoftonline.com`, `dev.azure.com`, `vssps.dev.azure.com`,
`vsaex.dev.azure.com`, `slack.com` and `api.osv.dev` do. Clients find the vssps and vsaex hosts through resource areas.
"""

from __future__ import annotations

import contextlib
import secrets
import shutil
import socket
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import trustme
import uvicorn
from cryptography.hazmat.primitives.asymmetric import rsa

from sandbox.faults import FaultMiddleware, RequestRecord, RetryAfterOn200
from sandbox.gitserve import GitStore, new_store
from sandbox.scenario import World, WorldHolder

HOSTS = ("login", "dev", "vssps", "vsaex", "slack", "admin", "osv")


@dataclass
class SandboxContext:
    """What every host's app shares: the world, the base URLs, the token signing key, the logs."""

    holder: WorldHolder
    urls: dict[str, str]
    token_key: str = field(default_factory=lambda: secrets.token_hex(32))
    # Signs id tokens (RS256); its public half is served at each tenant's jwks_uri.
    id_token_key: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    # Authorization codes of the sign-in flow: code -> what it was issued for (single use).
    auth_codes: dict[str, dict] = field(default_factory=dict)
    requests: list[RequestRecord] = field(default_factory=list)
    slack_calls: list[dict] = field(default_factory=list)
    git: GitStore | None = None  # the repositories served over git's smart HTTP (sandbox/gitserve.py)
    # Where the emulated workspace sends slash commands, and the secret it signs them with (sandbox/slack_page.py):
    # {"url": ".../slack/events", "signing_secret": ...}; empty, its page only shows messages.
    slack_app: dict = field(default_factory=dict)

    @property
    def world(self) -> World:
        return self.holder.world

    def count(self, host: str | None = None, path_contains: str = "") -> int:
        return sum(1 for r in self.requests if (host is None or r.host == host) and path_contains in r.path)


def _build_host_app(name: str, context: SandboxContext):
    # Imported here so that each host module can import SandboxContext from this one.
    from sandbox import admin, devops, entra, osv, slack, vsaex, vssps

    builders = {
        "login": entra.build_app,
        "dev": devops.build_app,
        "vssps": vssps.build_app,
        "vsaex": vsaex.build_app,
        "slack": slack.build_app,
        "admin": admin.build_app,
        "osv": osv.build_app,
    }
    app = RetryAfterOn200(builders[name](context))
    return FaultMiddleware(app, name, context.holder, context.requests)


class PortRouter:
    """One ASGI app in front of the hosts: picks the host by the port the request came in on."""

    def __init__(self, apps_by_port: dict[int, object]) -> None:
        self.apps_by_port = apps_by_port

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        app = self.apps_by_port[scope["server"][1]]
        await app(scope, receive, send)


class Sandbox:
    """The running emulator. Use as a context manager, or `start()` and `stop()`."""

    def __init__(self, world: World, ports: dict[str, int] | None = None, host: str = "127.0.0.1") -> None:
        self.host = host
        self._requested_ports = ports or {}
        self._dir = Path(tempfile.mkdtemp(prefix="panoptica-sandbox-"))
        self.ca = trustme.CA()
        self.ca_path = self._dir / "ca.pem"
        self.ca.cert_pem.write_to_path(str(self.ca_path))
        self._sockets = {name: self._bind(self._requested_ports.get(name, 0)) for name in HOSTS}
        self.ports = {name: sock.getsockname()[1] for name, sock in self._sockets.items()}
        urls = {name: f"https://{host}:{port}" for name, port in self.ports.items()}
        self.context = SandboxContext(WorldHolder(world), urls, git=new_store(self._dir))
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    # --- the URLs a client is configured with -------------------------------------------------
    @property
    def urls(self) -> dict[str, str]:
        return self.context.urls

    @property
    def authority_host(self) -> str:
        return self.urls["login"]

    @property
    def devops_url(self) -> str:
        return self.urls["dev"]

    @property
    def slack_api_url(self) -> str:
        return self.urls["slack"] + "/api/"

    @property
    def osv_url(self) -> str:
        return self.urls["osv"]

    @property
    def holder(self) -> WorldHolder:
        return self.context.holder

    @property
    def world(self) -> World:
        return self.context.holder.world

    # --- lifecycle -----------------------------------------------------------------------------
    def _bind(self, port: int) -> socket.socket:
        # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets whose protocol says TCP; with
        # protocol 0 every answer waited ~40 ms on Nagle's algorithm and the client's delayed ACK.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, port))
        sock.listen(1024)
        sock.set_inheritable(True)
        return sock

    def start(self) -> Sandbox:
        cert = self.ca.issue_cert(self.host, "localhost")
        cert_path, key_path = self._dir / "cert.pem", self._dir / "key.pem"
        cert.private_key_pem.write_to_path(str(key_path))
        cert.cert_chain_pems[0].write_to_path(str(cert_path))
        for extra in cert.cert_chain_pems[1:]:
            extra.write_to_path(str(cert_path), append=True)
        apps = {self.ports[name]: _build_host_app(name, self.context) for name in HOSTS}
        config = uvicorn.Config(
            PortRouter(apps),
            ssl_certfile=str(cert_path),
            ssl_keyfile=str(key_path),
            log_level="warning",
            access_log=False,
            lifespan="on",
            timeout_keep_alive=30,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": list(self._sockets.values())}, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("sandbox did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        for sock in self._sockets.values():
            with contextlib.suppress(OSError):
                sock.close()
        # The CA, the TLS private key and the git repositories live only as long as the emulator.
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
