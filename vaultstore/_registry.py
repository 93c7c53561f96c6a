"""What vaultstore knows about each entity, declared once.

One :class:`EntityType` per entity: its class, what ``create()`` and ``update()``
take, its table (and MongoDB collection), its query files and its references with
their on-delete rule. From these come the store's repositories, MongoDB's
referential rules, the tables the error translators know, the test clean-up lists
and the catalogue of ``vaultstore queries``; nothing else lists the entities.

No I/O here.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import attrs

from ._entities import (
    Agent,
    AgentChanges,
    AlertChanges,
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
    ProtectionRule,
    ProtectionRuleChanges,
    RiskAlert,
    VaultChanges,
)

OnDelete = Literal["restrict", "cascade"]
RESERVED = frozenset(
    {
        "audit",
        "backend",
        "close",
        "documents",
        "ping",
        "pending_migrations",
        "pool_stats",
        "replica_stats",
        "repository",
        "run_transaction",
        "scope",
        "scoped",
        "settings",
        "statement_stats",
        "transaction",
    }
)
"""The store's own attributes: no entity may be named as one."""


def _field_names(typed_dict: Any) -> frozenset[str]:
    """The keys of a TypedDict: what ``create()`` or ``update()`` accepts."""
    return frozenset(typed_dict.__required_keys__ | typed_dict.__optional_keys__)


@attrs.frozen
class Reference:
    """A field holding the id of a row of another table: a foreign key on
    PostgreSQL, checked by vaultstore inside a transaction on MongoDB."""

    field: str
    """The entity's field: ``agent_id``."""
    table: str
    """The table (and collection) it names: ``agents``."""
    on_delete: OnDelete = "restrict"
    """Deleting the named row is refused while this one exists (``restrict``), or
    deletes this one too (``cascade``)."""


@attrs.frozen(kw_only=True, cache_hash=True)
class EntityType:
    """One entity, as every part of vaultstore sees it."""

    name: str
    """The store's attribute and the stem of its query files: ``vaults`` gives
    ``store.vaults``, ``queries/vaults.sql`` and ``queries/vaults.mongodb.json``."""
    cls: type
    """The attrs class: ``CreditVault``."""
    table: str
    """The PostgreSQL table and the MongoDB collection: ``credit_vaults``."""
    new: Any
    """The TypedDict of ``create(**fields)``."""
    changes: Any
    """The TypedDict of ``update(id, **changes)``."""
    references: tuple[Reference, ...] = ()
    id_prefix: str = ""
    """Put before the ULID of every new id (``vlt_01J...``); none by default."""
    document_owner: str | None = None
    """The ``owner_type`` of the stored documents attached to this entity (``vault``),
    deleted with it; None if documents cannot be attached to it."""
    partitioned_by: str | None = None
    """The column the PostgreSQL table is range-partitioned by (market_data:
    ``recorded_at``, a partition a month): a row that no partition holds is refused
    as a ValidationError on it."""
    located_by: tuple[str, ...] = ()
    """The fields beside ``id`` that say where a stored row is once the data is
    distributed (none: its id does). The first is the column Citus distributes
    the table by, all of them in order are the collection's MongoDB shard key, and
    the partition column is among them. ``lock(id)`` reads them first
    (``find_by_id``), then locks by id and them, since Citus takes row locks in
    single-shard statements only; ``update()`` cannot change them.
    ``vaultstore/admin/distribution.py`` reads vaultstore's design from them."""
    shared: bool = False
    """Read and written alike by every tenant (market data: public prices), so its
    rows carry no ``tenant_id``; every other entity's rows are a tenant's."""
    settable: frozenset[str] = attrs.field(init=False, eq=False)
    changeable: frozenset[str] = attrs.field(init=False, eq=False)

    @settable.default
    def _settable(self) -> frozenset[str]:
        return _field_names(self.new)

    @changeable.default
    def _changeable(self) -> frozenset[str]:
        return _field_names(self.changes)


