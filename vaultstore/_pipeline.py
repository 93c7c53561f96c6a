"""The operation pipeline's I/O-free parts: what an operation is, and what a
repository method declares it runs (what every call then reports to is
:mod:`vaultstore._monitoring`'s).

A repository method checks its arguments, then runs a named operation through
its repository's ``_run`` (the one place every call passes through, on both
backends and both APIs), where an executor runs it: the aiosql statement of that
name on PostgreSQL, the declared operation of that name on MongoDB.
"""

from __future__ import annotations

import enum
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
    lock: bool = False
    """Holds what it reads against other writers until the transaction ends and
    changes nothing a read returns (``lock_by_id``: ``SELECT ... FOR UPDATE``; on
    MongoDB a write of ``_locked_at``): the cache invalidates nothing for it."""
    key: str = attrs.field(init=False, eq=False)
    """``<entity>.<name>``: how statistics, logs and errors name it."""

    @key.default
    def _key(self) -> str:
        return f"{self.entity.name}.{self.name}"


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
