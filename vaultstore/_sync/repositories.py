# Generated from vaultstore/_async/repositories.py by tools/generate_sync.py: do not edit.
"""The repositories, written once for every backend (async source of the sync twin).

A method checks its arguments before any I/O, runs named operations through
:meth:`AsyncRepositoryBase._run`, the one place every call passes through, and
builds its result. The executor it is given runs an operation by its name: the
statement of that name in ``queries/<entity>.sql`` on PostgreSQL, the declared
operation of that name in ``queries/<entity>.mongodb.json`` on MongoDB. Each
docstring names the operations its method runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from time import perf_counter
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar, Unpack

from .. import _values
from .._arguments import (
    check_batch_size,
    check_id,
    check_version,
    containment,
    entity_batches,
    entity_batches_of,
    enum_value,
    metric_batches,
    with_recorded_at,
)
from .._audit import AUDIT, DOCUMENTS, audit_key, audit_record, entity_class, parse_changes, plain
from .._cache import CACHED
from .._convert import EntityConverter
from .._entities import (
    Agent,
    AgentChanges,
    AlertChanges,
    AlertSeverity,
    AlertStatus,
    AuditRecord,
    BatchResult,
    ChainId,
    ChainRiskSummary,
    CredibilityTier,
    CreditVault,
    LiquidationChanges,
    LiquidationEvent,
    MarketData,
    MarketDataChanges,
    NewAgent,
    NewAlert,
    NewLiquidation,
    NewMarketData,
    NewProtectionRule,
    NewVault,
    Number,
    ProtectionRule,
    ProtectionRuleChanges,
    RiskAlert,
    StoredDocument,
    VaultChanges,
)
from .._health import ServerFacts
from .._monitoring import Counter, Monitor
from .._paging import (
    Page,
    after_id,
    check_limit,
    id_key,
    ltv_key,
    ltv_position,
    make_page,
    occurred_key,
    recorded_key,
    time_position,
)
from .._pipeline import Operation, Shape, runs
from .._registry import EntityType, Registry
from .._replicas import ReplicaStats
from .._scope import Scope, check_actor
from .._settings import Settings
from ..errors import (
    ConflictError,
    NotFoundError,
    ValidationError,
    VaultStoreError,
    VersionConflictError,
)
from .changes import ChangeFeed
from .documents import DocumentBackend, Documents

if TYPE_CHECKING:
    from .cache import Cache

T = TypeVar("T")


class Executor(Protocol):
    """What runs the operations of one backend: :class:`.postgres.AsyncPostgresExecutor`
    and :class:`.mongo.AsyncMongoExecutor`."""

    backend: str
    settings: Settings
    registry: Registry

    @property
    def cache(self) -> Cache | None: ...
    @property
    def in_transaction(self) -> bool: ...
    @property
    def converter(self) -> EntityConverter: ...
    def execute(self, op: Operation, params: dict[str, Any]) -> Any: ...
    def writes(self, op: Operation) -> bool:
        """Whether ``op`` may change stored data: PostgreSQL's statement is not a
        plain SELECT (``SELECT ... FOR UPDATE`` counts), MongoDB's declared call is
        not a read."""
        ...

    def transaction(self, *, timeout: float | None = None) -> AbstractContextManager[Any]: ...
    def documents(self) -> DocumentBackend: ...
    def ping(self) -> float: ...
    def pending_migrations(self) -> list[str]: ...
    def health_facts(self, timeout: float) -> ServerFacts: ...
    def pool_stats(self) -> dict[str, int]: ...
    def replica_stats(self) -> list[ReplicaStats]: ...
    def watch(self, watched: Sequence[EntityType], after: Any) -> ChangeFeed: ...
    def prune_changes(self, cutoff: datetime) -> int: ...
    def scoped(self, scope: Scope) -> Any: ...
    def close(self) -> None: ...


class Pipeline(Generic[T]):
    """Where every repository's calls go through: :meth:`_run`."""

    def __init__(self, entity: EntityType, executor: Executor, monitor: Monitor) -> None:
        self._entity = entity
        self._executor = executor
        self._monitor = monitor
        self._converter = executor.converter
        self._operations: dict[str, tuple[Operation, Counter, Operation | None]] = {}

    def __repr__(self) -> str:
        return f"<{type(self).__name__} on {self._executor.settings}>"

    def _run(
        self,
        name: str,
        shape: Shape,
        params: dict[str, Any],
        *,
        primary: bool = False,
        batch: bool = False,
        lock: bool = False,
    ) -> Any:
        """Run the operation ``name``: the pipeline every call passes through, where
        what concerns every operation (the cache, its metrics, its span, the
        slow-statement log) is done once.
        ``primary``: a read that must see the latest state, never on a replica
        nor from the cache; ``batch``: a write of many rows, audited as one record;
        ``lock``: holds what it reads, changes nothing."""
        cached = name if not primary else f"{name} on the primary"
        found = self._operations.get(cached)
        if found is None:
            found = self._operations[cached] = self._operation(name, shape, primary, batch, lock)
        op, counter, from_cache = found
        if from_cache is not None:
            cache = self._executor.cache
            if cache is not None:  # not inside a transaction
                return cache.read(
                    cache.key(op, params, self._executor.settings.scope),
                    op.entity.cls,
                    lambda: self._execute(from_cache, counter, params),
                )
        return self._execute(op, counter, params)

    def _operation(
        self, name: str, shape: Shape, primary: bool, batch: bool, lock: bool
    ) -> tuple[Operation, Counter, Operation | None]:
        """The operation, its counter and, for a read the cache serves, how a
        miss reads the database: on the primary, where a replica's lag cannot
        put an older entity in the cache."""
        op = Operation(self._entity, name, shape, primary, batch, lock)
        counter = self._monitor.counter(op.key, op.entity.table)
        from_cache = None
        if not primary and name in CACHED.get(op.entity.name, ()):
            from_cache = Operation(self._entity, name, shape, primary=True)
        return op, counter, from_cache

    def _execute(self, op: Operation, counter: Counter, params: dict[str, Any]) -> Any:
        """Run ``op`` on the database, its metrics and span reported."""
        monitor = self._monitor
        with monitor.span(counter) as span:
            start = perf_counter()
            try:
                result = self._executor.execute(op, params)
            except BaseException as exc:
                monitor.failed(counter, perf_counter() - start, exc, params, span)
                raise
            monitor.done(counter, perf_counter() - start, result, params, span)
        return result

    def _one(self, name: str, /, **params: Any) -> T | None:
        result: T | None = self._run(name, Shape.ONE, params)
        return result

    def _many(self, name: str, /, **params: Any) -> list[T]:
        result: list[T] = self._run(name, Shape.MANY, params)
        return result

    def _page(
        self,
        name: str,
        limit: int,
        key: Callable[[T], tuple[object, ...]] = id_key,
        /,
        **params: Any,
    ) -> Page[T]:
        limit = check_limit(limit)
        params["limit"] = limit + 1
        return make_page(self._run(name, Shape.MANY, params), limit, key)


