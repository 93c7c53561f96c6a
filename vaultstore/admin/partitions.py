"""``vaultstore partitions``: market data's monthly partitions made ahead of time and
old ones dropped (PostgreSQL, migration 0012); on MongoDB, the same retention as a
scheduled delete.

PostgreSQL: ``market_data`` is range-partitioned by ``recorded_at``, one partition
per calendar month in UTC (``market_data_2027_01``), and has no default partition:
a price for a month without a partition is refused (a ValidationError on
``recorded_at``). A run, idempotent and safe from cron on several hosts at once:

1. takes a session advisory lock, not waited for (a second run at the same time
   does nothing and says so);
2. finalizes a ``DETACH ... CONCURRENTLY`` that an earlier run left pending;
3. makes every missing month from ``since`` (default: this month) to ``ahead``
   months after this one (``market_data_create_partition()``, which attaches the
   new table: SHARE UPDATE EXCLUSIVE on market_data, reads and writes go on);
4. with ``retain``, detaches every partition whose months all end before
   now - retain, ``CONCURRENTLY`` (it waits for the transactions using market_data
   instead of blocking them), then drops it; and drops tables an interrupted run
   detached and left.

MongoDB has no partitions: ``retain`` deletes the prices recorded before the same
cutoff (the start of the month holding now - retain), so that both backends keep
exactly the same rows; the index ``market_data_recorded_at_id_idx`` serves the
delete. A TTL index was not chosen: it deletes document by document as each one
ages (not whole months, so the backends would disagree), its retention is written
in the index (changed only by ``collMod``), and PostgreSQL needs the cron job
anyway.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import attrs
import psycopg
from psycopg import sql

from .._settings import Settings, resolve_settings
from ..errors import ValidationError, VaultStoreError
from .mongo_migrate import _database as mongo_database
from .schema import admin_connection, catalog_queries

__all__ = [
    "DEFAULT_AHEAD",
    "PartitionReport",
    "PartitionsFor",
    "Retention",
    "create_partitions",
    "manage_partitions",
    "parse_retention",
]

DEFAULT_AHEAD = 3
"""Months made ahead of this one, as migration 0012 makes them."""
LOCK_KEY = 0x7661756C7473  # "vaults": the advisory lock of one run at a time
TABLE = "market_data"
_CONCURRENTLY_SINCE = 140_000
_DURATION = re.compile(r"^\s*(\d+)\s*(d|days?|w|weeks?|m|mo|months?|y|years?)\s*$", re.IGNORECASE)


@attrs.frozen
class Retention:
    """How long prices are kept: whole months and years, or days."""

    months: int = 0
    days: int = 0

    def cutoff(self, now: datetime) -> datetime:
        """The start of the month holding ``now`` minus the retention: what was
        recorded before it is dropped (PostgreSQL: whole partitions)."""
        moment = now.astimezone(UTC) - timedelta(days=self.days)
        month = add_months(month_start(moment).date(), -self.months)
        return datetime(month.year, month.month, 1, tzinfo=UTC)


def parse_retention(text: str) -> Retention:
    """``"90d"``, ``"6w"``, ``"13m"`` (months), ``"2y"``; ValidationError naming
    ``retain`` otherwise."""
    match = _DURATION.match(text)
    if match is None:
        raise ValidationError(
            f"expected a duration such as 90d, 6w, 13m or 2y, got {text!r}", field="retain"
        )
    count, unit = int(match.group(1)), match.group(2).lower()
    if unit.startswith("d"):
        return Retention(days=count)
    if unit.startswith("w"):
        return Retention(days=7 * count)
    if unit.startswith("y"):
        return Retention(months=12 * count)
    return Retention(months=count)


def month_start(moment: datetime) -> datetime:
    """Midnight UTC on the first day of the month holding ``moment``."""
    moment = moment.astimezone(UTC)
    return datetime(moment.year, moment.month, 1, tzinfo=UTC)


def add_months(month: date, count: int) -> date:
    """The first day of the month ``count`` months after ``month``'s."""
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def months_between(first: date, last: date) -> list[date]:
    """The first days of every month from ``first``'s to ``last``'s, both included."""
    months, month = [], date(first.year, first.month, 1)
    while month <= last:
        months.append(month)
        month = add_months(month, 1)
    return months


