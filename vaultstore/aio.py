"""The async API: the same repositories and methods as :mod:`vaultstore`, awaitable,
on psycopg's async pool and pymongo's async client::

    async with await vaultstore.aio.connect() as store:
        agent = await store.agents.create(name="agent_123", credibility_score=720)
"""

from __future__ import annotations

from ._async.changes import AsyncChangeFeed
from ._async.connect import connect
from ._async.contracts import (
    AsyncAgentRepository,
    AsyncAlertRepository,
    AsyncAuditRepository,
    AsyncDocumentRepository,
    AsyncLiquidationRepository,
    AsyncMarketDataRepository,
    AsyncProtectionRuleRepository,
    AsyncRepositories,
    AsyncStore,
    AsyncVaultRepository,
)

__all__ = [
    "AsyncAgentRepository",
    "AsyncAlertRepository",
    "AsyncAuditRepository",
    "AsyncChangeFeed",
    "AsyncDocumentRepository",
    "AsyncLiquidationRepository",
    "AsyncMarketDataRepository",
    "AsyncProtectionRuleRepository",
    "AsyncRepositories",
    "AsyncStore",
    "AsyncVaultRepository",
    "connect",
]
