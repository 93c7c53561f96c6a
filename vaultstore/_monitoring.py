"""What every call reports to, once it has run: the per-statement metrics and the
slow-statement log (``VAULTSTORE_SLOW_MS``), the same for both backends and both
APIs, since every call passes through the operation pipeline (``_run``).

A call costs two clock readings, a lock and a few additions; with metrics off
(``connect(metrics=False)``, ``VAULTSTORE_METRICS=false``), the clock readings
only. Labels stay bounded: statements are named, never their parameters.
"""

from __future__ import annotations

import bisect
import contextlib
import logging
import re
import threading
from collections.abc import Mapping
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import attrs

from ._queries import statement_location

try:  # vaultstore[otel]: spans through OpenTelemetry's API, when an SDK is set up
    from opentelemetry import trace as _trace
except ImportError:  # pragma: no cover - the extra is installed with the tests
    _trace = None  # type: ignore[assignment]

logger = logging.getLogger("vaultstore")
_NO_SPAN: AbstractContextManager[None] = contextlib.nullcontext()
_UNKNOWN = object()

DURATION_BUCKETS = (
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)
"""Upper bounds (seconds) of the latency histogram's buckets: OpenTelemetry's
advice for ``db.client.operation.duration`` (1 ms to 10 s), with finer ones below
a millisecond, where a keyed read on a near server lands."""

_SECRET_PARAMETER = re.compile(r"pass|secret|credential|api_?key|auth", re.IGNORECASE)
_SHOWN_PARAMETER = 64
"""Characters of a parameter value a DEBUG slow-statement line shows at most."""


@attrs.frozen
class StatementStats:
    """How often one operation ran since the store opened, and for how long."""

    calls: int
    errors: int
    """Calls that raised (included in ``calls``)."""
    total_seconds: float

    @property
    def mean_seconds(self) -> float:
        return self.total_seconds / self.calls if self.calls else 0.0


@attrs.frozen
class StatementMetrics:
    """One operation's metrics since the store opened (transactions and views of
    the store included): what ``store.metrics()`` and the Prometheus collector give."""

    calls: int
    errors: Mapping[str, int]
    """Calls that raised, by the exception's class (``NotFoundError``,
    ``UnavailableError`` ...); included in ``calls``."""
    rows: int
    """Rows (documents) returned, or written by a write that counts them."""
    total_seconds: float
    buckets: tuple[tuple[float, int], ...]
    """The latency histogram, cumulative as Prometheus keeps it: (upper bound in
    seconds, calls that took at most that long), the last bound infinite."""

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    @property
    def mean_seconds(self) -> float:
        return self.total_seconds / self.calls if self.calls else 0.0


@attrs.frozen
class PoolMetrics:
    """The connection pool's gauges and counters, the same names on both backends."""

    open: int
    """Connections open (in use and idle)."""
    in_use: int
    idle: int
    waiting: int
    """Calls waiting for a connection now."""
    min: int
    max: int
    requests: int
    """Connections asked of the pool since it opened."""
    wait_seconds: float
    """Time calls spent waiting for a connection, in all."""
    request_errors: int
    """Calls that got no connection (none free in time, or none could be opened)."""
    connect_errors: int
    """Connections the pool failed to open (server down, refused, timed out)."""
    connections_opened: int
    connections_lost: int


@attrs.frozen
class CacheStats:
    """``store.metrics().cache``: what the cache did since the store opened."""

    up: bool
    """Whether Redis answered the last call (False while the cache is off)."""
    hits: int
    misses: int
    """Reads Redis did not have: each read the database once (or joined one that did)."""
    fills_refused: int
    """Misses not put back because a write invalidated the key meanwhile."""
    invalidations: int
    """Keys deleted after a commit."""
    errors: int
    """Redis calls that failed or timed out (the database served the call)."""
    bypassed: int
    """Cached reads served by the database alone while the cache was off."""


@attrs.frozen
class Metrics:
    """``store.metrics()``: what a monitoring system scrapes, as plain data."""

    backend: str
    """``postgresql`` or ``mongodb`` (OpenTelemetry's ``db.system.name``)."""
    statements: Mapping[str, StatementMetrics]
    """By operation (``vaults.find_by_id``), sorted; only those that ran: a
    read the cache served is not a statement, and counts in ``cache.hits``."""
    pool: PoolMetrics
    cache: CacheStats | None = None
    """The Redis cache's counters; None without a cache."""