def partition_name(month: date) -> str:
    """``market_data_2027_01``: as ``market_data_create_partition()`` names it."""
    return f"{TABLE}_{month.year:04d}_{month.month:02d}"


@attrs.frozen
class PartitionReport:
    """What a run did (or, with ``dry_run``, would do)."""

    backend: str
    dry_run: bool = False
    busy: bool = False
    """Another run held the lock: this one did nothing."""
    created: tuple[str, ...] = ()
    finalized: tuple[str, ...] = ()
    detached: tuple[str, ...] = ()
    dropped: tuple[str, ...] = ()
    kept: tuple[str, ...] = ()
    """The partitions there after the run, oldest first."""
    cutoff: datetime | None = None
    """With a retention: what was recorded before this was dropped or deleted."""
    deleted: int = 0
    """MongoDB: the prices deleted (with ``dry_run``: that would be)."""

    def lines(self) -> list[str]:
        """The report as the command prints it."""
        would = "would be " if self.dry_run else ""
        if self.busy:
            return ["another vaultstore partitions run holds the lock: nothing done"]
        out = [f"{would}created {name}" for name in self.created]
        out += [f"{would}finalized the detach of {name}" for name in self.finalized]
        out += [
            f"{would}{'detached and ' if name in self.detached else ''}dropped {name}"
            for name in self.dropped
        ]
        if self.backend == "mongodb":
            if self.cutoff is not None:
                out.append(
                    f"{would}deleted {self.deleted:,} prices recorded before {self.cutoff:%Y-%m-%d}"
                )
            else:
                out.append("MongoDB has no partitions: only --retain does something")
        elif self.kept:
            out.append(f"partitions: {len(self.kept)}, {self.kept[0]} to {self.kept[-1]}")
        if self.cutoff is not None and self.backend == "postgresql":
            out.append(f"retention: months before {self.cutoff:%Y-%m-%d} are dropped")
        return out


def manage_partitions(
    database: str | Settings | None = None,
    *,
    ahead: int = DEFAULT_AHEAD,
    retain: Retention | str | None = None,
    since: date | None = None,
    dry_run: bool = False,
    now: datetime | None = None,
    env: Mapping[str, str] | None = None,
) -> PartitionReport:
    """Make market data's partitions from ``since`` (default: this month) to
    ``ahead`` months ahead, and drop those older than ``retain`` (MongoDB: delete
    the prices); see the module's documentation. ``now`` is for tests."""
    if isinstance(ahead, bool) or not isinstance(ahead, int) or not 0 <= ahead <= 120:
        raise ValidationError(f"must be from 0 to 120 months, got {ahead!r}", field="ahead")
    retention = parse_retention(retain) if isinstance(retain, str) else retain
    now = (now or datetime.now(UTC)).astimezone(UTC)
    cutoff = retention.cutoff(now) if retention is not None else None
    settings = resolve_settings(database, env)
    if settings.backend == "mongodb":
        return _delete_old_prices(settings, cutoff, dry_run=dry_run)
    this_month = month_start(now).date()
    first = min(since, this_month) if since is not None else this_month
    wanted = months_between(first, add_months(this_month, ahead))
    if cutoff is not None:
        wanted = [month for month in wanted if add_months(month, 1) > cutoff.date()]
    with admin_connection(settings) as conn:
        return _partitions(conn, wanted, cutoff, dry_run=dry_run)


def create_partitions(database: str | Settings | None, months: Iterable[date]) -> list[str]:
    """Make the partitions of ``months`` that do not exist (``vaultstore copy`` does,
    for the months of the prices it stores); the names of those made."""
    settings = resolve_settings(database, None)
    queries = catalog_queries("partitions")
    with admin_connection(settings) as conn:
        made = [queries.create_partition(conn, month=month)["created"] for month in months]
    return [name for name in made if name is not None]