class RepositoryBase(Pipeline[T]):
    """What every entity's repository does the same way, on every backend."""

    def _not_found(self, id: str) -> NotFoundError:
        name = self._entity.cls.__name__
        return NotFoundError(f"no {name} with id {_values.shown(id)}", entity=name, id=id)

    def _create(self, fields: Any) -> T:
        entity = self._entity
        new: T = self._converter.new(entity.cls, fields, entity.settable, entity.id_prefix)
        self._run("insert", Shape.COUNT, {"entity": new})
        return new

    def _update(self, id: str, changes: Any, expected_version: object) -> T:
        checked = self._converter.check_changes(self._entity.cls, changes, self._entity.changeable)
        check_id(id)
        expected = check_version(expected_version)
        updated = self._one("update", id=id, changes=checked, expected_version=expected)
        if updated is None:
            self._refused(id, expected)
            raise self._not_found(id)  # it was there at that version: deleted since
        return updated

    def _refused(self, id: str, expected: int | None) -> T:
        """Why a write found no row: NotFoundError if there is none, or
        VersionConflictError if it is not at ``expected``; else the entity as it is
        (a write that had nothing to do, such as acknowledging twice)."""
        current: Any = self._run("find_by_id", Shape.ONE, {"id": id}, primary=True)
        if current is None:
            raise self._not_found(id)
        if expected is not None and current.version != expected:
            name = self._entity.cls.__name__
            raise VersionConflictError(
                f"{name} {_values.shown(id)} is at version {current.version}, "
                f"not {expected}: it changed since it was read",
                entity=name,
                id=id,
                expected=expected,
                stored=current.version,
            )
        result: T = current
        return result

    @runs("count")
    def count(self) -> int:
        """How many are stored (``count``)."""
        rows: list[dict[str, Any]] = self._run("count", Shape.ROWS, {})
        return int(rows[0]["total"]) if rows else 0

    @runs("find_last")
    def find_last(self) -> T | None:
        """The entity with the greatest id, the last one created (``find_last``),
        or None when there is none."""
        return self._one("find_last")

    @runs("copy_in")
    def restore(
        self, entities: Iterable[T], *, batch_size: int = 10_000, atomic: bool = True
    ) -> int:
        """Store whole entities exactly as given, ids, versions and timestamps
        kept (``copy_in``: COPY on PostgreSQL, ``insert_many`` on MongoDB): what
        ``vaultstore copy`` and a restore from a backup write with. Any iterable,
        read as it goes, ``batch_size`` at a time; each item must be an entity of
        this repository's class. All or none, in one transaction; with
        ``atomic=False`` each batch commits on its own, and an error's ``stored``
        says how many were stored before it. ConflictError for an id already
        stored. Returns how many were stored."""
        size = check_batch_size(batch_size)
        batches: Iterator[list[T]] = entity_batches_of(self._entity.cls, entities, size)
        return self._store_batches("copy_in", batches, atomic=atomic)

    def _in(self, executor: Executor) -> RepositoryBase[T]:
        """This repository on another executor (a transaction's), same statistics."""
        return type(self)(self._entity, executor, self._monitor)

    def _store_batches(self, name: str, batches: Iterable[Any], *, atomic: bool) -> int:
        """Run the batch operation ``name`` on each batch, all in one transaction
        when ``atomic``; how many were stored."""
        if not atomic:
            return self._each_batch(name, batches, count_stored=True)
        with self._executor.transaction() as tx:
            repository = self if tx is self._executor else self._in(tx)
            return repository._each_batch(name, batches)

    def _each_batch(
        self, name: str, batches: Iterable[Any], *, count_stored: bool = False
    ) -> int:
        """Each batch in turn; with ``count_stored``, an error says in ``stored``
        how many were stored (committed) before it."""
        stored = 0
        try:
            for batch in batches:
                count: int = self._run(name, Shape.COUNT, {"entities": batch})
                stored += count
        except VaultStoreError as exc:
            if count_stored:
                exc.stored = stored
            raise
        return stored

    @runs("find_by_id")
    def find_by_id(self, id: str) -> T | None:
        """The entity with this id, or None (``find_by_id``)."""
        found: T | None = self._run("find_by_id", Shape.ONE, {"id": check_id(id)})
        return found

    @runs("find_by_id", "lock_by_id")
    def lock(self, id: str) -> T:
        """The entity, held against other writers until this transaction ends
        (``lock_by_id``: ``SELECT ... FOR UPDATE`` on PostgreSQL, a write inside the
        transaction on MongoDB): read it with this, change it, and no concurrent
        write comes between. An entity stored by another field than its id (an
        alert by its vault, a price by its token) is read first (``find_by_id``)
        and locked by its id and that field, so that the lock goes to one shard.
        Only on the repositories of ``store.transaction()``; NotFoundError for an
        unknown id, or one deleted between the read and the lock."""
        check_id(id)
        if not self._executor.in_transaction:
            raise VaultStoreError(
                "lock() holds an entity until its transaction ends: call it on the "
                "repositories of store.transaction() (or in run_transaction)"
            )
        params: dict[str, Any] = {"id": id}
        located_by = self._entity.located_by
        if located_by:
            stored = self._one("find_by_id", id=id)
            if stored is None:
                raise self._not_found(id)
            params.update({field: getattr(stored, field) for field in located_by})
        found = self._run("lock_by_id", Shape.ONE, params, lock=True)
        if found is None:
            raise self._not_found(id)
        locked: T = found
        return locked

    @runs("list_after")
    def list(self, *, limit: int = 100, after: str | None = None) -> Page[T]:
        """Every entity in creation order (``list_after``)."""
        return self._page("list_after", limit, after=after_id(after))

    @runs("delete", "documents.delete_by_owner", "find_by_id")
    def delete(self, id: str, *, expected_version: int | None = None) -> None:
        """Delete the entity (``delete``); NotFoundError if there is none,
        ConflictError while others still refer to it, VersionConflictError if it
        is not at ``expected_version`` (when one is given). A vault or an agent
        takes its stored documents with it, in the same transaction
        (``documents.delete_by_owner``)."""
        expected = check_version(expected_version)
        params = {"id": check_id(id), "expected_version": expected}
        owner = self._entity.document_owner
        if owner is None:
            count = self._run("delete", Shape.COUNT, params)
        else:
            with self._executor.transaction() as tx:
                repository = self if tx is self._executor else self._in(tx)
                count = repository._run("delete", Shape.COUNT, params)
                if count:
                    documents = Documents(tx.documents(), self._monitor)
                    documents._delete_by_owner(owner, id)
        if count == 0:
            self._refused(id, expected)
            raise self._not_found(id)