def pool_metrics(stats: Mapping[str, int]) -> PoolMetrics:
    """:class:`PoolMetrics` from the pool's stats as psycopg_pool names them (which
    the MongoDB executor names its gauges after too)."""
    size = stats.get("pool_size", 0)
    idle = stats.get("pool_available", 0)
    return PoolMetrics(
        open=size,
        in_use=max(0, size - idle),
        idle=idle,
        waiting=stats.get("requests_waiting", 0),
        min=stats.get("pool_min", 0),
        max=stats.get("pool_max", 0),
        requests=stats.get("requests_num", 0),
        wait_seconds=stats.get("requests_wait_ms", 0) / 1000,
        request_errors=stats.get("requests_errors", 0),
        connect_errors=stats.get("connections_errors", 0),
        connections_opened=stats.get("connections_num", 0),
        connections_lost=stats.get("connections_lost", 0),
    )


class Counter:
    """The running totals of one operation; added to holding their lock."""

    __slots__ = (
        "attributes",
        "buckets",
        "calls",
        "errors",
        "key",
        "location",
        "lock",
        "rows",
        "seconds",
    )

    def __init__(self, key: str, lock: threading.Lock, attributes: dict[str, str]) -> None:
        self.key = key
        self.lock = lock
        self.attributes = attributes
        """The span attributes of OpenTelemetry's database conventions."""
        self.calls = 0
        self.rows = 0
        self.seconds = 0.0
        self.errors: dict[str, int] = {}
        self.buckets = [0] * (len(DURATION_BUCKETS) + 1)
        self.location: str | None = None
        """Where the statement is declared: found on its first slow call."""

    def metrics(self) -> StatementMetrics:
        total = 0
        cumulative = []
        for bound, count in zip((*DURATION_BUCKETS, float("inf")), self.buckets, strict=True):
            total += count
            cumulative.append((bound, total))
        return StatementMetrics(
            self.calls, dict(self.errors), self.rows, self.seconds, tuple(cumulative)
        )


def _version() -> str:
    from . import __version__  # noqa: PLC0415 - the package imports this module

    return __version__


def rows_of(result: Any) -> int:
    """How many rows a call's result holds: a list's length, a count, 1 for an entity."""
    if result is None:
        return 0
    if isinstance(result, list):
        return len(result)
    if isinstance(result, int):
        return result
    return 1


