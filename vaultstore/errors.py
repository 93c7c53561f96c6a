"""The exceptions vaultstore raises, the same on every backend and in both APIs.

Driver exceptions never escape: each is translated into one of these classes and
kept as ``__cause__``. Messages never carry a password.
"""

from __future__ import annotations

__all__ = [
    "ConflictError",
    "DatabaseError",
    "NotFoundError",
    "UnavailableError",
    "ValidationError",
    "VaultStoreError",
]


class VaultStoreError(Exception):
    """Base class of every error raised by vaultstore.

    ``code`` holds the server's error code when one caused it: the SQLSTATE on
    PostgreSQL (``"23505"``), the numeric server code on MongoDB.
    """

    def __init__(self, message: str, *, code: str | int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class ValidationError(VaultStoreError, ValueError):
    """A value is wrong: a validator or a database constraint refused it.

    ``field`` names the entity field at fault, dotted for nested values
    (``"collateral.amount"``), or is None when no single field is to blame.
    """

    def __init__(
        self, message: str, *, field: str | None = None, code: str | int | None = None
    ) -> None:
        super().__init__(message, code=code)
        self.field = field

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


class NotFoundError(VaultStoreError, LookupError):
    """An id names nothing: an unknown entity, or a reference to one (a vault for
    an unknown agent)."""

    def __init__(
        self,
        message: str,
        *,
        entity: str | None = None,
        id: str | None = None,  # the entity's field is called id
        code: str | int | None = None,
    ) -> None:
        super().__init__(message, code=code)
        self.entity = entity
        self.id = id


class ConflictError(VaultStoreError):
    """The write collides with the stored state: a duplicate key, a row still
    referenced, a concurrent update, or a state change that is not allowed."""


class UnavailableError(VaultStoreError):
    """The database cannot be reached, or no connection came free in time."""


class DatabaseError(VaultStoreError):
    """Any other failure reported by the database server."""
