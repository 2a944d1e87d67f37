"""The emulated world: tenants, our app, organizations, projects, repositories and faults.

A scenario is declared in YAML or JSON (see `scenarios/demo.yaml`), validated by these models, and
changed at run time through the admin endpoint or directly by tests (`Sandbox.world`).
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import uuid
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from sandbox import gitrepos

ZERO_TENANT = "00000000-0000-0000-0000-000000000000"
AccessLevel = Literal["express", "stakeholder", "advanced", "none"]
ProjectGroup = Literal["projectContributor", "projectReader", "projectAdministrator", "projectStakeholder"]


def stable_id(*parts: str) -> str:
    """A GUID derived from names, so a scenario file need not spell every id."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "/".join(parts)))


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class App(Model):
    """A multi-tenant app registration (ours, usually)."""

    client_id: str
    display_name: str = "Panoptica"
    secret: str | None = None
    secret_expired: bool = False
    certificate_thumbprint: str | None = None
    certificate_pem: str | None = None  # public certificate, to verify client assertions
    redirect_uris: list[str] = []  # empty: any redirect URI is accepted (a convenience of the sandbox)


class ServicePrincipal(Model):
    """The app's enterprise application in a tenant: exists once an admin consented."""

    client_id: str
    object_id: str = ""
    consented_at: float | None = None
    enabled: bool = True


class User(Model):
    """A person of a tenant who can sign in on the emulated Microsoft sign-in page."""

    upn: str  # the id token's preferred_username
    display_name: str = ""
    object_id: str = ""


class Tenant(Model):
    id: str
    name: str
    domain: str = ""
    service_principals: list[ServicePrincipal] = []
    users: list[User] = []
    # Client ids blocked by a Conditional Access policy for workload identities (AADSTS53003).
    conditional_access_blocks: list[str] = []
    # Seconds after consent during which token requests still fail (AADSTS7000229), as in real Entra ID.
    consent_propagation_seconds: float = 0.0

    def principal(self, client_id: str) -> ServicePrincipal | None:
        return next((sp for sp in self.service_principals if sp.client_id == client_id), None)

    def user(self, upn: str) -> User | None:
        return next((u for u in self.users if u.upn.lower() == upn.lower()), None)


class FileEntry(Model):
    path: str
    content: str


class Commit(Model):
    """One commit of a repository's git history (sandbox/gitrepos.py): file changes, None deleting a file."""

    message: str = "Change"
    files: dict[str, str | None] = {}
    branch: str | None = None  # None: the default branch; another name starts from the default branch
    author: str = "Sandbox"
    email: str = "sandbox@example.com"
    date: str | None = None  # ISO 8601; else `days_ago` before the head commit, else one hour per commit
    days_ago: float | None = None


class Repository(Model):
    name: str
    id: str = ""
    default_branch: str | None = "main"
    is_disabled: bool = False
    is_fork: bool = False
    is_in_maintenance: bool = False
    size: int | None = None
    files: dict[str, str] = {}
    head_commit: str = ""
    branches: list[str] = []  # branches besides the default one; all point at head_commit
    # When the head commit was made (ISO 8601); None: today, whenever it is asked.
    last_commit_date: str | None = None
    # Git history before the head (served over smart HTTP, sandbox/gitserve.py), then this many generated
    # commits (benchmarks); the head commit makes the default branch's tree exactly `files`.
    history: list[Commit] = []
    generated_commits: int = Field(default=0, ge=0)

    def tree_digest(self) -> str:
        return hashlib.sha1(
            json.dumps(self.files, sort_keys=True).encode(), usedforsecurity=False
        ).hexdigest()


class Project(Model):
    name: str
    id: str = ""
    description: str = ""
    visibility: Literal["private", "public"] = "private"
    state: str = "wellFormed"
    repositories: list[Repository] = []
    # Served as Azure DevOps returns them, keyed by the path after `_apis/`: "policy/configurations",
    # "build/definitions", "pipelines", "serviceendpoint/endpoints", "distributedtask/variablegroups",
    # "distributedtask/environments", "distributedtask/securefiles", "distributedtask/queues",
    # "pipelines/checks/configurations" (lists), "build/generalsettings"
    # (overrides of the defaults) and "pipelines/pipelinepermissions" ({"{type}/{id}": permissions}).
    extras: dict[str, Any] = {}