class Monitor:
    """The metrics and the slow-statement log of one store, shared by its
    transactions and its views (``scoped()``). Thread-safe: a sync store is
    shared by threads."""

    def __init__(
        self,
        *,
        backend: str = "",
        metrics: bool = True,
        slow_seconds: float | None = None,
        queries: Path | None = None,
        namespace: str = "",
        tracer_provider: Any = None,
    ) -> None:
        self.backend = backend
        self.namespace = namespace
        self.tracer_provider = tracer_provider
        self._tracer: tuple[Any, Any] = (None, None)  # (provider, its tracer)
        self.metrics = metrics
        self.slow_seconds = slow_seconds
        self._queries = queries
        self._lock = threading.Lock()
        self._counters: dict[str, Counter] = {}

    def counter(self, key: str, table: str | None = None) -> Counter:
        """The totals of operation ``key`` (on ``table``), made on first use."""
        with self._lock:
            counter = self._counters.get(key)
            if counter is None:
                attributes = {
                    "db.system.name": self.backend,
                    "db.query.summary": key,
                    "db.operation.name": key.partition(".")[2],
                }
                if table:
                    attributes["db.collection.name"] = table
                if self.namespace:
                    attributes["db.namespace"] = self.namespace
                counter = self._counters[key] = Counter(key, self._lock, attributes)
            return counter

    def span(self, counter: Counter) -> AbstractContextManager[Any]:
        """The span of one call of ``counter``'s operation, current while it runs
        (so a driver's instrumented span is its child): named by the statement,
        with the conventions' attributes, an exception recorded; from the store's
        ``tracer_provider``, else the global one. A context that does nothing
        without OpenTelemetry or with no SDK set up."""
        provider = self.tracer_provider
        if provider is None:
            if _trace is None:
                return _NO_SPAN
            # The global provider as set_tracer_provider() left it (None: no SDK set
            # up), read without get_tracer_provider()'s look at the environment,
            # which would cost every call a microsecond.
            provider = getattr(_trace, "_TRACER_PROVIDER", _UNKNOWN)
            if provider is _UNKNOWN:
                provider = _trace.get_tracer_provider()
            if provider is None:
                return _NO_SPAN
        known, tracer = self._tracer
        if provider is not known:
            untraced = isinstance(provider, _trace.ProxyTracerProvider | _trace.NoOpTracerProvider)
            tracer = None if untraced else provider.get_tracer("vaultstore", _version())
            self._tracer = (provider, tracer)
        if tracer is None:
            return _NO_SPAN
        started: AbstractContextManager[Any] = tracer.start_as_current_span(
            counter.key, kind=_trace.SpanKind.CLIENT, attributes=counter.attributes
        )
        return started

    def done(
        self,
        counter: Counter,
        seconds: float,
        result: Any,
        params: Mapping[str, Any],
        span: Any = None,
    ) -> None:
        """A call of ``counter``'s operation that returned ``result`` (in ``span``,
        :meth:`span`'s, when traced)."""
        if span is not None:
            span.set_attribute("db.response.returned_rows", rows_of(result))
        if self.metrics:
            rows = rows_of(result)
            bucket = bisect.bisect_left(DURATION_BUCKETS, seconds)
            with counter.lock:
                counter.calls += 1
                counter.rows += rows
                counter.seconds += seconds
                counter.buckets[bucket] += 1
        if self.slow_seconds is not None and seconds >= self.slow_seconds:
            self._slow(counter, seconds, rows_of(result), params, None)

    def failed(
        self,
        counter: Counter,
        seconds: float,
        error: BaseException,
        params: Mapping[str, Any],
        span: Any = None,
    ) -> None:
        """A call of ``counter``'s operation that raised ``error``."""
        kind = type(error).__name__
        if span is not None:
            span.set_attribute("error.type", kind)
        if self.metrics:
            bucket = bisect.bisect_left(DURATION_BUCKETS, seconds)
            with counter.lock:
                counter.calls += 1
                counter.seconds += seconds
                counter.buckets[bucket] += 1
                counter.errors[kind] = counter.errors.get(kind, 0) + 1
        if self.slow_seconds is not None and seconds >= self.slow_seconds:
            self._slow(counter, seconds, 0, params, kind)

    def add(
        self,
        key: str,
        seconds: float,
        result: Any = None,
        error: BaseException | None = None,
        span: Any = None,
    ) -> None:
        """A call counted by name (the documents' calls, which run several statements)."""
        if error is None:
            self.done(self.counter(key), seconds, result, {}, span)
        else:
            self.failed(self.counter(key), seconds, error, {}, span)

    def _slow(
        self,
        counter: Counter,
        seconds: float,
        rows: int,
        params: Mapping[str, Any],
        error: str | None,
    ) -> None:
        """One WARNING line for a call that took ``slow_seconds`` or more: never its
        parameters' values (they may hold personal or financial data) but at DEBUG,
        cut, and those named like secrets hidden."""
        if counter.location is None:
            counter.location = statement_location(self._queries, self.backend, counter.key)
        fields: dict[str, Any] = {
            "statement": counter.key,
            "location": counter.location,
            "duration_ms": round(seconds * 1000, 3),
            "rows": rows,
            "backend": self.backend,
            "error": error,
        }
        message = "vaultstore: slow statement %s at %s: %.1f ms, %d rows, %s%s"
        args: list[Any] = [
            counter.key,
            counter.location,
            seconds * 1000,
            rows,
            self.backend,
            f", raised {error}" if error else "",
        ]
        if logger.isEnabledFor(logging.DEBUG):
            fields["parameters"] = shown_parameters(params)
            message += "; parameters %s"
            args.append(fields["parameters"])
        logger.warning(message, *args, extra=fields)

    def snapshot(self) -> dict[str, StatementMetrics]:
        """Every operation run so far, by name, sorted."""
        with self._lock:
            return {
                key: counter.metrics()
                for key, counter in sorted(self._counters.items())
                if counter.calls
            }

    def stats(self) -> dict[str, StatementStats]:
        """:meth:`snapshot` as ``statement_stats()`` has always given it."""
        return {
            key: StatementStats(m.calls, m.error_count, m.total_seconds)
            for key, m in self.snapshot().items()
        }


def shown_parameters(params: Mapping[str, Any]) -> dict[str, str]:
    """A call's parameters for a DEBUG line: each value's repr cut to a few dozen
    characters, those whose names say secret hidden."""
    shown: dict[str, str] = {}
    for name, value in params.items():
        if _SECRET_PARAMETER.search(name):
            shown[name] = "***"
            continue
        text = repr(value)
        if len(text) > _SHOWN_PARAMETER:
            text = f"{text[:_SHOWN_PARAMETER]}... ({len(text)} characters)"
        shown[name] = text
    return shown
