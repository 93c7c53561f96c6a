"""The exceptions vaultstore raises, the same on every backend and in both APIs.

Driver exceptions never escape: each is translated into one of these classes and
kept as ``__cause__``. Messages never carry a password.
"""

from __future__ import annotations

__all__ = [
    "ChangesLostError",
    "CommitUnknownError",
    "ConcurrentUpdateError",
    "ConflictError",
    "DatabaseError",
    "NotFoundError",
    "OperationTimeoutError",
    "StoreClosedError",
    "UnavailableError",
    "ValidationError",
    "VaultStoreError",
    "VersionConflictError",
]


class VaultStoreError(Exception):
    """Base class of every error raised by vaultstore.

    ``code`` holds the server's error code when one caused it: the SQLSTATE on
    PostgreSQL (``"23505"``), the numeric server code on MongoDB. ``retryable``
    says whether running the same call (or transaction) again may succeed: true
    for a concurrent update and for an outage, never for a commit whose outcome
    is unknown, bad input, or a closed store.
    """

    retryable: bool = False
    stored: int | None = None
    """For a batch write that is not all or none (``atomic=False``): how many
    records it had stored when this error stopped it."""

    def __init__(
        self, message: str, *, code: str | int | None = None, retryable: bool | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        if retryable is not None:
            self.retryable = retryable


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


class ConcurrentUpdateError(ConflictError):
    """A concurrent transaction got in the way (a serialization failure, a
    deadlock, a lock not available, MongoDB's write conflict or transient
    transaction error): nothing was written, and running the transaction again
    may succeed, as :meth:`Store.run_transaction` does."""

    retryable = True


class VersionConflictError(ConflictError):
    """The entity is no longer at the version the write expected
    (``expected_version=``): another writer changed it since it was read. Nothing
    was written. Retryable: read it again, recompute, write again, as
    :meth:`Store.run_transaction` does when the read is inside it."""

    retryable = True

    def __init__(self, message: str, *, entity: str, id: str, expected: int, stored: int) -> None:
        super().__init__(message)
        self.entity = entity
        self.id = id
        self.expected = expected
        self.stored = stored


class UnavailableError(VaultStoreError):
    """The database cannot be reached, or no connection came free in time."""

    retryable = True


class OperationTimeoutError(UnavailableError, TimeoutError):
    """An operation ran, or waited for a lock or a connection, longer than the
    operation timeout (``DATABASE_OPERATION_TIMEOUT``) and the server cancelled it:
    nothing it did was kept (a write inside a transaction rolls back with it)."""


class StoreClosedError(UnavailableError):
    """The store was closed: no call will succeed on it again."""

    retryable = False


class CommitUnknownError(UnavailableError):
    """The connection was lost while a transaction committed: it may or may not
    have been applied. Never retried blindly: read the state to find out."""

    retryable = False


class DatabaseError(VaultStoreError):
    """Any other failure reported by the database server."""


class ChangesLostError(VaultStoreError):
    """A change feed's resume token is older than what the feed still holds: the
    changes after it were pruned (``vaultstore prune-changes``) or left MongoDB's
    oplog. Read the current state, then watch again without ``resume_after``."""
