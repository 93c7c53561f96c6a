# Generated from vaultstore/_async/contracts.py by tools/generate_sync.py: do not edit.
"""The repository contract as Protocols (async source of the sync twin): what
``vaultstore.aio.connect()`` returns, whatever the backend. The one implementation,
with the docstrings, is in :mod:`.repositories` and :mod:`.store`; mypy checks
that it matches these.

Conventions shared by every repository:

* ``create(**fields)`` validates before any I/O and returns the stored entity;
  vaultstore sets ``id``, ``created_at`` and ``updated_at``.
* ``find_by_id(id)`` returns the entity or None.
* ``update(id, **changes)`` and ``delete(id)`` raise NotFoundError for an unknown id.
* Listings are keyset-paginated: they return a :class:`~vaultstore.Page` of at
  most ``limit`` entities; pass its ``next_cursor`` as ``after`` for the next one.
* Errors are those of :mod:`vaultstore.errors`, never a driver's.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterator, Iterable, Mapping
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Any, BinaryIO, Protocol, TypeVar, Unpack

from .._documents import Content
from .._entities import (
    Agent,
    AgentChanges,
    AlertChanges,
    AlertSeverity,
    AuditRecord,
    BatchResult,
    ChainId,
    ChainRiskSummary,
    CredibilityTier,
    CreditVault,
    DocumentOwner,
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
from .._health import Health
from .._monitoring import Metrics, StatementStats
from .._paging import Page
from .._replicas import ReplicaStats
from .._retry import Work
from .._scope import Scope
from .._settings import Settings
from .changes import ChangeFeed

T = TypeVar("T")


class AgentRepository(Protocol):
    def create(self, **fields: Unpack[NewAgent]) -> Agent: ...
    def find_by_id(self, id: str) -> Agent | None: ...
    def lock(self, id: str) -> Agent: ...
    def find_by_name(self, name: str) -> Agent | None: ...
    def list(self, *, limit: int = 100, after: str | None = None) -> Page[Agent]: ...
    def count(self) -> int: ...
    def find_last(self) -> Agent | None: ...
    def restore(
        self, entities: Iterable[Agent], *, batch_size: int = 10_000, atomic: bool = True
    ) -> int: ...
    def find_by_tier(
        self, tier: CredibilityTier | str, *, limit: int = 100, after: str | None = None
    ) -> Page[Agent]: ...
    def update(
        self, id: str, *, expected_version: int | None = None, **changes: Unpack[AgentChanges]
    ) -> Agent: ...
    def delete(self, id: str, *, expected_version: int | None = None) -> None: ...


class VaultRepository(Protocol):
    def create(self, **fields: Unpack[NewVault]) -> CreditVault: ...
    def find_by_id(self, id: str) -> CreditVault | None: ...
    def lock(self, id: str) -> CreditVault: ...
    def list(self, *, limit: int = 100, after: str | None = None) -> Page[CreditVault]: ...
    def count(self) -> int: ...
    def find_last(self) -> CreditVault | None: ...
    def restore(
        self, entities: Iterable[CreditVault], *, batch_size: int = 10_000, atomic: bool = True
    ) -> int: ...
    def find_by_agent_id(
        self, agent_id: str, *, limit: int = 100, after: str | None = None
    ) -> Page[CreditVault]: ...
    def find_by_chain_id(
        self, chain_id: ChainId | int, *, limit: int = 100, after: str | None = None
    ) -> Page[CreditVault]: ...
    def find_high_risk_vaults(
        self, threshold: Number, *, limit: int = 100, after: str | None = None
    ) -> Page[CreditVault]: ...
    def update(
        self, id: str, *, expected_version: int | None = None, **changes: Unpack[VaultChanges]
    ) -> CreditVault: ...
    def update_vault_metrics(
        self,
        id: str,
        ltv: Number,
        health_factor: Number,
        *,
        expected_version: int | None = None,
    ) -> CreditVault: ...
    def update_metrics_many(
        self,
        updates: Iterable[tuple[str, Number, Number] | Mapping[str, Any]],
        *,
        batch_size: int = 10_000,
    ) -> BatchResult: ...
    def delete(self, id: str, *, expected_version: int | None = None) -> None: ...
    def risk_summary_by_chain(self, threshold: Number) -> builtins.list[ChainRiskSummary]: ...


class AlertRepository(Protocol):
    def create(self, **fields: Unpack[NewAlert]) -> RiskAlert: ...
    def find_by_id(self, id: str) -> RiskAlert | None: ...
    def lock(self, id: str) -> RiskAlert: ...
    def list(self, *, limit: int = 100, after: str | None = None) -> Page[RiskAlert]: ...
    def count(self) -> int: ...
    def find_last(self) -> RiskAlert | None: ...
    def restore(
        self, entities: Iterable[RiskAlert], *, batch_size: int = 10_000, atomic: bool = True
    ) -> int: ...
    def find_by_vault(
        self, vault_id: str, *, limit: int = 100, after: str | None = None
    ) -> Page[RiskAlert]: ...
    def find_open_by_vault(
        self, vault_id: str, *, limit: int = 100, after: str | None = None
    ) -> Page[RiskAlert]: ...
    def find_open_by_severity(
        self, severity: AlertSeverity | str, *, limit: int = 100, after: str | None = None
    ) -> Page[RiskAlert]: ...
    def acknowledge(self, id: str, *, expected_version: int | None = None) -> RiskAlert: ...
    def resolve(self, id: str, *, expected_version: int | None = None) -> RiskAlert: ...
    def update(
        self, id: str, *, expected_version: int | None = None, **changes: Unpack[AlertChanges]
    ) -> RiskAlert: ...
    def delete(self, id: str, *, expected_version: int | None = None) -> None: ...


class LiquidationRepository(Protocol):
    def create(self, **fields: Unpack[NewLiquidation]) -> LiquidationEvent: ...
    def find_by_id(self, id: str) -> LiquidationEvent | None: ...
    def lock(self, id: str) -> LiquidationEvent: ...
    def list(
        self, *, limit: int = 100, after: str | None = None
    ) -> Page[LiquidationEvent]: ...
    def count(self) -> int: ...
    def find_last(self) -> LiquidationEvent | None: ...
    def restore(
        self, entities: Iterable[LiquidationEvent], *, batch_size: int = 10_000, atomic: bool = True
    ) -> int: ...
    def find_by_vault(
        self,
        vault_id: str,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
        after: str | None = None,
    ) -> Page[LiquidationEvent]: ...
    def find_between(
        self,
        since: datetime,
        until: datetime,
        *,
        limit: int = 100,
        after: str | None = None,
    ) -> Page[LiquidationEvent]: ...
    def update(
        self, id: str, *, expected_version: int | None = None, **changes: Unpack[LiquidationChanges]
    ) -> LiquidationEvent: ...
    def delete(self, id: str, *, expected_version: int | None = None) -> None: ...


class ProtectionRuleRepository(Protocol):
    def create(self, **fields: Unpack[NewProtectionRule]) -> ProtectionRule: ...
    def find_by_id(self, id: str) -> ProtectionRule | None: ...
    def lock(self, id: str) -> ProtectionRule: ...
    def list(self, *, limit: int = 100, after: str | None = None) -> Page[ProtectionRule]: ...
    def count(self) -> int: ...
    def find_last(self) -> ProtectionRule | None: ...
    def restore(
        self, entities: Iterable[ProtectionRule], *, batch_size: int = 10_000, atomic: bool = True
    ) -> int: ...
    def find_enabled_for_vault(self, vault_id: str) -> builtins.list[ProtectionRule]: ...
    def find_by_conditions(
        self, conditions: dict[str, Any], *, limit: int = 100, after: str | None = None
    ) -> Page[ProtectionRule]: ...
    def mark_triggered(
        self, id: str, *, expected_version: int | None = None
    ) -> ProtectionRule | None: ...
    def update(
        self,
        id: str,
        *,
        expected_version: int | None = None,
        **changes: Unpack[ProtectionRuleChanges],
    ) -> ProtectionRule: ...
    def delete(self, id: str, *, expected_version: int | None = None) -> None: ...


class MarketDataRepository(Protocol):
    def create(self, **fields: Unpack[NewMarketData]) -> MarketData: ...
    def bulk_insert(
        self, records: Iterable[NewMarketData], *, batch_size: int = 10_000, atomic: bool = True
    ) -> int: ...
    def find_by_id(self, id: str) -> MarketData | None: ...
    def lock(self, id: str) -> MarketData: ...
    def list(self, *, limit: int = 100, after: str | None = None) -> Page[MarketData]: ...
    def count(self) -> int: ...
    def find_last(self) -> MarketData | None: ...
    def restore(
        self, entities: Iterable[MarketData], *, batch_size: int = 10_000, atomic: bool = True
    ) -> int: ...
    def latest_price(self, token: str, chain_id: ChainId | int) -> MarketData | None: ...
    def history(
        self,
        token: str,
        chain_id: ChainId | int,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
        after: str | None = None,
    ) -> Page[MarketData]: ...
    def update(
        self, id: str, *, expected_version: int | None = None, **changes: Unpack[MarketDataChanges]
    ) -> MarketData: ...
    def delete(self, id: str, *, expected_version: int | None = None) -> None: ...


class DocumentRepository(Protocol):
    """Large documents (risk reports, audit snapshots) attached to a vault or an
    agent, stored and read in chunks: never whole in memory."""

    def put(
        self,
        owner_type: DocumentOwner | str,
        owner_id: str,
        name: str,
        data: Content,
        *,
        content_type: str = "application/octet-stream",
        metadata: dict[str, Any] | None = None,
    ) -> StoredDocument:
        """Store ``data`` (bytes, a file opened in binary mode, or an iterable of bytes
        chunks), taking its length and SHA-256 as it streams. All or nothing: a
        failure part-way leaves no document and no chunk. ValidationError before any
        I/O for bad arguments; NotFoundError if the owner does not exist."""
        ...

    def find_by_id(self, id: str) -> StoredDocument | None: ...

    def chunks(self, id: str) -> Iterator[bytes]:
        """The content, chunk by chunk (NotFoundError for an unknown id; DatabaseError
        if what is read does not match the stored length and SHA-256)."""
        ...

    def download(self, id: str, destination: BinaryIO) -> StoredDocument:
        """Write the content to ``destination``, chunk by chunk; return the document."""
        ...

    def list(
        self,
        owner_type: DocumentOwner | str | None = None,
        owner_id: str | None = None,
        *,
        limit: int = 100,
        after: str | None = None,
    ) -> Page[StoredDocument]:
        """The documents of one vault or agent in creation order; with no owner,
        every document."""
        ...

    def count(self) -> int: ...

    def restore(self, document: StoredDocument, data: Content) -> StoredDocument:
        """Store a document exactly as described, its id and creation time kept;
        ``data`` must match its length and SHA-256 (DatabaseError, nothing stored)."""
        ...

    def delete(self, id: str) -> None:
        """Delete a document and its chunks; NotFoundError if there is none."""
        ...


class AuditRepository(Protocol):
    """The audit trail: one record per write, appended in the write's transaction."""

    def history(
        self,
        entity_type: str | type,
        entity_id: str,
        *,
        limit: int = 100,
        after: str | None = None,
    ) -> Page[AuditRecord]:
        """One entity's records, oldest first: ``entity_type`` is its repository's
        name (``"vaults"``), its class, or ``"documents"``."""
        ...

    def by_actor(
        self,
        actor: str,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
        after: str | None = None,
    ) -> Page[AuditRecord]:
        """The records of one actor's writes in [since, until), oldest first."""
        ...


