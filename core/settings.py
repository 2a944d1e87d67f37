"""Service settings, read from `PANOPTICA_*` environment variables.

A bad value stops start-up with one line naming the variable (see `load_settings`). Secrets are
`SecretStr`, so they never show in reprs, logs or validation errors.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_home() -> Path:
    """Where the embedded default keeps its database and keys when PANOPTICA_HOME is unset: the user's data
    directory (XDG), never the current directory (a command run from another folder must find the same data)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "panoptica"


def sqlite_url(home: Path) -> str:
    return f"sqlite+aiosqlite:///{home / 'panoptica.db'}"


class SettingsError(SystemExit):
    """Raised at start-up for a bad setting: a one-line message naming the variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="PANOPTICA_", extra="ignore", hide_input_in_errors=True, populate_by_name=True
    )

    # The embedded default's folder (SQLite database, generated secret-hash key); `make run` uses ./var.
    home: Path = Field(default_factory=default_home)
    # Empty: SQLite at {home}/panoptica.db.
    database_url: str = ""
    # "json" (one object per line, with correlation ids) for production log pipelines; "text" for a terminal.
    log_format: Literal["text", "json"] = "text"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # "development" serves GraphiQL at /graphql; "production" does not.
    environment: Literal["development", "production"] = "development"
    public_url: str = "http://127.0.0.1:8000"
    entra_client_id: str = ""
    entra_client_secret: SecretStr | None = None
    entra_certificate_path: Path | None = None
    entra_authority_host: str = "https://login.microsoftonline.com"
    entra_consent_scope: str = "https://graph.microsoft.com/.default"
    azure_devops_url: str = "https://dev.azure.com"
    ca_bundle: Path | None = None
    service_principal_name: str = "Panoptica"
    # Outbound Azure DevOps traffic: bounded per organization, every call timed out, retries bounded in total.
    azure_max_concurrency: int = Field(default=8, ge=1, le=64)
    azure_timeout_seconds: float = Field(default=30.0, gt=0)
    azure_retry_budget_seconds: float = Field(default=120.0, ge=0)
    # Consent takes a minute or two to reach every Entra ID server: token failures within this window after
    # consent are retried inside Connect, with a fresh MSAL app (MSAL caches HTTP 400 errors for 60 s).
    consent_propagation_window_seconds: float = Field(default=600.0, ge=0)
    consent_retry_budget_seconds: float = Field(default=120.0, ge=0)
    consent_retry_delay_seconds: float = Field(default=10.0, gt=0)
    # How long refreshAzureConnection waits for its verification; past that it answers VERIFICATION_RUNNING and
    # the verification goes on (a refresh asked again joins it), so a slow or refusing Azure never holds a
    # request for the whole retry budget.
    refresh_wait_seconds: float = Field(default=20.0, gt=0)

    # --- scans --------------------------------------------------------------------------------------------
    # Cron (UTC) of the daily scans; each connection is spread by a stable jitter within the first hour.
    scan_schedule: str = "0 2 * * *"
    # HMAC key for found secrets (only their keyed hash is stored). Unset: a key generated in key_directory.
    secret_hash_key: SecretStr | None = None
    key_directory: str = ""  # empty: home
    scan_timeout_seconds: float = Field(default=600.0, gt=0)
    # Scans running at once in one process. Each may start a checkov process: 0.3-0.9 GiB resident on 120-800
    # generated IaC files, bounded at 2 GiB (ScanContext.memory_limit_bytes, core/scanners/checkov.py).
    scan_concurrency: int = Field(default=2, ge=1, le=64)
    # Comma-separated scanner names to run (e.g. "secrets,pipelines"); empty: every scanner.
    scanners: str = ""
    # Secrets in git history (core/history): every branch fetched over git, each commit's added lines scanned once.
    # The first scan of a repository goes back at most this many days and this many commits (whichever is
    # smaller; the run says when it stopped there); later scans read only the commits not scanned before.
    # On by default (PANOPTICA_HISTORY_ENABLED=0 turns it off): a deleted secret is still in every clone.
    history_enabled: bool = True
    history_max_days: int = Field(default=730, ge=1)
    history_max_commits: int = Field(default=10_000, ge=1)

    # --- jobs ---------------------------------------------------------------------------------------------
    # Who runs background jobs: "auto" is procrastinate workers (`panoptica worker`) on PostgreSQL and the
    # in-process runner on SQLite; "inprocess" keeps them in `panoptica serve` on PostgreSQL too.
    job_runner: Literal["auto", "inprocess", "procrastinate"] = "auto"
    # A worker without a heartbeat for this long is dead: its jobs run again elsewhere.
    worker_stalled_seconds: float = Field(default=30.0, ge=3)
    # How often the schedules (daily scans, digests) are looked at; must divide 60.
    periodic_seconds: int = Field(default=30, ge=1, le=60)

    # --- retention (core/retention; README "Data retention") ------------------------------------------------
    # How long rows are kept, in days. A periodic job deletes older rows in batches of retention_batch_size
    # rows per statement, committing between batches, so no statement holds its locks for long.
    # Expired OAuth states, sign-in and consent requests and Slack link codes go at once (they are unusable).
    retention_jobs_days: int = Field(default=7, ge=1)  # finished (done or failed) jobs
    retention_deliveries_days: int = Field(default=30, ge=1)  # Slack delivery keys, finished digest messages
    # Scan runs older than this go, except the latest run of each repository for each scanner.
    retention_scan_runs_days: int = Field(default=90, ge=1)
    retention_posture_runs_days: int = Field(default=90, ge=1)  # except each connection's latest run
    retention_audit_days: int = Field(default=400, ge=1)
    # Fixed findings keep their occurrence details (line, commit, message, preview, history occurrences) this
    # long after they were fixed; then only what trends count stays. Open findings are never pruned by age.
    retention_fixed_findings_days: int = Field(default=90, ge=1)
    retention_batch_size: int = Field(default=5000, ge=1, le=100_000)
    # Off: nothing is pruned by the periodic job (`panoptica prune` still works).
    retention_enabled: bool = True

    # --- dependency advisories ------------------------------------------------------------------------------
    # OSV-compatible API (querybatch + vulns). An imported OSV export (`panoptica osv import`) is used instead
    # when present; "off" uses neither (inventory only, and the console says so).
    osv_url: str = "https://api.osv.dev"
    osv_batch_size: int = Field(default=500, ge=1, le=1000)  # OSV accepts at most 1000 queries per batch

    # --- CI/CD posture --------------------------------------------------------------------------------------
    # Evaluate each connection's posture controls with its daily scan (and with on-demand connection scans).
    posture_enabled: bool = True
    # A repository without a commit on its default branch for this many days is reported inactive.
    inactive_repository_days: int = Field(default=180, ge=1)

    # --- abuse limits: on-demand budget and GraphQL limits (README "Limits") --------------------------------
    # Per account, on-demand work (scanConnection, scanRepository, refreshAzureConnection, evaluatePosture,
    # Slack `/panoptica scan`) may burst to this many requests, then one more every 3600/per_hour seconds.
    # Repeating a request whose work is still queued or running answers that work and spends nothing.
    ondemand_burst: int = Field(default=10, ge=1, le=100_000)
    ondemand_per_hour: int = Field(default=60, ge=1, le=360_000)
    # GraphQL, computed before execution: points per request (objects it may return, page sizes multiplied
    # through nested pages, aliases and fragments counted) and root fields per mutation request.
    graphql_max_cost: int = Field(default=1000, ge=1)
    graphql_max_root_mutations: int = Field(default=5, ge=1)

    # --- HTTP hardening: body limits, /metrics access, trusted hosts (README "Operations") ------------------
    # Largest /graphql request body: a larger one is answered 413 before anything is read or parsed.
    graphql_max_body_bytes: int = Field(default=1_048_576, ge=1024, le=64 * 1_048_576)
    # The bearer token Prometheus sends to read /metrics (at least 16 characters); unset, /metrics is 404.
    metrics_token: SecretStr | None = None
    # Host names served besides PANOPTICA_PUBLIC_URL's and loopback: comma-separated, "*.example.com" allowed.
    allowed_hosts: str = ""

    # --- Slack ----------------------------------------------------------------------------------------
    # Single-workspace mode reads Slack's own variable names too (SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET);
    # multi-workspace mode installs through OAuth (client id and secret) into our database.
    slack_bot_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("PANOPTICA_SLACK_BOT_TOKEN", "SLACK_BOT_TOKEN")
    )
    slack_signing_secret: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("PANOPTICA_SLACK_SIGNING_SECRET", "SLACK_SIGNING_SECRET")
    )
    slack_client_id: str = Field(
        default="", validation_alias=AliasChoices("PANOPTICA_SLACK_CLIENT_ID", "SLACK_CLIENT_ID")
    )
    slack_client_secret: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("PANOPTICA_SLACK_CLIENT_SECRET", "SLACK_CLIENT_SECRET")
    )
    slack_api_url: str = "https://slack.com/api/"
    # When the daily digests are built (UTC, HH:MM).
    digest_time: str = Field(default="09:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")

    @property
    def slack_enabled(self) -> bool:
        return self.slack_signing_secret is not None and (
            self.slack_bot_token is not None or bool(self.slack_client_id)
        )

    @field_validator("scan_schedule")
    @classmethod
    def _cron(cls, value: str) -> str:
        from croniter import croniter

        if not croniter.is_valid(value):
            raise ValueError("must be a cron expression such as '0 2 * * *'")
        return value

    @field_validator("database_url")
    @classmethod
    def _normalize_database_url(cls, value: str) -> str:
        return normalize_database_url(value) if value else value

    @field_validator("home")
    @classmethod
    def _absolute_home(cls, value: Path) -> Path:
        # Fixed at start-up: a relative PANOPTICA_HOME means the folder it named then, not wherever we are later.
        value = value.expanduser().absolute()
        if value.exists() and not value.is_dir():
            raise ValueError("not a folder")
        return value

    @field_validator("scanners")
    @classmethod
    def _known_scanners(cls, value: str) -> str:
        wanted = {n.strip() for n in value.split(",") if n.strip()}
        if not wanted:
            return value
        from core.scans.scanner import all_scanners  # here: it imports every scanner module

        known = sorted(s.name for s in all_scanners())
        unknown = sorted(wanted - set(known))
        if unknown:
            raise ValueError(f"unknown scanner(s) {', '.join(unknown)} (known: {', '.join(known)})")
        return value

    @field_validator("osv_url")
    @classmethod
    def _osv_url(cls, value: str) -> str:
        return value if value == "off" else cls._url(value)

    @field_validator("public_url", "entra_authority_host", "azure_devops_url", "slack_api_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("must be an http(s) URL")
        return value.rstrip("/")

    @field_validator("entra_authority_host", "azure_devops_url")
    @classmethod
    def _https(cls, value: str) -> str:
        # MSAL refuses http authorities, and tokens must never cross plain HTTP.
        if not value.startswith("https://"):
            raise ValueError("must be an https URL")
        return value

    @field_validator("metrics_token")
    @classmethod
    def _metrics_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        if len(value.get_secret_value()) < 16:
            raise ValueError("must be at least 16 characters")
        return value

    @field_validator("allowed_hosts")
    @classmethod
    def _allowed_hosts(cls, value: str) -> str:
        import re

        for host in (h.strip() for h in value.split(",")):
            if host and not re.fullmatch(r"(\*\.)?[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?", host):
                raise ValueError("must be comma-separated host names, each optionally starting with '*.'")
        return value

    @field_validator("ca_bundle", "entra_certificate_path")
    @classmethod
    def _existing_file(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError("file not found")
        return value

    @model_validator(mode="after")
    def _one_credential(self) -> Settings:
        if not self.database_url:
            self.database_url = sqlite_url(self.home)
        if not self.key_directory:
            self.key_directory = str(self.home)
        if self.entra_client_secret is not None and self.entra_certificate_path is not None:
            raise ValueError(
                "set PANOPTICA_ENTRA_CLIENT_SECRET or PANOPTICA_ENTRA_CERTIFICATE_PATH, not both"
            )
        if self.job_runner == "procrastinate" and self.is_sqlite:
            raise ValueError("PANOPTICA_JOB_RUNNER=procrastinate needs a PostgreSQL PANOPTICA_DATABASE_URL")
        if 60 % self.periodic_seconds:
            raise ValueError("PANOPTICA_PERIODIC_SECONDS must divide 60")
        return self

    @property
    def distributed_jobs(self) -> bool:
        """True when procrastinate workers, not this process, run the jobs."""
        return not self.is_sqlite and self.job_runner != "inprocess"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def normalize_database_url(value: str) -> str:
    """Pick the async driver for the two supported databases; refuse anything else."""
    if value.startswith(("postgresql://", "postgres://")):
        return "postgresql+asyncpg://" + value.split("://", 1)[1]
    if value.startswith(("postgresql+asyncpg://", "sqlite+aiosqlite://")):
        return value
    if value.startswith("sqlite://"):
        return "sqlite+aiosqlite://" + value.split("://", 1)[1]
    raise ValueError("must be a sqlite:// or postgresql:// URL")


def describe_error(error: ValidationError) -> str:
    """One line naming the variable and the problem, never the value (it may be a secret)."""
    first = error.errors()[0]
    field = str(first["loc"][0]) if first["loc"] else ""
    name = f"PANOPTICA_{field.upper()}" if field else "settings"
    reason = str(first["msg"]).removeprefix("Value error, ")
    return f"invalid setting {name}: {reason}"


def load_settings(**overrides) -> Settings:
    try:
        return Settings(**overrides)
    except ValidationError as error:
        raise SettingsError(describe_error(error)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
