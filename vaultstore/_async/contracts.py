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
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import AbstractAsyncContextManager
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
from .._retry import AsyncWork
from .._scope import Scope
from .._settings import Settings
from .changes import AsyncChangeFeed

T = TypeVar("T")


class AsyncAgentRepository(Protocol):
    async def create(self, **fields: Unpack[NewAgent]) -> Agent: ...
    async def find_by_id(self, id: str) -> Agent | None: ...
    async def lock(self, id: str) -> Agent: ...
    async def find_by_name(self, name: str) -> Agent | None: ...
    async def list(self, *, limit: int = 100, after: str | None = None) -> Page[Agent]: ...
    async def count(self) -> int: ...
    async def find_last(self) -> Agent | None: ...
    async def restore(
        self, entities: Iterable[Agent], *, batch_size: int = 10_000, atomic: bool = True
    ) -> int: ...
    async def find_by_tier(
        self, tier: CredibilityTier | str, *, limit: int = 100, after: str | None = None
    ) -> Page[Agent]: ...
    async def update(
        self, id: str, *, expected_version: int | None = None, **changes: Unpack[AgentChanges]
    ) -> Agent: ...
    async def delete(self, id: str, *, expected_version: int | None = None) -> None: ...


class AsyncVaultRepository(Protocol):
    async def create(self, **fields: Unpack[NewVault]) -> CreditVault: ...
    async def find_by_id(self, id: str) -> CreditVault | None: ...
    async def lock(self, id: str) -> CreditVault: ...
    async def list(self, *, limit: int = 100, after: str | None = None) -> Page[CreditVault]: ...
    async def count(self) -> int: ...
    async def find_last(self) -> CreditVault | None: ...
    async def restore(
        self, entities: Iterable[CreditVault], *, batch_size: int = 10_000, atomic: bool = True
    ) -> int: ...
    async def find_by_agent_id(
        self, agent_id: str, *, limit: int = 100, after: str | None = None
    ) -> Page[CreditVault]: ...
    async def find_by_chain_id(
        self, chain_id: ChainId | int, *, limit: int = 100, after: str | None = None
    ) -> Page[CreditVault]: ...
    async def find_high_risk_vaults(
        self, threshold: Number, *, limit: int = 100, after: str | None = None
    ) -> Page[CreditVault]: ...
    async def update(
        self, id: str, *, expected_version: int | None = None, **changes: Unpack[VaultChanges]
    ) -> CreditVault: ...
    async def update_vault_metrics(
        self,
        id: str,
        ltv: Number,
        health_factor: Number,
        *,
        expected_version: int | None = None,
    ) -> CreditVault: ...
    async def update_metrics_many(
        self,
        updates: Iterable[tuple[str, Number, Number] | Mapping[str, Any]],
        *,
        batch_size: int = 10_000,
    ) -> BatchResult: ...
    async def delete(self, id: str, *, expected_version: int | None = None) -> None: ...
    async def risk_summary_by_chain(self, threshold: Number) -> builtins.list[ChainRiskSummary]: ...


class AsyncAlertRepository(Protocol):
    async def create(self, **fields: Unpack[NewAlert]) -> RiskAlert: ...
    async def find_by_id(self, id: str) -> RiskAlert | None: ...
    async def lock(self, id: str) -> RiskAlert: ...
    async def list(self, *, limit: int = 100, after: str | None = None) -> Page[RiskAlert]: ...
    async def count(self) -> int: ...
    async def find_last(self) -> RiskAlert | None: ...
    async def restore(
        self, entities: Iterable[RiskAlert], *, batch_size: int = 10_000, atomic: bool = True
    ) -> int: ...
    async def find_by_vault(
        self, vault_id: str, *, limit: int = 100, after: str | None = None
    ) -> Page[RiskAlert]: ...
    async def find_open_by_vault(
        self, vault_id: str, *, limit: int = 100, after: str | None = None
    ) -> Page[RiskAlert]: ...
    async def find_open_by_severity(
        self, severity: AlertSeverity | str, *, limit: int = 100, after: str | None = None
    ) -> Page[RiskAlert]: ...
    async def acknowledge(self, id: str, *, expected_version: int | None = None) -> RiskAlert: ...
    async def resolve(self, id: str, *, expected_version: int | None = None) -> RiskAlert: ...
    async def update(
        self, id: str, *, expected_version: int | None = None, **changes: Unpack[AlertChanges]
    ) -> RiskAlert: ...
    async def delete(self, id: str, *, expected_version: int | None = None) -> None: ...


