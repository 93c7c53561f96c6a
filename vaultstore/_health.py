"""``store.health()``'s I/O-free parts: what it reports, how a status follows from
it, and how applied migrations are compared with the files (which ``vaultstore
check``'s drift check shares)."""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs

from ._monitoring import PoolMetrics
from ._resources import SchemaStep

NEVER_EDIT = "never edit an applied migration: restore the file and add a new migration"


class HealthStatus(enum.Enum):
    """A store's health, as a container probe reads it (``exit_code``)."""

    HEALTHY = "healthy"
    DEGRADED = "degraded"
    """The server answers, but something needs an operator: a migration pending
    or changed since it was applied, or the server is a standby."""
    UNREACHABLE = "unreachable"

    @property
    def exit_code(self) -> int:
        """``vaultstore health``'s: 0 healthy, 1 degraded, 2 unreachable."""
        return {"healthy": 0, "degraded": 1, "unreachable": 2}[self.value]


@attrs.frozen
class ServerFacts:
    """What an executor reads of its server for :class:`Health`."""

    round_trip_seconds: float
    server_version: str
    standby: bool
    replica_lag_seconds: float | None
    applied: tuple[Mapping[str, Any], ...]
    """The applied migrations (schema steps), oldest first, each with what was
    recorded of its files when applied (:func:`postgres_drift`'s rows, or
    :func:`mongo_drift`'s records)."""
    drift: tuple[str, ...]
    pending: tuple[str, ...]


@attrs.frozen
class Health:
    """``store.health()``: one object, the same on both backends."""

    status: HealthStatus
    backend: str
    reachable: bool
    round_trip_seconds: float | None
    """One ping, on a connection of its own (not the pool's)."""
    server_version: str | None
    role: str | None
    """``primary`` or ``standby`` (PostgreSQL in recovery; a MongoDB secondary)."""
    replica_lag_seconds: float | None
    """On a PostgreSQL standby, how long ago the last transaction it replayed
    was committed on the primary; None elsewhere."""
    pool: PoolMetrics
    migrations_applied: int
    migrations_pending: tuple[str, ...]
    migrations_drifted: tuple[str, ...]
    """One line per applied migration whose file changed or is missing."""
    problems: tuple[str, ...]
    """Why the status is not healthy, one line each."""
    elapsed_seconds: float

    @property
    def ok(self) -> bool:
        return self.status is HealthStatus.HEALTHY

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (``vaultstore health --json``)."""
        data = attrs.asdict(self, recurse=True)
        data["status"] = self.status.value
        data["ok"] = self.ok
        return data


def status_of(reachable: bool, problems: Iterable[str]) -> HealthStatus:
    if not reachable:
        return HealthStatus.UNREACHABLE
    return HealthStatus.DEGRADED if any(True for _ in problems) else HealthStatus.HEALTHY


def _sha256(path: Path) -> str | None:
    # As migrations/post-apply.py takes it: the file's bytes.
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None


def _rollback_change(rollback: Path, recorded: str | None) -> str:
    if recorded is None:
        return "added"
    return "changed" if rollback.is_file() else "removed"


def postgres_drift(
    applied: Iterable[Mapping[str, Any]], folder: Path, *, unrecorded: bool = True
) -> list[str]:
    """One line per applied migration (rows of ``migration_id``, ``sha256``,
    ``rollback_sha256``, ``recorded``) whose files no longer match what was
    recorded when it was applied, naming the file; with ``unrecorded``, also
    those applied with no checksum recorded."""
    problems = []
    for row in applied:
        migration_id = row["migration_id"]
        forward = folder / f"{migration_id}.sql"
        if not forward.is_file() and (folder / f"{migration_id}.py").is_file():
            forward = folder / f"{migration_id}.py"
        rollback = folder / f"{migration_id}.rollback.sql"
        if not forward.is_file():
            problems.append(
                f"{forward}: missing, but the database has applied migration {migration_id}: "
                "restore the file (the schema depends on it), or roll the migration back "
                "with the folder that has it"
            )
        elif not row["recorded"]:
            if unrecorded:
                problems.append(
                    f"{forward}: applied, but no checksum was recorded when it was (applied "
                    "before migration 0009, or by yoyo from a folder without post-apply.py), "
                    "so an edit cannot be told: compare it with its history in version control"
                )
        elif _sha256(forward) != row["sha256"]:
            problems.append(f"{forward}: changed since it was applied; {NEVER_EDIT}")
        elif _sha256(rollback) != row["rollback_sha256"]:
            problems.append(
                f"{rollback}: {_rollback_change(rollback, row['rollback_sha256'])} since "
                f"{migration_id} was applied, so rolling it back may not undo what was "
                f"applied; {NEVER_EDIT}"
            )
    return problems


def mongo_drift(
    records: Iterable[Mapping[str, Any]],
    steps: Iterable[SchemaStep],
    folder: Path,
    *,
    unrecorded: bool = True,
) -> list[str]:
    """:func:`postgres_drift` for MongoDB's schema steps: ``records`` are the
    documents of ``vaultstore_migrations`` (``_id``, ``checksum``), ``steps`` those
    of ``folder``."""
    known = {step.id: step for step in steps}
    problems = []
    for record in records:
        step_id = record["_id"]
        path = folder / f"{step_id}.json"
        step = known.get(step_id)
        if step is None:
            problems.append(
                f"{path}: missing, but the database has applied step {step_id}: restore the "
                "file, or roll the step back with the folder that has it"
            )
        elif not record.get("checksum"):
            if unrecorded:
                problems.append(
                    f"{path}: applied, but no checksum was recorded, so an edit cannot be "
                    "told: compare it with its history in version control"
                )
        elif record["checksum"] != step.checksum:
            problems.append(f"{path}: changed since it was applied; {NEVER_EDIT}")
    return problems


def unreachable(backend: str, reason: str, pool: PoolMetrics, elapsed: float) -> Health:
    """The health of a store whose server did not answer (``reason``: why)."""
    return Health(
        status=HealthStatus.UNREACHABLE,
        backend=backend,
        reachable=False,
        round_trip_seconds=None,
        server_version=None,
        role=None,
        replica_lag_seconds=None,
        pool=pool,
        migrations_applied=0,
        migrations_pending=(),
        migrations_drifted=(),
        problems=(f"unreachable: {' '.join(reason.split())}",),
        elapsed_seconds=elapsed,
    )