@attrs.frozen
class Registry:
    """The entities of a store. ``vaultstore.connect(..., registry=...)`` takes
    another one (with a ``queries`` folder holding its query files)."""

    entities: tuple[EntityType, ...]
    queries: Path | None = None
    """The folder of query files; None for vaultstore's own ``queries/``."""
    other_tables: tuple[str, ...] = (
        "documents",
        "document_chunks",
        "audit_log",
        "change_feed",
        "change_feed_pruned",
    )
    """Tables that are not an entity's (the documents' store, the audit trail, the
    change feed's outbox and how far it was pruned)."""

    def __attrs_post_init__(self) -> None:
        for entity in self.entities:
            if entity.name in RESERVED or not entity.name.isidentifier() or entity.name[0] == "_":
                raise ValueError(f"{entity.name!r} cannot name a store's repository")
        for attribute in ("name", "table"):
            seen = [getattr(e, attribute) for e in self.entities]
            if len(seen) != len(set(seen)):
                raise ValueError(f"two entities share a {attribute}: {sorted(seen)}")
        tables = {e.table for e in self.entities}
        for entity in self.entities:
            changeable = sorted(set(entity.located_by) & entity.changeable)
            if changeable:
                raise ValueError(
                    f"{entity.name}: {', '.join(changeable)} locate a stored row and cannot "
                    "be changed by update()"
                )
        for entity in self.entities:
            for ref in entity.references:
                if ref.table not in tables:
                    raise ValueError(f"{entity.name}.{ref.field} names no entity's table")
                if ref.on_delete == "cascade" and entity.document_owner is not None:
                    # Its documents would stay behind: the owner's delete() deletes them.
                    raise ValueError(
                        f"{entity.name} is deleted in cascade and owns documents: they "
                        "would outlive it (delete() of a document owner deletes its documents)"
                    )
                if ref.on_delete == "cascade" and self.dependents(entity.table):
                    # MongoDB's emulation deletes one level; deeper rules would be skipped.
                    raise ValueError(
                        f"{entity.name} is deleted in cascade and has dependents of its own: "
                        "vaultstore cascades one level only"
                    )

    def __iter__(self) -> Iterator[EntityType]:
        return iter(self.entities)

    def by_class(self, cls: type) -> EntityType:
        for entity in self.entities:
            if entity.cls is cls:
                return entity
        raise KeyError(cls.__name__)

    @property
    def tables(self) -> tuple[str, ...]:
        """Every table (collection) vaultstore writes, in registry order."""
        return (*(e.table for e in self.entities), *self.other_tables)

    def by_table(self, table: str) -> EntityType:
        """The entity stored in ``table`` (``credit_vaults``)."""
        for entity in self.entities:
            if entity.table == table:
                return entity
        raise KeyError(table)

    def document_owner(self, owner_type: str) -> EntityType:
        """The entity whose stored documents have ``owner_type`` (``vault``)."""
        for entity in self.entities:
            if entity.document_owner == owner_type:
                return entity
        raise KeyError(owner_type)

    def dependents(self, table: str) -> tuple[tuple[EntityType, Reference], ...]:
        """The entities that refer to rows of ``table``, with the reference: what
        deleting such a row must refuse (``restrict``) or delete too (``cascade``)."""
        return tuple(
            (entity, ref)
            for entity in self.entities
            for ref in entity.references
            if ref.table == table
        )


REGISTRY = Registry(
    (
        EntityType(
            name="agents",
            cls=Agent,
            table="agents",
            new=NewAgent,
            changes=AgentChanges,
            document_owner="agent",
        ),
        EntityType(
            name="vaults",
            cls=CreditVault,
            table="credit_vaults",
            new=NewVault,
            changes=VaultChanges,
            references=(Reference("agent_id", "agents", "restrict"),),
            document_owner="vault",
        ),
        EntityType(
            name="alerts",
            cls=RiskAlert,
            table="risk_alerts",
            new=NewAlert,
            changes=AlertChanges,
            references=(Reference("vault_id", "credit_vaults", "cascade"),),
            located_by=("vault_id",),
        ),
        EntityType(
            name="liquidations",
            cls=LiquidationEvent,
            table="liquidation_events",
            new=NewLiquidation,
            changes=LiquidationChanges,
            references=(Reference("vault_id", "credit_vaults", "restrict"),),
            located_by=("vault_id",),
        ),
        EntityType(
            name="protection_rules",
            cls=ProtectionRule,
            table="protection_rules",
            new=NewProtectionRule,
            changes=ProtectionRuleChanges,
            references=(Reference("vault_id", "credit_vaults", "cascade"),),
            located_by=("vault_id",),
        ),
        EntityType(
            name="market_data",
            cls=MarketData,
            table="market_data",
            new=NewMarketData,
            changes=MarketDataChanges,
            partitioned_by="recorded_at",
            located_by=("token", "chain_id", "recorded_at"),
            shared=True,
        ),
    )
)
"""vaultstore's entities. Adding one: see "Adding an entity" in the README."""
