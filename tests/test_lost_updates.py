"""No lost updates: writers racing on one vault, each reading it, computing, and
writing inside ``store.run_transaction``, with ``expected_version=`` or after
``lock()``, lose none of their updates, on both backends (real servers, real
threads)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import pytest

import vaultstore
from vaultstore import ChainId, LiquidationProtection, TokenAmount

SIZES = [
    pytest.param(8, 10, id="8x10"),
    # The case (and benchmarks/lost_updates.py's): seconds, not a fraction.
    pytest.param(16, 50, id="16x50", marks=pytest.mark.slow),
]


@pytest.mark.parametrize(("writers", "updates"), SIZES)
@pytest.mark.parametrize("read", ["version", "lock"])
@pytest.mark.parametrize("backend", ["clean_db", "clean_mongo"])
def test_read_modify_writes_lose_no_update(
    request: pytest.FixtureRequest, backend: str, read: str, writers: int, updates: int
) -> None:
    """``read``: the vault read with find_by_id and written with expected_version=,
    or read with lock() (held until the transaction ends) and written plainly."""
    url = request.getfixturevalue(backend)
    with vaultstore.connect(url, pool_size=writers) as store:
        agent = store.agents.create(name="raced", credibility_score=700)
        vault = store.vaults.create(
            agent_id=agent.id,
            chain_id=ChainId.ETHEREUM,
            collateral=TokenAmount(token="ETH", amount=10, value_usd=20000),
            debt=TokenAmount(token="USDC", amount=10000, value_usd=10000),
            ltv=0,
            health_factor=2,
            max_ltv=70,
            liquidation_protection=LiquidationProtection(threshold=60),
        )

        def add_one(tx: Any) -> None:
            if read == "lock":
                current = tx.vaults.lock(vault.id)
                tx.vaults.update_vault_metrics(vault.id, current.ltv + 1, current.health_factor)
                return
            current = tx.vaults.find_by_id(vault.id)
            tx.vaults.update_vault_metrics(
                vault.id, current.ltv + 1, current.health_factor, expected_version=current.version
            )

        def writer() -> None:
            for _ in range(updates):
                store.run_transaction(add_one, attempts=1000)

        with ThreadPoolExecutor(writers) as pool:
            for future in [pool.submit(writer) for _ in range(writers)]:
                future.result(timeout=120)
        final = store.vaults.find_by_id(vault.id)
    assert final is not None
    assert final.ltv == Decimal(writers * updates)
    assert final.version == 1 + writers * updates