class Repository(RepositoryBase[T]):
    """The repository of a registered entity that has no class of its own here:
    the operations every entity has, untyped ``create`` and ``update``."""

    @runs("insert")
    def create(self, **fields: Any) -> T:
        """Store a new entity (``insert``)."""
        return self._create(fields)

    @runs("update", "find_by_id")
    def update(self, id: str, *, expected_version: int | None = None, **changes: Any) -> T:
        """Change an entity in one write (``update``); NotFoundError if there is none,
        VersionConflictError if it is not at ``expected_version``."""
        return self._update(id, changes, expected_version)


class Agents(RepositoryBase[Agent]):
    """Agents: ``store.agents``."""

    @runs("insert")
    def create(self, **fields: Unpack[NewAgent]) -> Agent:
        """Store a new agent (``insert``); ConflictError if the name is taken."""
        return self._create(fields)

    @runs("find_by_name")
    def find_by_name(self, name: str) -> Agent | None:
        """The agent with this name, or None (``find_by_name``)."""
        return self._one("find_by_name", name=check_id(name, "name"))

    @runs("find_by_tier")
    def find_by_tier(
        self, tier: CredibilityTier | str, *, limit: int = 100, after: str | None = None
    ) -> Page[Agent]:
        """Agents of one credibility tier, in creation order (``find_by_tier``)."""
        value = enum_value(CredibilityTier, tier, "tier")
        return self._page("find_by_tier", limit, tier=value, after=after_id(after))

    @runs("update", "find_by_id")
    def update(
        self, id: str, *, expected_version: int | None = None, **changes: Unpack[AgentChanges]
    ) -> Agent:
        """Change an agent's name or score, its tier following (``update``)."""
        return self._update(id, changes, expected_version)


