"""Scenarios the tests start from. Each test gets a fresh copy (see the `world` fixture)."""

from sandbox.scenario import Fault, Membership, Organization, Project, Repository, Tenant, World

CLIENT_ID = "6f1c1a2e-0b7e-4f7e-9a51-3c8a52d7e001"
CLIENT_SECRET = "sandbox-app-secret-value-0001"
CONTOSO_TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
FABRIKAM_TENANT = "b1c0ffee-0000-4000-8000-00000000fab1"
# People who sign in on the emulated Microsoft page: Contoso's organization administrator, an
# administrator only through a group nested in Project Collection Administrators, a developer without
# administration rights, and an administrator of Fabrikam (another tenant).
ADMIN = "admin@contoso.onmicrosoft.com"
NESTED_ADMIN = "secops@contoso.onmicrosoft.com"
DEVELOPER = "dev@contoso.onmicrosoft.com"
FABRIKAM_ADMIN = "eve@fabrikam.onmicrosoft.com"
SECURITY_GROUP = "[contoso]\\Security Operations"


def repo(name: str, **kwargs) -> Repository:
    files = kwargs.pop("files", {"README.md": f"# {name}\n"})
    return Repository(name=name, files=files, **kwargs)


def base_world() -> World:
    """Contoso: an Entra-backed organization where our app is consented and added as Basic + Contributors."""
    return World(
        apps=[{"client_id": CLIENT_ID, "secret": CLIENT_SECRET, "display_name": "Panoptica"}],
        tenants=[
            Tenant(
                id=CONTOSO_TENANT,
                name="Contoso",
                domain="contoso.onmicrosoft.com",
                service_principals=[{"client_id": CLIENT_ID}],
                users=[{"upn": ADMIN}, {"upn": NESTED_ADMIN}, {"upn": DEVELOPER}],
            ),
            Tenant(
                id=FABRIKAM_TENANT,
                name="Fabrikam",
                domain="fabrikam.onmicrosoft.com",
                users=[{"upn": FABRIKAM_ADMIN}],
            ),
        ],
        organizations=[
            Organization(
                name="contoso",
                tenant_id=CONTOSO_TENANT,
                administrators=[ADMIN, "[contoso]\\Security Admins"],
                groups={"[contoso]\\Security Admins": [SECURITY_GROUP], SECURITY_GROUP: [NESTED_ADMIN]},
                users=[DEVELOPER],
                projects=[
                    Project(
                        name="Payments",
                        repositories=[
                            repo("payments-api"),
                            repo("payments-web"),
                            repo("empty-repo", default_branch=None, files={}),
                        ],
                    ),
                    Project(
                        name="Platform", repositories=[repo("infra"), repo("old-infra", is_disabled=True)]
                    ),
                    Project(name="Secret Lab", repositories=[repo("lab")]),
                    Project(name="Open Source", visibility="public", repositories=[repo("oss-lib")]),
                ],
                members=[
                    Membership(
                        client_id=CLIENT_ID,
                        access_level="express",
                        projects={
                            "Payments": "projectContributor",
                            "Platform": "projectContributor",
                            "Open Source": "projectContributor",
                        },
                    ),
                ],
            ),
            Organization(
                name="fabrikam",
                tenant_id=FABRIKAM_TENANT,
                administrators=[FABRIKAM_ADMIN],
                projects=[Project(name="Web", repositories=[repo("site")])],
            ),
            Organization(name="personal-msa", projects=[Project(name="Hobby", repositories=[repo("toy")])]),
        ],
    )


def big_world(projects: int, repos_per_project: int, latency_ms: int = 0) -> World:
    """A large organization for paging tests and benchmarks."""
    world = base_world()
    org = Organization(
        name="bigcorp",
        tenant_id=CONTOSO_TENANT,
        administrators=[ADMIN],
        latency_ms=latency_ms,
        projects=[
            Project(
                name=f"project-{p:04d}",
                repositories=[Repository(name=f"repo-{p:04d}-{r:03d}") for r in range(repos_per_project)],
            )
            for p in range(projects)
        ],
        members=[
            Membership(
                client_id=CLIENT_ID,
                projects={f"project-{p:04d}": "projectContributor" for p in range(projects)},
            )
        ],
    )
    world.organizations.append(org)
    return World.model_validate(world.model_dump())


__all__ = [
    "ADMIN",
    "CLIENT_ID",
    "CLIENT_SECRET",
    "CONTOSO_TENANT",
    "FABRIKAM_TENANT",
    "Fault",
    "base_world",
    "big_world",
]
