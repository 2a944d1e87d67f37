"""Prometheus metrics: what each process counts as it works, and what the database says at scrape time.

Counters and histograms live in the process (Azure DevOps requests by status class, throttling, job durations
per kind); the state of the queues and outboxes is read from the database when `/metrics` is
scraped, so every API or worker process reports the same totals and none has to be the "leader".

No label names a customer: metrics leave the service (a monitoring vendor, a shared Prometheus), and an
organization's name says who our customers are. Per-organization detail is in the logs, which stay ours.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from sqlmodel import func, select

from core.digests.models import DigestOutbox
from core.jobs.models import Job

REGISTRY = CollectorRegistry(auto_describe=True)

AZURE_REQUESTS = Counter(
    "panoptica_azure_requests",
    "Requests sent to Azure DevOps, by HTTP status class (2xx, 4xx, 5xx, error).",
    ["status"],
    registry=REGISTRY,
)
AZURE_THROTTLED = Counter(
    "panoptica_azure_throttled",
    "Azure DevOps answers that asked us to slow down (429, Retry-After or X-RateLimit-Delay).",
    registry=REGISTRY,
)
JOB_DURATION = Histogram(
    "panoptica_job_duration_seconds",
    "Time spent running a job, by kind (scans.repository is a repository scan) and outcome.",
    ["kind", "outcome"],
    buckets=(0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800),
    registry=REGISTRY,
)


def status_class(status: int | None) -> str:
    return f"{status // 100}xx" if status else "error"


async def database_families(session) -> list[GaugeMetricFamily]:
    """Gauges read from the database: jobs by kind and status (Slack follow-ups are `slack.*` jobs), daily
    digests by delivery status."""
    jobs = GaugeMetricFamily(
        "panoptica_jobs",
        "Jobs by kind and status (queued, running, done, failed).",
        labels=["kind", "status"],
    )
    for kind, status, count in (
        await session.exec(select(Job.kind, Job.status, func.count()).group_by(Job.kind, Job.status))
    ).all():
        jobs.add_metric([kind, status], count)
    digests = GaugeMetricFamily(
        "panoptica_digests", "Daily digest messages by delivery status.", labels=["status"]
    )
    for status, count in (
        await session.exec(select(DigestOutbox.status, func.count()).group_by(DigestOutbox.status))
    ).all():
        digests.add_metric([status], count)
    return [jobs, digests]


class _Snapshot:
    """A collector over families already read (prometheus_client collectors are synchronous)."""

    def __init__(self, families) -> None:
        self.families = families

    def collect(self):
        return iter(self.families)


async def render(session) -> bytes:
    scraped = CollectorRegistry(auto_describe=False)
    scraped.register(_Snapshot(await database_families(session)))
    return generate_latest(REGISTRY) + generate_latest(scraped)
