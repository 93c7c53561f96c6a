"""What the PostgreSQL backend does without I/O, shared by the async shell and its
generated sync twin: the converter family member for psycopg, connection
parameters, statement parameters, and psycopg errors into vaultstore's (by class
and SQLSTATE, never by message text).

Constraint names follow ``<table>_<column>_<check|fkey|key>`` (see migrations/), so
the column at fault, and from it the entity field, is read off the constraint.
"""

from __future__ import annotations

import enum
import functools
import math
import os
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

import psycopg
from aiosql.types import SQLOperationType
from psycopg import errors as pg
from psycopg.conninfo import make_conninfo
from psycopg.sql import Literal
from psycopg.types.json import Jsonb
from psycopg_pool import PoolClosed, PoolTimeout

from ._convert import EntityConverter, MissingColumnsError, column_field
from ._new_rows import NewRows
from ._registry import REGISTRY
from ._settings import Settings, is_secret, postgres_params
from .errors import (
    ConcurrentUpdateError,
    ConflictError,
    DatabaseError,
    NotFoundError,
    OperationTimeoutError,
    StoreClosedError,
    UnavailableError,
    ValidationError,
    VaultStoreError,
)

T = TypeVar("T")

DRIVER_ERRORS = (psycopg.Error, PoolTimeout, PoolClosed)
"""What the shells catch and translate."""
UNDEFINED_COLUMN = "42703"
NOT_MIGRATED = frozenset({"42P01", UNDEFINED_COLUMN})
"""SQLSTATEs of a schema older than the statements: undefined table, column."""


def not_migrated(error: VaultStoreError, pending: list[str]) -> VaultStoreError:
    """``error`` saying that the database is not (fully) migrated, and what to do."""
    if not pending:
        return error
    return DatabaseError(
        f"{error.message} (the database is not migrated: run `vaultstore migrate`; "
        f"pending: {', '.join(pending)})",
        code=error.code,
    )


_SUFFIXES = ("_check", "_fkey", "_key")
# Connection failures, server shutting down or refusing connections.
_UNAVAILABLE_CLASSES = ("08", "53", "57P")


class PostgresConverter(EntityConverter):
    """The converter family member for psycopg: JSON fields are passed as ``jsonb``,
    and rows come back as tuples (built in C), turned into entities by a loader
    made once per entity and statement from the statement's column names."""

    def __init__(self) -> None:
        super().__init__()
        self._statement_loaders: dict[tuple[type, object], Callable[[Any], Any]] = {}

    def json_param(self, value: Any) -> Any:
        return Jsonb(value)

    def statement_loader(
        self, cls: type[T], statement: object, columns: Callable[[], Sequence[str]]
    ) -> Callable[[Any], T]:
        """The loader of ``cls`` from the rows of ``statement``, made on its first
        use from ``columns()``, the column names of the statement's result."""
        key = (cls, statement)
        loader = self._statement_loaders.get(key)
        if loader is None:
            try:
                loader = self.row_loader(cls, columns())
            except MissingColumnsError as exc:
                raise DatabaseError(
                    f"{getattr(statement, '__name__', statement)}: {exc}", code=UNDEFINED_COLUMN
                ) from None
            self._statement_loaders[key] = loader
        return loader

    def copy_rows(self, batch: Any, columns: tuple[str, ...]) -> Iterable[tuple[Any, ...]]:
        """A batch's rows as a COPY of ``columns`` takes them (JSON as jsonb): the
        batch is new entities' rows (``NewRows``), or whole entities."""
        if not isinstance(batch, NewRows):
            return (tuple(row[c] for c in columns) for row in map(self.params, batch))
        rows = batch.in_columns(columns)
        json = {i for i, column in enumerate(columns) if column in batch.json_columns}
        if not json:
            return rows
        return (
            tuple(Jsonb(value) if i in json else value for i, value in enumerate(row))
            for row in rows
        )

    def row_params(self, batch: Any) -> list[dict[str, Any]]:
        """A batch (``NewRows`` or whole entities) as the parameters of a
        statement run once per row."""
        if not isinstance(batch, NewRows):
            return list(map(self.params, batch))
        return [
            dict(zip(batch.columns, row, strict=True))
            for row in self.copy_rows(batch, batch.columns)
        ]

    def bind(self, cls: type, plan: Plan, params: dict[str, Any]) -> dict[str, Any]:
        """The parameters of ``plan``'s statement from an operation's: ``entity``
        spreads over its columns, ``changes`` over the columns it changes (the others
        None) and ``changed`` names them; a dict goes as jsonb. Parameters with none
        of these are given back as they are (the repositories make a dict per call)."""
        if plan.attributes is not None:
            params = plan.spread(params)
        if "entity" not in params and "changes" not in params:
            for value in params.values():
                if isinstance(value, dict):
                    break
            else:
                return params  # the common case: nothing to spread or wrap
        bound: dict[str, Any] = dict.fromkeys(plan.parameters) if "changes" in params else {}
        for name, value in params.items():
            if name == "entity":
                bound.update(self.params(value))
            elif name == "changes":
                columns = self.change_columns(cls, value)
                bound.update(columns)
                bound["changed"] = list(columns)
            elif isinstance(value, dict):
                bound[name] = Jsonb(value)
            else:
                bound[name] = value
        return bound


