"""The production recipe (Dockerfile, compose.yaml, deploy/Caddyfile) checked without Docker: every command it
runs is one `panoptica` accepts, every setting it sets is one the service reads (and validates), every file it
copies exists, the image runs as a user without privileges with the scanners' virtualenvs, and the README
documents the commands."""

import re
import shlex
from pathlib import Path

import yaml

from api.cli import build_parser
from core.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parents[1]
SLACK_NAMES = {"SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET"}


def compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def our_services(document: dict) -> dict:
    return {name: s for name, s in document["services"].items() if s.get("image") == "panoptica:latest"}


def dockerfile_stages() -> list[list[str]]:
    """Instructions per stage, continuation lines joined."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    stages: list[list[str]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            stages.append([])
        stages[-1].append(line)
    return stages


def accepted(argv: list[str]) -> None:
    args = build_parser().parse_args(argv)  # SystemExit (a failed test) when panoptica would refuse it
    assert getattr(args, "handler", None) is not None, argv


def test_compose_runs_postgresql_a_migration_two_apis_two_workers_and_a_proxy():
    document = compose()
    services = our_services(document)
    commands = {name: s["command"] for name, s in services.items()}
    assert commands["migrate"] == ["db", "upgrade"]
    assert sorted(n for n, c in commands.items() if c[0] == "serve") == ["api-1", "api-2"]
    assert sorted(n for n, c in commands.items() if c[0] == "worker") == ["worker-1", "worker-2"]
    for argv in commands.values():
        accepted(argv)
    for name, service in services.items():
        if name != "migrate":  # nothing starts before the schema is current
            assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert document["services"]["postgres"]["image"].startswith("postgres:")
    proxy = document["services"]["proxy"]
    assert "443:443" in proxy["ports"] and "./deploy/Caddyfile:/etc/caddy/Caddyfile:ro" in proxy["volumes"]
    caddyfile = (ROOT / "deploy" / "Caddyfile").read_text()
    assert "reverse_proxy api-1:8000 api-2:8000" in caddyfile and "health_uri /readyz" in caddyfile


def test_compose_sets_only_settings_that_exist_and_they_validate(monkeypatch):
    known = {f"PANOPTICA_{name.upper()}" for name in Settings.model_fields} | SLACK_NAMES
    for service in our_services(compose()).values():
        environment = service["environment"]
        assert set(environment) <= known, set(environment) - known
        # The values as compose would give them, with the required variables filled in.
        for name, value in environment.items():
            value = re.sub(
                r"\$\{(\w+):\?[^}]*\}",
                lambda m: {"PANOPTICA_DOMAIN": "panoptica.acme.com"}.get(m[1], "x"),
                value,
            )
            monkeypatch.setenv(name, value)
        settings = load_settings()
        assert settings.public_url == "https://panoptica.acme.com" and not settings.is_sqlite
        assert settings.distributed_jobs and settings.environment == "production"
        assert settings.database_url == "postgresql+asyncpg://panoptica:x@postgres:5432/panoptica"


def test_the_image_is_multi_stage_non_root_with_the_scanners_and_runs_panoptica():
    stages = dockerfile_stages()
    assert len(stages) >= 2
    build, runtime = stages[0], stages[-1]
    assert runtime[0].startswith("FROM python:3.11")
    users = [line.split()[1] for line in runtime if line.startswith("USER ")]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    run_lines = " ".join(line for line in build if line.startswith("RUN "))
    for tool in ("checkov", "semgrep"):  # at the paths core/scanners/<tool>.py look for by default
        assert f"python -m venv .venv-{tool}" in run_lines
        assert f".venv-{tool}/bin/python -m pip install -r tools/{tool}-requirements.txt" in run_lines
    assert "COPY --from=build /app /app" in runtime
    assert "git" in " ".join(line for line in runtime if line.startswith("RUN "))
    for stage in stages:
        for line in stage:
            if line.startswith("COPY ") and "--from=" not in line:
                *sources, _ = shlex.split(line)[1:]
                for source in sources:
                    assert (ROOT / source).exists(), source
    entrypoint = next(line for line in runtime if line.startswith("ENTRYPOINT "))
    command = next(line for line in runtime if line.startswith("CMD "))
    assert yaml.safe_load(entrypoint.split(" ", 1)[1]) == ["panoptica"]
    accepted(yaml.safe_load(command.split(" ", 1)[1]))
    environment = " ".join(line for line in runtime if line.startswith("ENV "))
    for name in re.findall(r"\b(PANOPTICA_[A-Z_]+)=", environment):
        assert name.removeprefix("PANOPTICA_").lower() in Settings.model_fields, name
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".venv", ".venv-checkov", ".venv-semgrep", "var", ".git"} <= set(ignored)


def test_the_readme_documents_the_recipes_commands():
    readme = (ROOT / "README.md").read_text()
    for command in ("panoptica db upgrade", "panoptica serve --host 0.0.0.0 --port 8000", "panoptica worker"):
        assert command in readme, command
    for path in ("Dockerfile", "compose.yaml", "deploy/Caddyfile", "docker compose up"):
        assert path in readme, path