class AsyncLiquidationRepository(Protocol):
    async def create(self, **fields: Unpack[NewLiquidation]) -> LiquidationEvent: ...
    async def find_by_id(self, id: str) -> LiquidationEvent | None: ...
    async def lock(self, id: str) -> LiquidationEvent: ...
    async def list(
        self, *, limit: int = 100, after: str | None = None
    ) -> Page[LiquidationEvent]: ...
    async def count(self) -> int: ...
    async def find_last(self) -> LiquidationEvent | None: ...
    async def restore(
        self, entities: Iterable[LiquidationEvent], *, batch_size: int = 10_000, atomic: bool = True
    ) -> int: ...
    async def find_by_vault(
        self,
        vault_id: str,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
        after: str | None = None,
    ) -> Page[LiquidationEvent]: ...
    async def find_between(
        self,
        since: datetime,
        until: datetime,
        *,
        limit: int = 100,
        after: str | None = None,
    ) -> Page[LiquidationEvent]: ...
    async def update(
        self, id: str, *, expected_version: int | None = None, **changes: Unpack[LiquidationChanges]
    ) -> LiquidationEvent: ...
    async def delete(self, id: str, *, expected_version: int | None = None) -> None: ...


class AsyncProtectionRuleRepository(Protocol):
    async def create(self, **fields: Unpack[NewProtectionRule]) -> ProtectionRule: ...
    async def find_by_id(self, id: str) -> ProtectionRule | None: ...
    async def lock(self, id: str) -> ProtectionRule: ...
    async def list(self, *, limit: int = 100, after: str | None = None) -> Page[ProtectionRule]: ...
    async def count(self) -> int: ...
    async def find_last(self) -> ProtectionRule | None: ...
    async def restore(
        self, entities: Iterable[ProtectionRule], *, batch_size: int = 10_000, atomic: bool = True
    ) -> int: ...
    async def find_enabled_for_vault(self, vault_id: str) -> builtins.list[ProtectionRule]: ...
    async def find_by_conditions(
        self, conditions: dict[str, Any], *, limit: int = 100, after: str | None = None
    ) -> Page[ProtectionRule]: ...
    async def mark_triggered(
        self, id: str, *, expected_version: int | None = None
    ) -> ProtectionRule | None: ...
    async def update(
        self,
        id: str,
        *,
        expected_version: int | None = None,
        **changes: Unpack[ProtectionRuleChanges],
    ) -> ProtectionRule: ...
    async def delete(self, id: str, *, expected_version: int | None = None) -> None: ...


class AsyncMarketDataRepository(Protocol):
    async def create(self, **fields: Unpack[NewMarketData]) -> MarketData: ...
    async def bulk_insert(
        self, records: Iterable[NewMarketData], *, batch_size: int = 10_000, atomic: bool = True
    ) -> int: ...
    async def find_by_id(self, id: str) -> MarketData | None: ...
    async def lock(self, id: str) -> MarketData: ...
    async def list(self, *, limit: int = 100, after: str | None = None) -> Page[MarketData]: ...
    async def count(self) -> int: ...
    async def find_last(self) -> MarketData | None: ...
    async def restore(
        self, entities: Iterable[MarketData], *, batch_size: int = 10_000, atomic: bool = True
    ) -> int: ...
    async def latest_price(self, token: str, chain_id: ChainId | int) -> MarketData | None: ...
    async def history(
        self,
        token: str,
        chain_id: ChainId | int,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
        after: str | None = None,
    ) -> Page[MarketData]: ...
    async def update(
        self, id: str, *, expected_version: int | None = None, **changes: Unpack[MarketDataChanges]
    ) -> MarketData: ...
    async def delete(self, id: str, *, expected_version: int | None = None) -> None: ...