class Result(enum.Enum):
    """What running a statement gives back, as aiosql's adapter would give it for
    the statement's suffix; the executor fetches it from the cursor itself."""

    ROWS = "rows"
    """Every row (no suffix: a select)."""
    ROW = "row"
    """The first row or None (``^``, ``<!``)."""
    VALUE = "value"
    """The first column of the first row, or None (``$``)."""
    ROWCOUNT = "rowcount"
    """How many rows the statement wrote (``!``)."""
    STATUS = "status"
    """The server's status message (``#``, run without parameters)."""


_RESULTS = {
    SQLOperationType.SELECT: Result.ROWS,
    SQLOperationType.SELECT_ONE: Result.ROW,
    SQLOperationType.INSERT_RETURNING: Result.ROW,
    SQLOperationType.SELECT_VALUE: Result.VALUE,
    SQLOperationType.INSERT_UPDATE_DELETE: Result.ROWCOUNT,
    SQLOperationType.SCRIPT: Result.STATUS,
}


class Plan:
    """How an operation's aiosql statement is run, worked out on its first call so
    that the next ones look up nothing else: its SQL (as aiosql loaded it from
    ``queries/<entity>.sql``), what it gives back, its declared parameters, and
    whether it is a batch (``*!``, or a ``COPY ... FROM STDIN``) or a read (which
    may run again on a fresh connection when its connection turns out dead)."""

    __slots__ = (
        "attributes",
        "batch",
        "parameters",
        "pooled_sql",
        "read",
        "result",
        "sql",
        "statement",
    )

    def __init__(self, statement: Any) -> None:
        operation = statement.operation
        self.statement = statement
        self.sql: str = statement.sql
        self.parameters: tuple[str, ...] = tuple(statement.parameters or ())
        self.attributes: dict[str, dict[str, str]] | None = statement.attributes or None
        self.batch = (
            operation is SQLOperationType.INSERT_UPDATE_DELETE_MANY
            or copy_columns(statement.sql) is not None
        )
        self.read = operation.name.startswith("SELECT") and reads_only(statement.sql)
        self.result = _RESULTS.get(operation, Result.STATUS)
        self.pooled_sql: dict[str, str] = {}
        """Behind a transaction pooler: by the scope's statement sent first (the
        operation timeout, tenant, actor and audit switch of a store or one of its
        views), that statement then this one, sent as one query."""

    def spread(self, params: dict[str, Any]) -> dict[str, Any]:
        """``:obj.attr`` references in the SQL, as aiosql passes them: parameter
        ``obj`` becomes one ``obj__attr`` per attribute the statement reads."""
        spread = dict(params)
        for name, attributes in (self.attributes or {}).items():
            value = spread.pop(name)
            for attribute, variable in attributes.items():
                spread[variable] = getattr(value, attribute)
        return spread


_COMMENT = re.compile(r"--[^\n]*|/\*.*?\*/", re.S)
_WRITES = re.compile(
    r"\b(INSERT|UPDATE|DELETE|MERGE|COPY|CALL|FOR\s+(NO\s+KEY\s+|KEY\s+)?SHARE)\b", re.I
)


def reads_only(sql: str) -> bool:
    """Whether ``sql`` only reads: a query that writes nothing and locks nothing
    (no ``FOR UPDATE``), which may run again after its connection died and may
    run on a read replica. A statement with a data-modifying CTE, or that names
    a writing keyword in a string, counts as a write: the safe side."""
    words = _COMMENT.sub(" ", sql).split(None, 1)
    if not words or words[0].upper() not in {"SELECT", "WITH", "VALUES", "TABLE"}:
        return False
    return _WRITES.search(_COMMENT.sub(" ", sql)) is None


