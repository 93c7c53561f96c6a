"""200 asyncio tasks on a pool of 4, on each backend: plain writes and transactions
on the same vault, all at once. Before the operation timeout, this hung on MongoDB
(transactions holding every pooled connection while the writers they block wait
for one). Every task now ends, within the operation timeout of its last wait, with
a result or a vaultstore error, and the store answers afterwards."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

import vaultstore.aio
from vaultstore import ChainId, LiquidationProtection, TokenAmount, VaultStoreError

pytestmark = pytest.mark.slow

TASKS = 200
TIMEOUT = 2.0  # the operation timeout, and the connect (pool wait) timeout
BOUND = 60.0  # seconds before the test gives up on a hang


async def make_vault(store: Any) -> Any:
    agent = await store.agents.create(name=f"tasks_{time.monotonic_ns()}", credibility_score=700)
    return await store.vaults.create(
        agent_id=agent.id,
        chain_id=ChainId.ETHEREUM,
        collateral=TokenAmount(token="ETH", amount=10, value_usd=20000),
        debt=TokenAmount(token="USDC", amount=10000, value_usd=10000),
        ltv=50,
        health_factor=2,
        max_ltv=70,
        liquidation_protection=LiquidationProtection(enabled=True, threshold=60, cooldown=60),
    )


@pytest.mark.parametrize("database", ["clean_db", "clean_mongo"])
async def test_200_tasks_on_a_pool_of_4_all_end(
    database: str, request: pytest.FixtureRequest
) -> None:
    url = request.getfixturevalue(database)
    async with await vaultstore.aio.connect(
        url, pool_size=4, operation_timeout=TIMEOUT, connect_timeout=TIMEOUT
    ) as store:
        vault = await make_vault(store)

        async def plain(n: int) -> str:
            await store.vaults.update_vault_metrics(vault.id, 50 + n % 20, 1.5)
            return "written"

        async def locked(n: int) -> str:
            async def bump(tx: Any) -> None:
                current = await tx.vaults.lock(vault.id)
                await tx.vaults.update_vault_metrics(vault.id, current.ltv, 1.4)

            await store.run_transaction(bump, attempts=3)
            return "committed"

        async def task(n: int) -> tuple[str, float]:
            start = time.monotonic()
            try:
                outcome = await (locked(n) if n % 10 == 0 else plain(n))
            except VaultStoreError as exc:
                outcome = type(exc).__name__
            return outcome, time.monotonic() - start

        start = time.monotonic()
        results = await asyncio.wait_for(
            asyncio.gather(*(task(n) for n in range(TASKS))), timeout=BOUND
        )
        elapsed = time.monotonic() - start

        outcomes = [outcome for outcome, _ in results]
        # Each ended: done, or refused with a vaultstore error that says why. On
        # PostgreSQL the writers queue on the row lock and all get through.
        ended = {"written", "committed"}
        if database == "clean_mongo":
            # SecantusDB keeps the plain writers waiting on the transactions'
            # locks, holding every pooled connection, so that a commit waits for a
            # connection: the operation timeout ends the wait, with the outcome of
            # each write unknown to the client, or the transaction's conflict. An
            # audited plain write runs in a transaction of its own: when no
            # connection comes free before it commits, nothing was written, and
            # it says so (UnavailableError, not CommitUnknownError).
            ended |= {
                "OperationTimeoutError",
                "ConcurrentUpdateError",
                "CommitUnknownError",
                "UnavailableError",
            }
        assert set(outcomes) <= ended, sorted(set(outcomes) - ended)
        # Progress, not a standstill.
        assert outcomes.count("written") + outcomes.count("committed") >= 1
        # Every wait is bounded by a timeout, so the whole run is too: far below
        # the time the waits would add up to one after the other.
        assert elapsed < 5 * TIMEOUT, elapsed
        # And the store is usable: no connection is left stuck, no transaction open.
        assert (await store.vaults.find_by_id(vault.id)) is not None
        stats = store.pool_stats()
        assert stats["pool_max"] == 4
        assert stats.get("requests_waiting", 0) == 0
