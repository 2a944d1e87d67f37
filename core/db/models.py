"""Imports every table so that `SQLModel.metadata` (migrations, schema tests) sees them all."""

from sqlmodel import SQLModel

from core.accounts.models import Account, ApiToken
from core.accounts.session_models import AccountMember, ConsoleSession, ConsoleSignIn
from core.audit.models import AuditEvent
from core.connections.models import (
    AzureConnection,
    ConsentRequest,
    OrganizationBinding,
    SignInRequest,
)
from core.dependencies.models import OsvAdvisory, OsvAffected, OsvQuery, OsvRecord, RepositoryDependency  # noqa: F401
from core.digests.models import DigestOutbox
from core.discovery.models import AzureProject, AzureRepository
from core.findings.models import Finding
from core.history.models import HistoryCommit, HistoryOccurrence, HistoryState  # noqa: F401
from core.jobs.models import Job
from core.ondemand.models import OndemandBudget
from core.posture.models import PostureResult, PostureRun
from core.retention.models import AccountDeletion  # noqa: F401 - and the retention indexes
from core.scans.models import ScanRun
from core.slack.models import (
    SlackAdmin,
    SlackConnectOrigin,
    SlackDelivery,
    SlackLinkCode,
    SlackSubscription,
    SlackWorkspace,
)

__all__ = [
    "Account",
    "AccountMember",
    "ApiToken",
    "AuditEvent",
    "AzureConnection",
    "AzureProject",
    "AzureRepository",
    "ConsentRequest",
    "ConsoleSession",
    "ConsoleSignIn",
    "DigestOutbox",
    "Finding",
    "Job",
    "OndemandBudget",
    "OrganizationBinding",
    "PostureResult",
    "PostureRun",
    "SQLModel",
    "ScanRun",
    "SignInRequest",
    "SlackAdmin",
    "SlackConnectOrigin",
    "SlackDelivery",
    "SlackLinkCode",
    "SlackSubscription",
    "SlackWorkspace",
]