class Vaults(RepositoryBase[CreditVault]):
    """Credit vaults: ``store.vaults``."""

    @runs("insert")
    def create(self, **fields: Unpack[NewVault]) -> CreditVault:
        """Store a new vault (``insert``); NotFoundError if the agent does not exist."""
        return self._create(fields)

    @runs("find_by_agent_id")
    def find_by_agent_id(
        self, agent_id: str, *, limit: int = 100, after: str | None = None
    ) -> Page[CreditVault]:
        """An agent's vaults in creation order (``find_by_agent_id``)."""
        return self._page(
            "find_by_agent_id",
            limit,
            agent_id=check_id(agent_id, "agent_id"),
            after=after_id(after),
        )

    @runs("find_by_chain_id")
    def find_by_chain_id(
        self, chain_id: ChainId | int, *, limit: int = 100, after: str | None = None
    ) -> Page[CreditVault]:
        """The vaults on one chain in creation order (``find_by_chain_id``)."""
        value = enum_value(ChainId, chain_id, "chain_id")
        return self._page("find_by_chain_id", limit, chain_id=value, after=after_id(after))

    @runs("find_high_risk")
    def find_high_risk_vaults(
        self, threshold: Number, *, limit: int = 100, after: str | None = None
    ) -> Page[CreditVault]:
        """Vaults with an LTV at or above ``threshold``, riskiest first (``find_high_risk``)."""
        value = _values.decimal_value(threshold, "threshold")
        after_ltv, last_id = ltv_position(after)
        return self._page(
            "find_high_risk",
            limit,
            ltv_key,
            threshold=value,
            after_ltv=after_ltv,
            after_id=last_id,
        )

    @runs("update", "find_by_id")
    def update(
        self, id: str, *, expected_version: int | None = None, **changes: Unpack[VaultChanges]
    ) -> CreditVault:
        """Change a vault in one write (``update``); a rule across fields (the
        protection threshold at most ``max_ltv``) is the database's to check."""
        return self._update(id, changes, expected_version)

    @runs("update_metrics", "find_by_id")
    def update_vault_metrics(
        self,
        id: str,
        ltv: Number,
        health_factor: Number,
        *,
        expected_version: int | None = None,
    ) -> CreditVault:
        """Record a vault's current LTV and health factor (``update_metrics``);
        VersionConflictError if it is not at ``expected_version``."""
        checked = self._converter.check_changes(
            CreditVault, {"ltv": ltv, "health_factor": health_factor}, self._entity.changeable
        )
        expected = check_version(expected_version)
        vault = self._one(
            "update_metrics", id=check_id(id), expected_version=expected, **checked
        )
        if vault is None:
            self._refused(id, expected)
            raise self._not_found(id)
        return vault

    @runs("update_metrics_many")
    def update_metrics_many(
        self,
        updates: Iterable[tuple[str, Number, Number] | Mapping[str, Any]],
        *,
        batch_size: int = 10_000,
    ) -> BatchResult:
        """Record many vaults' LTV and health factor (``update_metrics_many``, one
        statement per ``batch_size`` updates): ``(id, ltv, health_factor)`` tuples
        or dicts, from any iterable, read as it goes. All or none, in one
        transaction; each version counts up as ``update_vault_metrics`` counts it.
        Returns how many vaults changed, and the ids that name no vault."""
        size = check_batch_size(batch_size)
        batches = metric_batches(
            self._converter, CreditVault, updates, self._entity.changeable, size
        )
        updated, missing = 0, list[str]()
        with self._executor.transaction() as tx:
            vaults = self if tx is self._executor else type(self)(self._entity, tx, self._monitor)
            for ids, ltvs, factors in batches:
                rows = vaults._run(
                    "update_metrics_many",
                    Shape.ROWS,
                    {"ids": ids, "ltvs": ltvs, "health_factors": factors},
                    batch=True,
                )
                found = {row["id"] for row in rows}
                updated += len(found)
                missing.extend(id for id in ids if id not in found)
        return BatchResult(updated=updated, missing=tuple(missing))

    @runs("risk_summary_by_chain")
    def risk_summary_by_chain(self, threshold: Number) -> list[ChainRiskSummary]:
        """Per chain: vault count, USD totals, average LTV and the number of vaults at
        or above ``threshold`` (``risk_summary_by_chain``)."""
        value = _values.decimal_value(threshold, "threshold")
        rows = self._run("risk_summary_by_chain", Shape.ROWS, {"threshold": value})
        return [ChainRiskSummary.from_totals(**row) for row in rows]