class Membership(Model):
    """Our service principal inside an organization: its access level and project groups."""

    client_id: str
    access_level: AccessLevel = "express"
    status: Literal["active", "disabled", "pending"] = "active"
    projects: dict[str, ProjectGroup] = {}
    identity_id: str = ""
    # The entitlement API may refuse a non-admin service principal; the diagnosis must fall back.
    entitlement_readable: bool = True
    # Projects whose repositories deny Read to the service principal (Azure DevOps answers TF401019).
    read_denied: list[str] = []
    # Project APIs (keys as in `Project.extras`, e.g. "serviceendpoint/endpoints", or "Project:key" for one
    # project) that answer 403 Access Denied, as they do when the principal lacks a role on such resources.
    refused_apis: list[str] = []


class Fault(Model):
    """A misbehaviour on the routes whose path matches `route` (a regular expression)."""

    route: str = ".*"
    method: str | None = None
    host: Literal["dev", "vssps", "vsaex", "login", "slack", "osv", "any"] = "any"
    latency_ms: int = 0
    status: int | None = None  # e.g. 503 for a burst of 5xx
    count: int | None = None  # how many matching requests the fault affects (None: all)
    after: int = 0  # let this many matching requests through first
    retry_after: float | None = None  # on 429 (status=429) or on a delayed 200
    delay_only: bool = False  # a 200 carrying Retry-After and X-RateLimit-Delay
    drop_connection: bool = False
    empty_pages: int = 0  # answer this many empty pages that still carry a continuation token
    # Answer 200 with this JSON body instead: a success in a shape Microsoft changed (a field missing, renamed,
    # of another type), for the client's model parsing.
    answer: Any = None
    seen: int = 0

    def matches(self, host: str, method: str, path: str) -> bool:
        if self.host not in ("any", host):
            return False
        if self.method and self.method.upper() != method.upper():
            return False
        return re.search(self.route, path) is not None

    def take(self) -> bool:
        """Count one matching request; True when the fault applies to it."""
        self.seen += 1
        if self.seen <= self.after:
            return False
        return self.count is None or self.seen <= self.after + self.count


class Organization(Model):
    name: str
    id: str = ""
    tenant_id: str = ZERO_TENANT  # all zeros: a Microsoft-account organization
    projects: list[Project] = []
    members: list[Membership] = []
    faults: list[Fault] = []
    latency_ms: int = 0
    # APIs refused to every member, as `Membership.refused_apis` (kept here so a scenario's members may be
    # added later, e.g. from the admin page).
    refused_apis: list[str] = []
    # Pipelines, settings and policies are opaque dicts, served as Azure DevOps returns them.
    extras: dict[str, dict] = {}
    # People (UPNs) in the organization: `administrators` are the members of Project Collection
    # Administrators, where an entry may also name a group of `groups` (groups nest, as in Azure DevOps);
    # `users` are members without administration rights. The owner is an administrator too.
    owner: str | None = None
    administrators: list[str] = []
    groups: dict[str, list[str]] = {}
    users: list[str] = []

    def is_administrator(self, upn: str) -> bool:
        return upn.lower() in self._expand([*self.administrators, *([self.owner] if self.owner else [])])

    def has_user(self, upn: str) -> bool:
        everyone = self._expand(
            [*self.administrators, *self.users, *self.groups, *([self.owner] if self.owner else [])]
        )
        return upn.lower() in everyone

    def _expand(self, entries: list[str]) -> set[str]:
        """The people named by entries, through nested groups (each group expanded once: cycles end)."""
        people: set[str] = set()
        seen: set[str] = set()
        pending = list(entries)
        while pending:
            entry = pending.pop()
            if entry is None or entry in seen:
                continue
            seen.add(entry)
            if entry in self.groups:
                pending.extend(self.groups[entry])
            else:
                people.add(entry.lower())
        return people

    def member(self, client_id: str) -> Membership | None:
        return next((m for m in self.members if m.client_id == client_id), None)

    def project(self, name_or_id: str) -> Project | None:
        key = name_or_id.lower()
        return next((p for p in self.projects if key in (p.id.lower(), p.name.lower())), None)


