"""Sync figures for Prometheus (``/metrics``, see ``thoughtspace.metrics``): push and pull
durations as they happen, and the replica's state, read at every scrape."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from prometheus_client import Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

SYNC_SECONDS = Histogram(
    "thoughtspace_sync_duration_seconds",
    "Pushes and pulls to the remote, by kind and outcome.",
    ["kind", "outcome"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)


def _timestamp(value: str | None) -> float:
    return datetime.fromisoformat(value).timestamp() if value else 0.0


class SyncCollector(Collector):
    """The process's replica as gauges and counters: read when scraped, so always current."""

    def collect(self) -> Iterator[Any]:
        from django.db import connection

        from syncops import journal
        from syncops.replica import replica_for

        replica = replica_for(connection.settings_dict)
        with contextlib.suppress(Exception):  # else the last known count (/readyz says why)
            replica.pending_changes()  # refreshed when the sync lock is free
        state = replica.state.as_dict()
        mode = [state["mode"]]

        def gauge(name: str, help: str, value: float) -> GaugeMetricFamily:
            family = GaugeMetricFamily(f"thoughtspace_{name}", help, labels=["mode"])
            family.add_metric(mode, value)
            return family

        def counter(name: str, help: str, value: float) -> CounterMetricFamily:
            family = CounterMetricFamily(f"thoughtspace_{name}", help, labels=["mode"])
            family.add_metric(mode, value)
            return family

        yield gauge(
            "sync_pending_changes", "Local changes not on the remote yet.", state["pending_changes"]
        )
        yield gauge("sync_healthy", "1 when the last push and pull worked.", state["healthy"])
        yield gauge(
            "sync_consecutive_failures",
            "Pushes and pulls that failed in a row.",
            state["consecutive_failures"],
        )
        yield gauge(
            "sync_last_push_timestamp_seconds",
            "When the last push worked (0: never).",
            _timestamp(state["last_push_at"]),
        )
        yield gauge(
            "sync_last_pull_timestamp_seconds",
            "When the last pull worked (0: never).",
            _timestamp(state["last_pull_at"]),
        )
        yield counter("sync_pushes", "Pushes that worked.", state["pushes"])
        yield counter("sync_pulls", "Pulls that worked.", state["pulls"])
        yield counter("sync_recoveries", "Recoveries from a divergence.", state["recoveries"])
        yield counter("sync_checkpoints", "WAL checkpoints run by syncops.", state["checkpoints"])
        entries = GaugeMetricFamily(
            "thoughtspace_journal_entries",
            "Journaled writes by state (pending, pushed) until a pull shows what became of them.",
            labels=["state"],
        )
        try:
            backlog = journal.backlog()
        except Exception:
            backlog = {}  # the local syncops file cannot be read: the other figures still go
        for name, count in backlog.items():
            entries.add_metric([name], count)
        yield entries
