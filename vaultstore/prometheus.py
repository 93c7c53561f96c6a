"""A Prometheus collector of a store's metrics (``pip install vaultstore[prometheus]``).

    from prometheus_client import REGISTRY
    from vaultstore.prometheus import StoreCollector

    REGISTRY.register(StoreCollector(store))

Names and labels follow OpenTelemetry's database semantic conventions as Prometheus
spells them (``db.client.operation.duration`` becomes
``db_client_operation_duration_seconds``; ``db.query.summary`` the label
``db_query_summary``, the statement's name), with ``vaultstore_`` names where the
conventions have none. Labels are bounded: statement names, error classes and
connection states, never parameters or ids. A scrape reads ``store.metrics()``,
which touches no database; with ``health=True`` it also runs ``store.health()``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from ._health import HealthStatus
from ._monitoring import Metrics

__all__ = ["METRIC_NAMES", "StoreCollector"]

METRIC_NAMES = (
    "db_client_operation_duration_seconds",
    "db_client_operation_errors_total",
    "db_client_response_returned_rows_total",
    "db_client_connection_count",
    "db_client_connection_max",
    "db_client_connection_idle_min",
    "db_client_connection_pending_requests",
    "db_client_connection_timeouts_total",
    "vaultstore_pool_wait_seconds_total",
    "vaultstore_pool_connect_errors_total",
    "vaultstore_pool_connections_opened_total",
    "vaultstore_pool_connections_lost_total",
)
"""What every scrape holds (the per-statement ones once a statement ran)."""
HEALTH_NAMES = (
    "vaultstore_health_status",
    "vaultstore_up",
    "vaultstore_round_trip_seconds",
    "vaultstore_migrations_pending",
)
"""What a scrape adds with ``health=True``."""


class StoreCollector(Collector):
    """The metrics of ``store`` (sync or async: ``metrics()`` does no I/O), for a
    ``prometheus_client`` registry. ``pool_name`` labels the pool's series
    (``db_client_connection_pool_name``), for a process with several stores.
    ``health=True`` (a sync store only) runs ``store.health()`` on each scrape,
    as ``vaultstore metrics-server`` does."""

    def __init__(self, store: Any, *, pool_name: str = "vaultstore", health: bool = False) -> None:
        self._store = store
        self._pool_name = pool_name
        self._health = health

    def collect(self) -> Iterator[Metric]:
        metrics: Metrics = self._store.metrics()
        yield from _statements(metrics)
        yield from _pool(metrics, self._pool_name)
        yield from _cache(metrics)
        if self._health:
            yield from self._health_metrics(metrics.backend)

    def _health_metrics(self, system: str) -> Iterator[Metric]:
        health = self._store.health()
        status = GaugeMetricFamily(
            "vaultstore_health_status",
            "1 for the store's health status (store.health()), 0 for the others.",
            labels=["db_system_name", "status"],
        )
        for each in HealthStatus:
            status.add_metric([system, each.value], float(each is health.status))
        yield status
        up = GaugeMetricFamily(
            "vaultstore_up", "1 if the database answered.", labels=["db_system_name"]
        )
        up.add_metric([system], float(health.reachable))
        yield up
        round_trip = GaugeMetricFamily(
            "vaultstore_round_trip_seconds",
            "One ping's round trip, NaN when unreachable.",
            labels=["db_system_name"],
        )
        seconds = health.round_trip_seconds
        round_trip.add_metric([system], float("nan") if seconds is None else seconds)
        yield round_trip
        pending = GaugeMetricFamily(
            "vaultstore_migrations_pending",
            "Migrations (MongoDB: schema steps) not applied.",
            labels=["db_system_name"],
        )
        pending.add_metric([system], float(len(health.migrations_pending)))
        yield pending


def _statements(metrics: Metrics) -> Iterator[Metric]:
    system = metrics.backend
    labels = ["db_system_name", "db_query_summary"]
    duration = HistogramMetricFamily(
        "db_client_operation_duration_seconds",
        "Duration of database client operations, per vaultstore statement.",
        labels=labels,
        unit="seconds",
    )
    errors = CounterMetricFamily(
        "db_client_operation_errors",
        "Operations that raised, by vaultstore's exception class.",
        labels=[*labels, "error_type"],
    )
    rows = CounterMetricFamily(
        "db_client_response_returned_rows",
        "Rows (documents) returned, or written by a write that counts them.",
        labels=labels,
    )
    for name, statement in metrics.statements.items():
        buckets = [
            ("+Inf" if bound == float("inf") else repr(bound), count)
            for bound, count in statement.buckets
        ]
        duration.add_metric([system, name], buckets, sum_value=statement.total_seconds)
        for error, count in sorted(statement.errors.items()):
            errors.add_metric([system, name, error], count)
        rows.add_metric([system, name], statement.rows)
    yield duration
    yield errors
    yield rows


def _pool(metrics: Metrics, pool_name: str) -> Iterator[Metric]:
    system, pool = metrics.backend, metrics.pool
    labels = ["db_system_name", "db_client_connection_pool_name"]
    values = [system, pool_name]
    count = GaugeMetricFamily(
        "db_client_connection_count",
        "Connections open, by state.",
        labels=[*labels, "db_client_connection_state"],
    )
    count.add_metric([*values, "idle"], pool.idle)
    count.add_metric([*values, "used"], pool.in_use)
    yield count
    for name, about, value in (
        ("db_client_connection_max", "Most connections the pool opens.", pool.max),
        ("db_client_connection_idle_min", "Connections the pool keeps open.", pool.min),
        (
            "db_client_connection_pending_requests",
            "Calls waiting for a connection.",
            pool.waiting,
        ),
    ):
        gauge = GaugeMetricFamily(name, about, labels=labels)
        gauge.add_metric(values, value)
        yield gauge
    for name, about, total in (
        (
            "db_client_connection_timeouts",
            "Calls that got no connection from the pool.",
            pool.request_errors,
        ),
        (
            "vaultstore_pool_wait_seconds",
            "Time calls waited for a connection.",
            pool.wait_seconds,
        ),
        (
            "vaultstore_pool_connect_errors",
            "Connections the pool failed to open.",
            pool.connect_errors,
        ),
        (
            "vaultstore_pool_connections_opened",
            "Connections the pool opened.",
            pool.connections_opened,
        ),
        (
            "vaultstore_pool_connections_lost",
            "Connections lost (closed by an error).",
            pool.connections_lost,
        ),
    ):
        counter = CounterMetricFamily(name, about, labels=labels)
        counter.add_metric(values, total)
        yield counter


def _cache(metrics: Metrics) -> Iterator[Metric]:
    cache = metrics.cache
    if cache is None:
        return
    labels, values = ["db_system_name"], [metrics.backend]
    up = GaugeMetricFamily(
        "vaultstore_cache_up", "1 while the Redis cache serves, 0 while it is off.", labels=labels
    )
    up.add_metric(values, float(cache.up))
    yield up
    requests = CounterMetricFamily(
        "vaultstore_cache_requests",
        "Cached reads: served by Redis (hit), by the database and then cached (miss), "
        "or by the database alone while the cache was off (bypassed).",
        labels=[*labels, "result"],
    )
    results = (("hit", cache.hits), ("miss", cache.misses), ("bypassed", cache.bypassed))
    for result, total in results:
        requests.add_metric([*values, result], total)
    yield requests
    for name, about, total in (
        ("vaultstore_cache_errors", "Redis calls that failed or timed out.", cache.errors),
        ("vaultstore_cache_invalidations", "Keys deleted after a commit.", cache.invalidations),
        (
            "vaultstore_cache_fills_refused",
            "Misses not cached because a write invalidated the key meanwhile.",
            cache.fills_refused,
        ),
    ):
        counter = CounterMetricFamily(name, about, labels=labels)
        counter.add_metric(values, total)
        yield counter
