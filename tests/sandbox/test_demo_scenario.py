"""The built-in demo scenario: what a newcomer starts from, and what later scanning work can find in it."""

from __future__ import annotations

import base64
import json
import re
import ssl

import httpx
import yaml

from sandbox.scenario import ZERO_TENANT, demo_world

APP = "8a4f3c2e-1d5b-4e6a-9c7f-2b3d4e5f6a70"
TENANT = "3f9b5d7e-2c4a-4b8e-9f1a-6d5c4b3a2e10"


def repos(world):
    org = world.organization("contoso-demo")
    return {r.name: r for p in org.projects for r in p.repositories}


def test_starting_point_needs_consent_and_membership():
    world = demo_world()
    app = world.app(APP)
    assert (app.display_name, app.secret) == ("Panoptica", "sandbox-demo-secret")
    tenant = world.tenant("contoso.onmicrosoft.com")
    assert (tenant.id, tenant.name, tenant.consent_propagation_seconds) == (TENANT, "Contoso", 0)
    assert tenant.principal(APP) is None
    org = world.organization("contoso-demo")
    assert org.tenant_id == TENANT
    assert org.members == []
    assert world.organization("contoso-msa").tenant_id == ZERO_TENANT


def test_projects_and_repository_states():
    org = demo_world().organization("contoso-demo")
    assert 5 <= len(org.projects) <= 6
    assert [p.name for p in org.projects if p.visibility == "public"] == ["Open Source"]
    found = repos(demo_world())
    assert 25 <= len(found) <= 35
    empty = [r for r in found.values() if r.default_branch is None]
    assert len(empty) == 1 and empty[0].files == {}
    assert sum(r.is_disabled for r in found.values()) == 1
    assert sum(r.is_fork for r in found.values()) == 1
    assert sum(r.is_in_maintenance for r in found.values()) == 1


def all_ids(world) -> list[tuple[str, str, str, str]]:
    return [
        (o.id, p.id, r.id, r.head_commit)
        for o in world.organizations
        for p in o.projects
        for r in p.repositories
    ]


def test_ids_are_stable_across_loads():
    first = all_ids(demo_world())
    assert first == all_ids(demo_world())
    assert len({repo_id for _, _, repo_id, _ in first}) == len(first)
    assert all(first[0])


def test_planted_iac_misconfigurations():
    found = repos(demo_world())
    terraform = found["infra-terraform"].files
    assert "allow_nested_items_to_be_public = true" in terraform["main.tf"]
    assert re.search(r"encryption_settings\s*{\s*enabled\s*=\s*false", terraform["main.tf"])
    nsg = terraform["network.tf"]
    assert '"0.0.0.0/0"' in nsg and 'destination_port_range     = "22"' in nsg
    manifest = yaml.safe_load(found["k8s-manifests"].files["deployments/payments-api.yaml"])
    container = manifest["spec"]["template"]["spec"]["containers"][0]
    assert container["image"].endswith(":latest")
    assert container["securityContext"]["privileged"] is True
    assert "resources" not in container
    dockerfile = found["payments-api"].files["Dockerfile"]
    assert "FROM python:latest" in dockerfile and "USER" not in dockerfile


def test_planted_pipeline_risks():
    text = repos(demo_world())["payments-api"].files["azure-pipelines.yml"]
    pipeline = yaml.safe_load(text)
    assert pipeline["variables"]["system.debug"] is True
    assert "$(Build.SourceBranch)" in text and "$(System.PullRequest.SourceBranch)" in text
    steps = pipeline["jobs"][0]["steps"]
    assert any(s.get("env", {}).get("SYSTEM_ACCESSTOKEN") == "$(System.AccessToken)" for s in steps)
    assert re.search(r"curl [^\n|]*\| bash", text)
    setvariable = re.search(r"##vso\[task\.setvariable variable=(\w+)[^\]]*\]", text)
    assert setvariable and "issecret=true" not in setvariable.group(0)
    assert pipeline["resources"]["containers"][0]["image"] == "node:latest"


def test_planted_fake_secrets():
    files = repos(demo_world())["payments-config"].files
    settings = files["config/appsettings.yaml"]
    match = re.search(
        r"AccountName=contosodemo;AccountKey=([A-Za-z0-9+/]{86}==);EndpointSuffix=core\.windows\.net",
        settings,
    )
    assert match
    assert base64.b64decode(match.group(1)).startswith(b"FAKE-")  # obviously not a real key
    assert "FAKE" in settings.splitlines()[0]
    aws = files["deploy/backup.env"]
    assert re.search(r"AKIA[0-9A-Z]{16}", aws) and "FAKE" in aws


def test_vulnerable_lockfiles_and_clean_counterparts():
    found = repos(demo_world())
    lock = json.loads(found["payments-web"].files["package-lock.json"])
    assert lock["lockfileVersion"] == 3
    assert lock["packages"]["node_modules/lodash"]["version"] == "4.17.15"
    assert lock["packages"]["node_modules/minimist"]["version"] == "1.2.5"
    requirements = found["payments-api"].files["requirements.txt"].splitlines()
    assert "django==3.2.0" in requirements and "pyyaml==5.3" in requirements
    assert "golang.org/x/text v0.3.5" in found["payments-worker"].files["go.mod"]
    clean = json.loads(found["mobile-app"].files["package-lock.json"])
    assert clean["packages"]["node_modules/lodash"]["version"] == "4.17.21"


def test_slack_workspace():
    slack = demo_world().slack
    assert slack.team_name == "Contoso"
    by_name = {c["name"]: c for c in slack.channels.values()}
    assert by_name["security"]["is_member"] is True and by_name["random"]["is_member"] is False
    assert sorted(u["is_admin"] for u in slack.users.values()) == [False, True]


def test_the_demo_world_is_served(sandbox, world):
    # The next test's `world` fixture puts the base world back.
    sandbox.holder.replace(demo_world())
    verify = ssl.create_default_context(cafile=str(sandbox.ca_path))
    with httpx.Client(base_url=sandbox.urls["admin"], verify=verify) as admin:
        page = admin.get("/").text
        assert "contoso-demo" in page and "not a member" in page
        assert admin.post("/api/organizations/contoso-demo/service-principal", json={}).status_code == 409
        assert admin.post(f"/api/tenants/{TENANT}/consent").status_code == 200
        assert admin.post("/api/organizations/contoso-demo/service-principal", json={}).status_code == 200
    member = sandbox.world.organization("contoso-demo").member(APP)
    assert member.access_level == "express" and len(member.projects) == 6
