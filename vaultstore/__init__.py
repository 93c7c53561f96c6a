"""vaultstore: the data access layer of a credit-vault risk monitor.

One contract over PostgreSQL and MongoDB: open a store with :func:`connect` (or
:func:`vaultstore.aio.connect`), then use its repositories::

    with vaultstore.connect() as store:
        agent = store.agents.create(name="agent_123", credibility_score=720)
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from ._changes import ChangeEvent
from ._entities import (
    Agent,
    AgentChanges,
    AlertChanges,
    AlertSeverity,
    AlertStatus,
    AlertType,
    AuditRecord,
    BatchResult,
    ChainId,
    ChainRiskSummary,
    CredibilityTier,
    CreditVault,
    DocumentOwner,
    FieldChange,
    LiquidationChanges,
    LiquidationEvent,
    LiquidationProtection,
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
    TokenAmount,
    VaultChanges,
    VaultStatus,
    WriteKind,
)
from ._health import Health, HealthStatus
from ._ids import new_id
from ._monitoring import Metrics, PoolMetrics, StatementMetrics, StatementStats
from ._paging import Page
from ._registry import REGISTRY, EntityType, Reference, Registry
from ._replicas import ReplicaStats
from ._scope import DEFAULT_TENANT, Scope
from ._settings import (
    Monitoring,
    PoolOptions,
    ReplicaOptions,
    Settings,
    settings_from_env,
    settings_from_url,
)
from ._sync.changes import ChangeFeed
from ._sync.connect import connect
from ._sync.contracts import (
    AgentRepository,
    AlertRepository,
    AuditRepository,
    DocumentRepository,
    LiquidationRepository,
    MarketDataRepository,
    ProtectionRuleRepository,
    Repositories,
    Store,
    VaultRepository,
)
from .errors import (
    ChangesLostError,
    CommitUnknownError,
    ConcurrentUpdateError,
    ConflictError,
    DatabaseError,
    NotFoundError,
    OperationTimeoutError,
    StoreClosedError,
    UnavailableError,
    ValidationError,
    VaultStoreError,
    VersionConflictError,
)

if TYPE_CHECKING:
    from .admin import (
        applied_migrations,
        apply_migrations,
        pending_migrations,
        rollback_migrations,
    )

logging.getLogger("vaultstore").addHandler(logging.NullHandler())

_ADMIN = frozenset(
    {"applied_migrations", "apply_migrations", "pending_migrations", "rollback_migrations"}
)


def __getattr__(name: str) -> Any:
    """The migration functions, from :mod:`vaultstore.admin` on first use, so that
    importing vaultstore loads none of the tooling (PEP 562)."""
    if name in _ADMIN:
        from . import admin  # noqa: PLC0415 - the one way from the runtime to the tooling

        return getattr(admin, name)
    raise AttributeError(f"module 'vaultstore' has no attribute {name!r}")


__version__ = "0.1.0"

__all__ = [
    "DEFAULT_TENANT",
    "REGISTRY",
    "Agent",
    "AgentChanges",
    "AgentRepository",
    "AlertChanges",
    "AlertRepository",
    "AlertSeverity",
    "AlertStatus",
    "AlertType",
    "AuditRecord",
    "AuditRepository",
    "BatchResult",
    "ChainId",
    "ChainRiskSummary",
    "ChangeEvent",
    "ChangeFeed",
    "ChangesLostError",
    "CommitUnknownError",
    "ConcurrentUpdateError",
    "ConflictError",
    "CredibilityTier",
    "CreditVault",
    "DatabaseError",
    "DocumentOwner",
    "DocumentRepository",
    "EntityType",
    "FieldChange",
    "Health",
    "HealthStatus",
    "LiquidationChanges",
    "LiquidationEvent",
    "LiquidationProtection",
    "LiquidationRepository",
    "MarketData",
    "MarketDataChanges",
    "MarketDataRepository",
    "Metrics",
    "Monitoring",
    "NewAgent",
    "NewAlert",
    "NewLiquidation",
    "NewMarketData",
    "NewProtectionRule",
    "NewVault",
    "NotFoundError",
    "Number",
    "OperationTimeoutError",
    "Page",
    "PoolMetrics",
    "PoolOptions",
    "ProtectionRule",
    "ProtectionRuleChanges",
    "ProtectionRuleRepository",
    "Reference",
    "Registry",
    "ReplicaOptions",
    "ReplicaStats",
    "Repositories",
    "RiskAlert",
    "Scope",
    "Settings",
    "StatementMetrics",
    "StatementStats",
    "Store",
    "StoreClosedError",
    "StoredDocument",
    "TokenAmount",
    "UnavailableError",
    "ValidationError",
    "VaultChanges",
    "VaultRepository",
    "VaultStatus",
    "VaultStoreError",
    "VersionConflictError",
    "WriteKind",
    "applied_migrations",
    "apply_migrations",
    "connect",
    "new_id",
    "pending_migrations",
    "rollback_migrations",
    "settings_from_env",
    "settings_from_url",
]