class Alerts(RepositoryBase[RiskAlert]):
    """Risk alerts: ``store.alerts``."""

    @runs("insert")
    def create(self, **fields: Unpack[NewAlert]) -> RiskAlert:
        """Raise a new, open alert (``insert``); NotFoundError for an unknown vault."""
        return self._create(fields)

    @runs("find_by_vault")
    def find_by_vault(
        self, vault_id: str, *, limit: int = 100, after: str | None = None
    ) -> Page[RiskAlert]:
        """Every alert of a vault, in creation order (``find_by_vault``)."""
        return self._page(
            "find_by_vault", limit, vault_id=check_id(vault_id, "vault_id"), after=after_id(after)
        )

    @runs("find_open_by_vault")
    def find_open_by_vault(
        self, vault_id: str, *, limit: int = 100, after: str | None = None
    ) -> Page[RiskAlert]:
        """A vault's unresolved alerts (``find_open_by_vault``)."""
        return self._page(
            "find_open_by_vault",
            limit,
            vault_id=check_id(vault_id, "vault_id"),
            after=after_id(after),
        )

    @runs("find_open_by_severity")
    def find_open_by_severity(
        self, severity: AlertSeverity | str, *, limit: int = 100, after: str | None = None
    ) -> Page[RiskAlert]:
        """Unresolved alerts of one severity (``find_open_by_severity``)."""
        value = enum_value(AlertSeverity, severity, "severity")
        return self._page(
            "find_open_by_severity", limit, severity=value, after=after_id(after)
        )

    @runs("acknowledge", "find_by_id")
    def acknowledge(self, id: str, *, expected_version: int | None = None) -> RiskAlert:
        """Mark an open alert as seen (``acknowledge``, then ``find_by_id`` if it was
        not open); it stays open. Acknowledging again changes nothing; ConflictError
        if it is resolved, VersionConflictError if not at ``expected_version``."""
        expected = check_version(expected_version)
        alert = self._one("acknowledge", id=check_id(id), expected_version=expected)
        if alert is not None:
            return alert
        current = self._refused(id, expected)
        if current.status is AlertStatus.ACKNOWLEDGED:
            return current
        raise ConflictError(f"alert {_values.shown(id)} is resolved and cannot be acknowledged")

    @runs("resolve", "find_by_id")
    def resolve(self, id: str, *, expected_version: int | None = None) -> RiskAlert:
        """Close an alert (``resolve``, then ``find_by_id`` if it was resolved);
        resolving it again changes nothing; VersionConflictError if not at
        ``expected_version``."""
        expected = check_version(expected_version)
        alert = self._one("resolve", id=check_id(id), expected_version=expected)
        if alert is not None:
            return alert
        return self._refused(id, expected)

    @runs("update", "find_by_id")
    def update(
        self, id: str, *, expected_version: int | None = None, **changes: Unpack[AlertChanges]
    ) -> RiskAlert:
        """Change an alert's severity or message (``update``)."""
        return self._update(id, changes, expected_version)