class PartitionsFor:
    """Called with each page ``vaultstore copy`` stores: makes the partitions of the
    months of a page of prices that the target lacks (once per month)."""

    def __init__(self, target: Settings) -> None:
        self._target = target
        self._seen: set[date] = set()

    def __call__(self, name: str, page: Sequence[Any]) -> None:
        if name != TABLE:
            return
        months = {month_start(entity.recorded_at).date() for entity in page} - self._seen
        if months:
            create_partitions(self._target, sorted(months))
            self._seen |= months


def _partitions(
    conn: psycopg.Connection[Any], wanted: list[date], cutoff: datetime | None, *, dry_run: bool
) -> PartitionReport:
    queries = catalog_queries("partitions")
    if queries.server_version(conn)["version"] < _CONCURRENTLY_SINCE:
        raise VaultStoreError("vaultstore partitions needs PostgreSQL 14 or later")
    if not queries.try_lock(conn, key=LOCK_KEY)["is_locked"]:
        return PartitionReport("postgresql", dry_run=dry_run, busy=True)
    try:
        existing = list(queries.partitions(conn))
        finalized = [p["partition_name"] for p in existing if p["detach_pending"]]
        names = {p["partition_name"] for p in existing}
        created = [partition_name(m) for m in wanted if partition_name(m) not in names]
        old = [
            p["partition_name"]
            for p in existing
            if cutoff is not None and p["upper_bound"] is not None and p["upper_bound"] <= cutoff
        ]
        leftovers = [
            row["partition_name"]
            for row in queries.detached(conn)
            if cutoff is not None and _month_of(row["partition_name"]) < cutoff.date()
        ]
        if not dry_run:
            for name in finalized:
                conn.execute(_detach(name, "FINALIZE"))
            for month in wanted:
                queries.create_partition(conn, month=month)
            for name in old:
                if name not in finalized:
                    conn.execute(_detach(name, "CONCURRENTLY"))
                conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(name)))
            for name in leftovers:
                conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(name)))
            kept = [p["partition_name"] for p in queries.partitions(conn)]
        else:
            kept = sorted((names - set(old)) | set(created))
    finally:
        queries.unlock(conn, key=LOCK_KEY)
    return PartitionReport(
        "postgresql",
        dry_run=dry_run,
        created=tuple(created),
        finalized=tuple(finalized),
        detached=tuple(name for name in old if name not in finalized),
        dropped=tuple(old + leftovers),
        kept=tuple(kept),
        cutoff=cutoff,
    )


def _detach(name: str, how: str) -> sql.Composed:
    """``ALTER TABLE market_data DETACH PARTITION <name> CONCURRENTLY`` (or FINALIZE):
    the one statement here that must name a partition, and cannot run in a
    function or a transaction."""
    return sql.SQL("ALTER TABLE {} DETACH PARTITION {} {}").format(
        sql.Identifier(TABLE), sql.Identifier(name), sql.SQL(how)
    )


def _month_of(name: str) -> date:
    year, month = name.removeprefix(f"{TABLE}_").split("_")
    return date(int(year), int(month), 1)


def _delete_old_prices(
    settings: Settings, cutoff: datetime | None, *, dry_run: bool
) -> PartitionReport:
    if cutoff is None:
        return PartitionReport("mongodb", dry_run=dry_run)
    old = {"recorded_at": {"$lt": cutoff}}
    with mongo_database(settings) as db:
        collection = db[TABLE]
        if dry_run:
            deleted = collection.count_documents(old, hint="market_data_recorded_at_id_idx")
        else:
            deleted = collection.delete_many(
                old, hint="market_data_recorded_at_id_idx"
            ).deleted_count
    return PartitionReport("mongodb", dry_run=dry_run, cutoff=cutoff, deleted=deleted)