class Repositories(Protocol):
    """The repositories of a store, or of one of its transactions."""

    @property
    def agents(self) -> AgentRepository: ...
    @property
    def vaults(self) -> VaultRepository: ...
    @property
    def alerts(self) -> AlertRepository: ...
    @property
    def liquidations(self) -> LiquidationRepository: ...
    @property
    def protection_rules(self) -> ProtectionRuleRepository: ...
    @property
    def market_data(self) -> MarketDataRepository: ...
    @property
    def documents(self) -> DocumentRepository: ...
    @property
    def audit(self) -> AuditRepository: ...
    def repository(self, name: str) -> Any: ...
    def transaction(
        self, *, timeout: float | None = None
    ) -> AbstractContextManager[Repositories]: ...


class Store(Repositories, Protocol):
    """An open connection pool to one database, with its repositories."""

    @property
    def backend(self) -> str: ...
    @property
    def settings(self) -> Settings: ...
    def ping(self) -> float: ...
    def pending_migrations(self) -> list[str]: ...
    def pool_stats(self) -> dict[str, int]: ...
    def replica_stats(self) -> list[ReplicaStats]: ...
    @property
    def scope(self) -> Scope: ...
    def scoped(
        self,
        *,
        tenant: str | None = None,
        actor: str | None = None,
        audit: bool | None = None,
    ) -> Store: ...
    def statement_stats(self) -> dict[str, StatementStats]: ...
    def metrics(self) -> Metrics: ...
    def health(self, *, timeout: float = 5.0) -> Health: ...
    def watch(
        self, *entity_types: str | type, resume_after: str | None = None
    ) -> ChangeFeed: ...
    def prune_changes(self, older_than: timedelta) -> int: ...
    def run_transaction(
        self, fn: Work[T], *, attempts: int = 5, timeout: float | None = None
    ) -> T: ...
    def close(self) -> None: ...
    def __enter__(self) -> Store: ...
    def __exit__(self, *exc_info: object) -> None: ...


__all__ = [
    "AgentRepository",
    "AlertRepository",
    "AuditRepository",
    "DocumentRepository",
    "LiquidationRepository",
    "MarketDataRepository",
    "ProtectionRuleRepository",
    "Repositories",
    "Store",
    "VaultRepository",
]