class AsyncDocumentRepository(Protocol):
    """Large documents (risk reports, audit snapshots) attached to a vault or an
    agent, stored and read in chunks: never whole in memory."""

    async def put(
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

    async def find_by_id(self, id: str) -> StoredDocument | None: ...

    def chunks(self, id: str) -> AsyncIterator[bytes]:
        """The content, chunk by chunk (NotFoundError for an unknown id; DatabaseError
        if what is read does not match the stored length and SHA-256)."""
        ...

    async def download(self, id: str, destination: BinaryIO) -> StoredDocument:
        """Write the content to ``destination``, chunk by chunk; return the document."""
        ...

    async def list(
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

    async def count(self) -> int: ...

    async def restore(self, document: StoredDocument, data: Content) -> StoredDocument:
        """Store a document exactly as described, its id and creation time kept;
        ``data`` must match its length and SHA-256 (DatabaseError, nothing stored)."""
        ...

    async def delete(self, id: str) -> None:
        """Delete a document and its chunks; NotFoundError if there is none."""
        ...


class AsyncAuditRepository(Protocol):
    """The audit trail: one record per write, appended in the write's transaction."""

    async def history(
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

    async def by_actor(
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


class AsyncRepositories(Protocol):
    """The repositories of a store, or of one of its transactions."""

    @property
    def agents(self) -> AsyncAgentRepository: ...
    @property
    def vaults(self) -> AsyncVaultRepository: ...
    @property
    def alerts(self) -> AsyncAlertRepository: ...
    @property
    def liquidations(self) -> AsyncLiquidationRepository: ...
    @property
    def protection_rules(self) -> AsyncProtectionRuleRepository: ...
    @property
    def market_data(self) -> AsyncMarketDataRepository: ...
    @property
    def documents(self) -> AsyncDocumentRepository: ...
    @property
    def audit(self) -> AsyncAuditRepository: ...
    def repository(self, name: str) -> Any: ...
    def transaction(
        self, *, timeout: float | None = None
    ) -> AbstractAsyncContextManager[AsyncRepositories]: ...


class AsyncStore(AsyncRepositories, Protocol):
    """An open connection pool to one database, with its repositories."""

    @property
    def backend(self) -> str: ...
    @property
    def settings(self) -> Settings: ...
    async def ping(self) -> float: ...
    async def pending_migrations(self) -> list[str]: ...
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
    ) -> AsyncStore: ...
    def statement_stats(self) -> dict[str, StatementStats]: ...
    def metrics(self) -> Metrics: ...
    async def health(self, *, timeout: float = 5.0) -> Health: ...
    def watch(
        self, *entity_types: str | type, resume_after: str | None = None
    ) -> AsyncChangeFeed: ...
    async def prune_changes(self, older_than: timedelta) -> int: ...
    async def run_transaction(
        self, fn: AsyncWork[T], *, attempts: int = 5, timeout: float | None = None
    ) -> T: ...
    async def close(self) -> None: ...
    async def __aenter__(self) -> AsyncStore: ...
    async def __aexit__(self, *exc_info: object) -> None: ...


__all__ = [
    "AsyncAgentRepository",
    "AsyncAlertRepository",
    "AsyncAuditRepository",
    "AsyncDocumentRepository",
    "AsyncLiquidationRepository",
    "AsyncMarketDataRepository",
    "AsyncProtectionRuleRepository",
    "AsyncRepositories",
    "AsyncStore",
    "AsyncVaultRepository",
]