class Liquidations(RepositoryBase[LiquidationEvent]):
    """Liquidation events: ``store.liquidations``."""

    @runs("insert")
    def create(self, **fields: Unpack[NewLiquidation]) -> LiquidationEvent:
        """Record a liquidation (``insert``); ConflictError if this transaction was
        already recorded for the vault."""
        return self._create(fields)

    @runs("find_by_vault")
    def find_by_vault(
        self,
        vault_id: str,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
        after: str | None = None,
    ) -> Page[LiquidationEvent]:
        """A vault's liquidations in [since, until), oldest first (``find_by_vault``)."""
        after_at, last_id, end = time_position(since, until, after)
        return self._page(
            "find_by_vault",
            limit,
            occurred_key,
            vault_id=check_id(vault_id, "vault_id"),
            after_at=after_at,
            after_id=last_id,
            until=end,
        )

    @runs("find_between")
    def find_between(
        self, since: datetime, until: datetime, *, limit: int = 100, after: str | None = None
    ) -> Page[LiquidationEvent]:
        """Every liquidation in [since, until), oldest first (``find_between``)."""
        after_at, last_id, end = time_position(since, until, after)
        return self._page(
            "find_between", limit, occurred_key, after_at=after_at, after_id=last_id, until=end
        )

    @runs("update", "find_by_id")
    def update(
        self, id: str, *, expected_version: int | None = None, **changes: Unpack[LiquidationChanges]
    ) -> LiquidationEvent:
        """Correct a recorded liquidation (``update``)."""
        return self._update(id, changes, expected_version)