def connection_kwargs(settings: Settings) -> tuple[str, dict[str, Any]]:
    """The conninfo without its secrets, and the keyword arguments that carry them
    and vaultstore's defaults. What the connection string says is kept, and what
    libpq would take from elsewhere (a service file, PG* variables): the defaults
    fill in only what none of them sets. The session's time zone and statement
    timeout are set once connected (:func:`session_defaults`), not here, so that a
    ``-c`` in the string's ``options`` or in PGOPTIONS wins."""
    params = postgres_params(settings.dsn)
    if settings.pool.transaction_pooling:
        _refuse_startup_options(params)
    secrets = {key: params.pop(key) for key in list(params) if is_secret(key)}
    elsewhere = "service" in params or "PGSERVICE" in os.environ
    if not (elsewhere or "PGAPPNAME" in os.environ):
        params.setdefault("application_name", "vaultstore")
    if not (elsewhere or "PGCONNECT_TIMEOUT" in os.environ):
        params.setdefault("connect_timeout", str(max(2, math.ceil(settings.pool.connect_timeout))))
    kwargs: dict[str, Any] = {
        "autocommit": True,
        "prepare_threshold": settings.pool.prepare_threshold,
        **secrets,
    }
    return make_conninfo("", **params), kwargs


def _refuse_startup_options(params: dict[str, str]) -> None:
    """Behind a transaction pooler, what a connection's startup ``options`` set
    would not hold: PgBouncer refuses them, or, told to ignore them
    (``ignore_startup_parameters``), drops them without a word. Raise, rather
    than run without the settings the caller asked for."""
    for name, given in (
        ("options", params.get("options")),
        ("PGOPTIONS", os.environ.get("PGOPTIONS")),
    ):
        if given and given.strip():
            raise ValidationError(
                "startup options (-c ...) do not reach the server through a pooler in "
                "transaction mode: set those parameters on the role or the database "
                "(ALTER ROLE ... SET) instead",
                field=name,
            )


def call_first(sql: str, settings: Settings, tenant: str, actor: str, audit: str) -> str:
    """``health.set_call_scope`` (``sql``, as aiosql loaded it) with the store's
    operation timeout, tenant, actor and audit switch written in as literals, to go before a
    statement in one query: behind a transaction pooler a statement outside a
    transaction is sent with it as one simple-protocol message (its parameters
    bound by psycopg on the client), so that both run in one implicit
    transaction, on one server connection, in one round trip. (A psycopg pipeline
    does the same with parameters bound on the server, but costs about a round
    trip more on the client.)"""
    values = {
        **operation_timeout_params(settings),
        "tenant": tenant,
        "actor": actor,
        "audit": audit,
    }
    for name, value in values.items():
        sql = sql.replace(f"%({name})s", Literal(str(value)).as_string(None))
    return sql + "\n"


def operation_timeout_params(settings: Settings, timeout: float | None = None) -> dict[str, int]:
    """The parameters of ``health.set_operation_timeout``: ``timeout`` seconds, or
    the store's operation timeout."""
    seconds = settings.pool.operation_timeout if timeout is None else timeout
    return {"milliseconds": _milliseconds(seconds)}


def session_defaults(settings: Settings) -> dict[str, str]:
    """The parameters of ``health.configure_session``: timestamps in UTC, and no
    statement running (or waiting for a lock) longer than the operation timeout."""
    return {
        "timezone": "UTC",
        "statement_timeout": str(_milliseconds(settings.pool.operation_timeout)),
    }


def _milliseconds(seconds: float) -> int:
    return max(1, round(seconds * 1000))


_NOT_SERVING = ("shutting down", "starting up", "recovery mode", "not yet accepting connections")


def server_answered(exc: BaseException) -> bool:
    """Whether a failed connection attempt reached a server that is up and said no
    (too many connections, a password, a database that is not there), rather
    than none being there (refused, unreachable, starting or stopping). libpq
    gives such errors no SQLSTATE: its message says it (``FATAL:``, in English
    unless the server is set to another language; then the server counts as down)."""
    message = str(exc)
    return "FATAL:" in message and not any(words in message for words in _NOT_SERVING)


_COPY_IN = re.compile(
    r"^\s*(?:/\*.*?\*/\s*|--[^\n]*\n\s*)*"  # the statement's comment: where it comes from
    r"COPY\s+[\w.]+\s*\(([^)]*)\)\s*FROM\s+STDIN",
    re.IGNORECASE | re.DOTALL,
)


@functools.cache
def copy_columns(sql: str) -> tuple[str, ...] | None:
    """The columns of a ``COPY table (columns) FROM STDIN`` statement, in order;
    None for any other statement."""
    match = _COPY_IN.match(sql)
    if match is None:
        return None
    return tuple(column.strip() for column in match.group(1).split(","))


def connection_lost(exc: BaseException) -> bool:
    """Whether ``exc`` says the connection is gone (the server closed it, or it
    broke), rather than that the statement failed."""
    if not isinstance(exc, psycopg.OperationalError):
        return False
    code = exc.sqlstate
    return code is None or code.startswith(("08", "57P"))