class SlackWorkspace(Model):
    team_id: str = "T0DEMO"
    team_name: str = "Contoso"
    bot_token: str = "xoxb-sandbox-bot-token"
    bot_user_id: str = "U0BOT"
    bot_id: str = "B0BOT"
    domain: str = "contoso"  # auth.test answers https://{domain}.slack.com/
    # users: {"U0ADMIN": {"name": "alice", "is_admin": true, "is_owner": false, "real_name": ..., "deleted": false}}
    users: dict[str, dict] = {}
    # channels: {"C0GENERAL": {"name": "general", "is_member": true, "is_private": false, "is_archived": false,
    #            "members": ["U0ADMIN"]}} (no "members": every user is in the channel)
    channels: dict[str, dict] = {}
    response_url_uses: int = 5  # a response_url accepts this many posts, as in Slack


class World(Model):
    apps: list[App] = []
    tenants: list[Tenant] = []
    organizations: list[Organization] = []
    slack: SlackWorkspace = Field(default_factory=SlackWorkspace)
    faults: list[Fault] = []  # faults on every host, e.g. the token endpoint
    token_lifetime_seconds: int = 3600
    # The tenant the admin's browser is signed into; consent to `/organizations/...` lands there.
    browser_tenant: str | None = None
    advisories: list[dict] = []  # OSV records served by the "osv" host (sandbox/scenarios/advisories.json)

    @model_validator(mode="after")
    def _fill_ids(self) -> World:
        for tenant in self.tenants:
            for sp in tenant.service_principals:
                sp.object_id = sp.object_id or stable_id("sp", tenant.id, sp.client_id)
            for user in tenant.users:
                user.object_id = user.object_id or stable_id("user", tenant.id, user.upn.lower())
                user.display_name = user.display_name or user.upn.split("@", 1)[0]
        for org in self.organizations:
            org.id = org.id or stable_id("org", org.name)
            for member in org.members:
                member.identity_id = member.identity_id or stable_id("identity", org.name, member.client_id)
            for project in org.projects:
                project.id = project.id or stable_id("project", org.name, project.name)
                for repo in project.repositories:
                    repo.id = (repo.id or stable_id("repo", org.name, project.name, repo.name)).lower()
                    # The default branch's real git commit id (the git server serves the same history).
                    repo.head_commit = repo.head_commit or gitrepos.head_commit(repo)
        return self

    def app(self, client_id: str) -> App | None:
        return next((a for a in self.apps if a.client_id == client_id), None)

    def tenant(self, id_or_domain: str) -> Tenant | None:
        key = id_or_domain.lower()
        return next((t for t in self.tenants if key in (t.id.lower(), t.domain.lower())), None)

    def user(self, upn: str) -> tuple[Tenant, User] | None:
        """A person by UPN, with their home tenant."""
        for tenant in self.tenants:
            user = tenant.user(upn)
            if user is not None:
                return tenant, user
        return None

    def organization(self, name: str) -> Organization | None:
        key = name.lower()
        return next((o for o in self.organizations if o.name.lower() == key), None)


class WorldHolder:
    """The live world, shared by the emulator's hosts; `lock` serializes changes from other threads."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.lock = threading.RLock()

    def replace(self, world: World) -> None:
        with self.lock:
            self.world = World.model_validate(world.model_dump())


def load_world(path: str | Path) -> World:
    text = Path(path).read_text(encoding="utf-8")
    data = json.loads(text) if str(path).endswith(".json") else yaml.safe_load(text)
    return World.model_validate(data or {})


DEMO_SCENARIO = Path(__file__).parent / "scenarios" / "demo.yaml"


def demo_world() -> World:
    return load_world(DEMO_SCENARIO)
