"""The operation pipeline's I/O-free parts: what an operation is, and the
per-statement counters every call adds to.

A repository method checks its arguments, then runs a named operation through
its repository's ``_run`` (the one place every call passes through, on both
backends and both APIs), where an executor runs it: the aiosql statement of that
name on PostgreSQL, the declared operation of that name on MongoDB.
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeAlias, TypeVar

import attrs

from ._registry import EntityType

F = TypeVar("F", bound=Callable[..., Any])
R = TypeVar("R")

AsyncCall: TypeAlias = Callable[..., Awaitable[R]]
"""A backend call, on the async API (the generated sync twin names it ``Call``)."""
Call: TypeAlias = Callable[..., R]


class Shape(enum.Enum):
    """What an operation gives back, the same on every backend."""

    ONE = "one"
    """An entity or None (``^``, ``<!``; ``find_one``, ``find_one_and_update``)."""
    MANY = "many"
    """A list of entities (a select; ``find``)."""
    COUNT = "count"
    """How many rows were written (``!``, ``*!``; ``insert_one``, ``delete_one``)."""
    ROWS = "rows"
    """A list of dicts, column name to value (a select; ``aggregate``)."""


@attrs.frozen(cache_hash=True)
class Operation:
    """A named operation on one entity's table: ``vaults.find_by_id``."""

    entity: EntityType
    name: str
    """The statement's name in ``queries/<entity>.sql`` and the declared
    operation's in ``queries/<entity>.mongodb.json``."""
    shape: Shape
    primary: bool = False
    """A read that must see the latest state (the check after a refused write):
    never sent to a read replica."""
    batch: bool = False
    """A write of many rows in one statement (``update_metrics_many``): audited as
    one record for the whole batch, with its count, not one per row."""
    key: str = attrs.field(init=False, eq=False)
    """``<entity>.<name>``: how statistics, logs and errors name it."""

    @key.default
    def _key(self) -> str:
        return f"{self.entity.name}.{self.name}"


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


class Counter:
    """The running totals of one operation; add to them holding their lock."""

    __slots__ = ("calls", "errors", "lock", "seconds")

    def __init__(self, lock: threading.Lock) -> None:
        self.lock = lock
        self.calls = 0
        self.errors = 0
        self.seconds = 0.0


class StatementCounters:
    """Calls, errors and time per operation, shared by a store and its
    transactions. Adding to them takes a lock (threads share a sync store)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counters: dict[str, Counter] = {}

    def counter(self, key: str) -> Counter:
        """The totals of operation ``key``, made on first use."""
        with self._lock:
            counter = self._counters.get(key)
            if counter is None:
                counter = self._counters[key] = Counter(self._lock)
            return counter

    def add(self, key: str, seconds: float, failed: bool) -> None:
        counter = self.counter(key)
        with self._lock:
            counter.calls += 1
            counter.seconds += seconds
            counter.errors += failed

    def snapshot(self) -> dict[str, StatementStats]:
        """Every operation run so far, by name, sorted."""
        with self._lock:
            return {
                key: StatementStats(c.calls, c.errors, c.seconds)
                for key, c in sorted(self._counters.items())
                if c.calls
            }


def runs(*names: str) -> Callable[[F], F]:
    """Declare the operations a repository method runs, in the order it runs them;
    ``vaultstore queries`` and ``vaultstore check`` read it (the tests check that
    a method runs nothing it does not declare)."""

    def declare(method: F) -> F:
        method.__vaultstore_runs__ = names  # type: ignore[attr-defined]
        return method

    return declare


def operations_run(method: object) -> tuple[str, ...]:
    """What :func:`runs` declared for ``method``."""
    names: tuple[str, ...] = getattr(method, "__vaultstore_runs__", ())
    return names