def constraint_parts(
    constraint: str | None, tables: Sequence[str] = REGISTRY.tables
) -> tuple[str | None, str | None]:
    """``credit_vaults_max_ltv_check`` -> (``credit_vaults``, ``max_ltv``)."""
    if not constraint:
        return None, None
    for table in sorted(tables, key=len, reverse=True):
        if constraint.startswith(table + "_"):
            rest = constraint[len(table) + 1 :]
            for suffix in _SUFFIXES:
                if rest.endswith(suffix):
                    return table, rest[: -len(suffix)]
            return table, None
    return None, None


def _field(entity: type | None, column: str | None) -> str | None:
    if column is None:
        return None
    if entity is not None:
        return column_field(entity, column) or column
    return column


def translate(  # noqa: PLR0911, PLR0912 - one return per kind of error reads best
    exc: BaseException,
    *,
    settings: Settings,
    entity: type | None = None,
    table: str | None = None,
    tables: Sequence[str] = REGISTRY.tables,
    deleting: bool = False,
) -> VaultStoreError:
    """The vaultstore error for a psycopg or pool exception (raise it ``from exc``),
    for a statement writing ``entity`` to ``table`` (``tables`` name every table,
    whose names start the constraints'). A foreign key of another table refusing
    the statement means a row still refers to this one: a conflict (as it is for
    any foreign key while ``deleting``); one of ``table``'s own, a missing row."""
    if isinstance(exc, VaultStoreError):
        return exc
    name = entity.__name__ if entity is not None else "row"
    if isinstance(exc, PoolClosed):
        return StoreClosedError(f"the store on {settings} is closed")
    if isinstance(exc, PoolTimeout):
        return UnavailableError(
            f"no database connection to {settings} came free: {settings.scrub(str(exc))}"
        )
    if not isinstance(exc, psycopg.Error):
        return DatabaseError(settings.scrub(f"{type(exc).__name__}: {exc}"))
    code = exc.sqlstate
    diag = exc.diag
    detail = settings.scrub(diag.message_primary or str(exc).strip())
    constraint = diag.constraint_name
    if isinstance(exc, pg.UniqueViolation):
        return ConflictError(
            f"{name} conflicts with a stored one ({constraint}): {diag.message_detail or detail}",
            code=code,
        )
    if isinstance(exc, pg.RestrictViolation):
        return ConflictError(f"{name} is still referenced ({constraint}): {detail}", code=code)
    if isinstance(exc, pg.ForeignKeyViolation):
        owner, column = constraint_parts(constraint, tables)
        if deleting or (table is not None and owner is not None and owner != table):
            return ConflictError(f"{name} is still referenced ({constraint}): {detail}", code=code)
        return (
            NotFoundError(
                f"{name} refers to a missing row ({constraint}): {diag.message_detail or detail}",
                entity=name,
                code=code,
            )
            if column is None
            else NotFoundError(
                f"{_field(entity, column)} names no stored row: {diag.message_detail or detail}",
                entity=name,
                code=code,
            )
        )
    if isinstance(exc, pg.CheckViolation) and constraint is None:
        # Only a row that fits no partition breaks a check without a name.
        column = next((e.partitioned_by for e in REGISTRY if e.table == diag.table_name), None)
        return ValidationError(
            f"no partition of {diag.table_name} holds it"
            f" ({diag.message_detail or detail}): run `vaultstore partitions` to make"
            " the partitions of the months to store (--since for past months)",
            field=_field(entity, column),
            code=code,
        )
    if isinstance(exc, pg.CheckViolation):
        return ValidationError(
            f"refused by {constraint}",
            field=_field(entity, constraint_parts(constraint, tables)[1]),
            code=code,
        )
    if isinstance(exc, pg.NotNullViolation):
        return ValidationError("is required", field=_field(entity, diag.column_name), code=code)
    if isinstance(exc, psycopg.DataError):
        return ValidationError(detail, field=_field(entity, diag.column_name), code=code)
    if isinstance(exc, pg.QueryCanceled):
        return OperationTimeoutError(
            f"cancelled after the operation timeout ({settings.pool.operation_timeout:g} s): "
            f"{detail}",
            code=code,
        )
    if isinstance(exc, pg.SerializationFailure | pg.DeadlockDetected | pg.LockNotAvailable):
        return ConcurrentUpdateError(f"concurrent update, try again: {detail}", code=code)
    if isinstance(exc, psycopg.OperationalError) and (
        code is None or code.startswith(_UNAVAILABLE_CLASSES)
    ):
        return UnavailableError(
            f"database {settings} unavailable: {settings.scrub(str(exc))}", code=code
        )
    return DatabaseError(f"{type(exc).__name__}: {detail}", code=code)