class ProtectionRules(RepositoryBase[ProtectionRule]):
    """Protection rules: ``store.protection_rules``."""

    @runs("insert")
    def create(self, **fields: Unpack[NewProtectionRule]) -> ProtectionRule:
        """Store a new rule (``insert``); ConflictError if the vault has one of that name."""
        return self._create(fields)

    @runs("find_enabled_for_vault")
    def find_enabled_for_vault(self, vault_id: str) -> list[ProtectionRule]:
        """A vault's enabled rules, highest priority first (``find_enabled_for_vault``)."""
        return self._many("find_enabled_for_vault", vault_id=check_id(vault_id, "vault_id"))

    @runs("find_by_conditions")
    def find_by_conditions(
        self, conditions: dict[str, Any], *, limit: int = 100, after: str | None = None
    ) -> Page[ProtectionRule]:
        """Rules whose conditions contain ``conditions``, as PostgreSQL's jsonb ``@>``
        means it (``find_by_conditions``)."""
        document = containment(conditions, "conditions")
        return self._page(
            "find_by_conditions", limit, conditions=document, after=after_id(after)
        )

    @runs("mark_triggered", "find_by_id")
    def mark_triggered(
        self, id: str, *, expected_version: int | None = None
    ) -> ProtectionRule | None:
        """Record that the rule fired, unless it is disabled or still cooling down, in
        which case None (``mark_triggered``, then ``find_by_id`` if it did not fire).
        NotFoundError for an unknown id, VersionConflictError if not at
        ``expected_version``."""
        expected = check_version(expected_version)
        rule = self._one("mark_triggered", id=check_id(id), expected_version=expected)
        if rule is None:
            self._refused(id, expected)
        return rule

    @runs("update", "find_by_id")
    def update(
        self,
        id: str,
        *,
        expected_version: int | None = None,
        **changes: Unpack[ProtectionRuleChanges],
    ) -> ProtectionRule:
        """Change a rule (``update``)."""
        return self._update(id, changes, expected_version)


class Prices(RepositoryBase[MarketData]):
    """Market prices: ``store.market_data``."""

    @runs("insert")
    def create(self, **fields: Unpack[NewMarketData]) -> MarketData:
        """Store one price (``insert``); ``recorded_at`` defaults to now."""
        return self._create(with_recorded_at(fields))

    @runs("insert_many")
    def bulk_insert(
        self,
        records: Iterable[NewMarketData],
        *,
        batch_size: int = 10_000,
        atomic: bool = True,
    ) -> int:
        """Store many prices (``insert_many``: COPY on PostgreSQL, ``insert_many``
        on MongoDB), from any iterable, read as it goes: ``batch_size`` records at
        a time, so that millions take the memory of one batch. Each record is
        validated before it is sent, and a batch holding one that is refused is
        not stored. All or none, in one transaction; with ``atomic=False`` each
        batch commits on its own, and an error's ``stored`` says how many were
        stored before it. ``recorded_at`` defaults to the time its batch began.
        Returns how many were stored."""
        size = check_batch_size(batch_size)
        entity = self._entity
        batches = entity_batches(
            self._converter,
            MarketData,
            records,
            entity.settable,
            size,
            id_prefix=entity.id_prefix,
            now_fields=("recorded_at",),
        )
        return self._store_batches("insert_many", batches, atomic=atomic)

    @runs("latest_price")
    def latest_price(self, token: str, chain_id: ChainId | int) -> MarketData | None:
        """The most recent price of a token on a chain, or None (``latest_price``)."""
        return self._one(
            "latest_price",
            token=check_id(token, "token"),
            chain_id=enum_value(ChainId, chain_id, "chain_id"),
        )

    @runs("history")
    def history(
        self,
        token: str,
        chain_id: ChainId | int,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
        after: str | None = None,
    ) -> Page[MarketData]:
        """A token's prices on a chain in [since, until), oldest first (``history``)."""
        after_at, last_id, end = time_position(since, until, after)
        return self._page(
            "history",
            limit,
            recorded_key,
            token=check_id(token, "token"),
            chain_id=enum_value(ChainId, chain_id, "chain_id"),
            after_at=after_at,
            after_id=last_id,
            until=end,
        )

    @runs("update", "find_by_id")
    def update(
        self, id: str, *, expected_version: int | None = None, **changes: Unpack[MarketDataChanges]
    ) -> MarketData:
        """Correct a recorded price (``update``)."""
        return self._update(id, changes, expected_version)


