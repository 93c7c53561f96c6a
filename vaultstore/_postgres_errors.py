"""psycopg exceptions into vaultstore's, by class and SQLSTATE, never by message text.

Constraint names follow ``<table>_<column>_<check|fkey|key>`` (see migrations/), so
the column at fault, and from it the entity field, is read off the constraint.
"""

from __future__ import annotations

import psycopg
from psycopg import errors as pg
from psycopg_pool import PoolClosed, PoolTimeout

from ._convert import column_field
from ._settings import Settings
from .errors import (
    ConflictError,
    DatabaseError,
    NotFoundError,
    UnavailableError,
    ValidationError,
    VaultStoreError,
)

_TABLES = (
    "agents",
    "credit_vaults",
    "risk_alerts",
    "liquidation_events",
    "protection_rules",
    "market_data",
    "documents",
    "document_chunks",
)
_SUFFIXES = ("_check", "_fkey", "_key")
# Connection failures, server shutting down or refusing connections.
_UNAVAILABLE_CLASSES = ("08", "53", "57P")


def constraint_column(constraint: str | None) -> str | None:
    """``credit_vaults_max_ltv_check`` -> ``max_ltv``."""
    if not constraint:
        return None
    for table in _TABLES:
        if constraint.startswith(table + "_"):
            rest = constraint[len(table) + 1 :]
            for suffix in _SUFFIXES:
                if rest.endswith(suffix):
                    return rest[: -len(suffix)]
    return None


def _field(entity: type | None, column: str | None) -> str | None:
    if column is None:
        return None
    if entity is not None:
        return column_field(entity, column) or column
    return column


def translate(  # noqa: PLR0911 - one return per kind of error reads best
    exc: BaseException,
    *,
    settings: Settings,
    entity: type | None = None,
    deleting: bool = False,
) -> VaultStoreError:
    """The vaultstore error for a psycopg or pool exception (raise it ``from exc``)."""
    if isinstance(exc, VaultStoreError):
        return exc
    name = entity.__name__ if entity is not None else "row"
    if isinstance(exc, PoolTimeout | PoolClosed):
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
        if deleting:
            return ConflictError(f"{name} is still referenced ({constraint}): {detail}", code=code)
        column = constraint_column(constraint)
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
    if isinstance(exc, pg.CheckViolation):
        return ValidationError(
            f"refused by {constraint}",
            field=_field(entity, constraint_column(constraint)),
            code=code,
        )
    if isinstance(exc, pg.NotNullViolation):
        return ValidationError("is required", field=_field(entity, diag.column_name), code=code)
    if isinstance(exc, psycopg.DataError):
        return ValidationError(detail, field=_field(entity, diag.column_name), code=code)
    if isinstance(exc, pg.SerializationFailure | pg.DeadlockDetected | pg.LockNotAvailable):
        return ConflictError(f"concurrent update, try again: {detail}", code=code)
    if isinstance(exc, psycopg.OperationalError) and (
        code is None or code.startswith(_UNAVAILABLE_CLASSES)
    ):
        return UnavailableError(
            f"database {settings} unavailable: {settings.scrub(str(exc))}", code=code
        )
    return DatabaseError(f"{type(exc).__name__}: {detail}", code=code)
