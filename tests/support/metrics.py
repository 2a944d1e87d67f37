"""Reading a `/metrics` scrape as Prometheus does. Counters and histograms live in the process for the whole test
session, so a test compares a scrape before its action with one after it: the difference is what the action did."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families


def samples(body: str) -> dict[tuple[str, frozenset], float]:
    """Every sample of a scrape: (sample name, its labels) -> value."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(body)
        for sample in family.samples
    }


def value(body: str, name: str, **labels: str) -> float:
    """One sample's value; 0 when the scrape does not have it (a labelled counter appears at its first use)."""
    return samples(body).get((name, frozenset(labels.items())), 0.0)