class AuditLog(Pipeline[AuditRecord]):
    """The audit trail: ``store.audit``. Read-only: every write appends its own
    record, in its transaction (see "Tenants, roles and audit" in the README)."""

    def __init__(self, executor: Executor, monitor: Monitor) -> None:
        super().__init__(AUDIT, executor, monitor)

    def _records(self, name: str, limit: int, **params: Any) -> Page[AuditRecord]:
        limit = check_limit(limit)
        rows = self._run(name, Shape.ROWS, {**params, "limit": limit + 1})
        tenant = self._executor.settings.scope.effective_tenant()
        registry = self._executor.registry
        records = [
            audit_record(
                {**row, "changes": parse_changes(row["changes"])}
                if isinstance(row["changes"], str)
                else {**row, "changes": plain(row["changes"])},
                tenant,
                registry,
            )
            for row in rows
        ]
        return make_page(records, limit, audit_key)

    @runs("history")
    def history(
        self,
        entity_type: str | type,
        entity_id: str,
        *,
        limit: int = 100,
        after: str | None = None,
    ) -> Page[AuditRecord]:
        """The records of one entity, oldest first (``history``): ``entity_type``
        is its repository's name (``"vaults"``), its class, or ``"documents"``."""
        after_at, last_id, _ = time_position(None, None, after)
        return self._records(
            "history",
            limit,
            entity_type=self._entity_type(entity_type),
            entity_id=check_id(entity_id, "entity_id"),
            after_at=after_at,
            after_id=last_id,
        )

    @runs("by_actor")
    def by_actor(
        self,
        actor: str,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
        after: str | None = None,
    ) -> Page[AuditRecord]:
        """The records of the writes ``actor`` made in [since, until), oldest first
        (``by_actor``)."""
        after_at, last_id, end = time_position(since, until, after)
        return self._records(
            "by_actor",
            limit,
            actor=check_actor(actor),
            after_at=after_at,
            after_id=last_id,
            until=end,
        )

    def _entity_type(self, entity_type: object) -> str:
        registry = self._executor.registry
        if isinstance(entity_type, type):
            try:
                return registry.by_class(entity_type).name
            except KeyError:
                if entity_type is StoredDocument:
                    return DOCUMENTS
        elif isinstance(entity_type, str) and entity_class(registry, entity_type) is not None:
            return entity_type
        raise ValidationError(
            f"expected an entity's name (such as 'vaults'), its class or 'documents', "
            f"got {_values.shown(entity_type)}",
            field="entity_type",
        )


REPOSITORIES: dict[type, type[RepositoryBase[Any]]] = {
    Agent: Agents,
    CreditVault: Vaults,
    RiskAlert: Alerts,
    LiquidationEvent: Liquidations,
    ProtectionRule: ProtectionRules,
    MarketData: Prices,
}
"""The entities whose repository has methods of its own; any other registered
entity gets an :class:`AsyncRepository`."""
