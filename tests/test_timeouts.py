"""No call blocks forever: every statement and operation ends within the operation
timeout (``DATABASE_OPERATION_TIMEOUT``, ``operation_timeout=``), on real servers:
a row lock held by another session on PostgreSQL, and on MongoDB a transaction
holding a document while plain writers queue behind it with every pooled
connection taken."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import aiosql
import psycopg
import pytest

import vaultstore
from vaultstore import ChainId, LiquidationProtection, TokenAmount
from vaultstore.errors import OperationTimeoutError, VaultStoreError

LOCKS = aiosql.from_path(Path(__file__).parent / "sql" / "tracing.sql", "psycopg")
TIMEOUT = 0.5
BOUND = 15.0  # seconds: far beyond the timeouts, short of a hang


def make_vault(store: vaultstore.Store) -> vaultstore.CreditVault:
    agent = store.agents.create(name=f"timeouts_{time.monotonic_ns()}", credibility_score=700)
    return store.vaults.create(
        agent_id=agent.id,
        chain_id=ChainId.ETHEREUM,
        collateral=TokenAmount(token="ETH", amount=10, value_usd=20000),
        debt=TokenAmount(token="USDC", amount=10000, value_usd=10000),
        ltv=50,
        health_factor=2,
        max_ltv=70,
        liquidation_protection=LiquidationProtection(enabled=True, threshold=60, cooldown=60),
    )


def test_the_operation_timeout_is_read_from_the_environment() -> None:
    settings = vaultstore.settings_from_env(
        {"DATABASE_URL": "postgresql://u@h/db", "DATABASE_OPERATION_TIMEOUT": "2.5"}
    )
    assert settings.pool.operation_timeout == 2.5


@pytest.mark.parametrize("bad", ["0", "-1", "soon", "inf"])
def test_a_bad_operation_timeout_names_its_variable(bad: str) -> None:
    with pytest.raises(vaultstore.ValidationError) as info:
        vaultstore.settings_from_env(
            {"DATABASE_URL": "postgresql://u@h/db", "DATABASE_OPERATION_TIMEOUT": bad}
        )
    assert info.value.field == "DATABASE_OPERATION_TIMEOUT"


def test_a_write_waiting_on_a_row_lock_ends_at_the_timeout(clean_db: str) -> None:
    with vaultstore.connect(clean_db, operation_timeout=TIMEOUT) as store:
        vault = make_vault(store)
        with psycopg.connect(clean_db) as locker:
            LOCKS.lock_vault(locker, id=vault.id)
            start = time.monotonic()
            with pytest.raises(OperationTimeoutError) as info:
                store.vaults.update_vault_metrics(vault.id, 60, 1.5)
            waited = time.monotonic() - start
            locker.rollback()
        assert TIMEOUT * 0.8 <= waited < BOUND
        assert (info.value.code, info.value.retryable) == ("57014", True)
        # Cancelled, so not applied, and the store goes on.
        assert store.vaults.update_vault_metrics(vault.id, 61, 1.4).ltv == 61


def test_writers_queued_behind_a_transaction_end_at_the_timeout_on_mongodb(
    clean_mongo: str,
) -> None:
    """The hang of a pool of 4: a transaction holds a vault while 4 plain writers
    wait on it, holding every pooled connection. With the operation timeout each
    writer ends (the server cancels its wait, or refuses it as a conflict), the
    connections come back, the transaction commits, and the server answers."""
    with vaultstore.connect(clean_mongo, pool_size=4, operation_timeout=1.0) as store:
        vault = make_vault(store)
        start = time.monotonic()

        def writer(n: int) -> str:
            try:
                store.vaults.update_vault_metrics(vault.id, 70 + n, 1.2)
            except VaultStoreError as exc:
                return type(exc).__name__
            return "written"

        with ThreadPoolExecutor(4) as pool, store.transaction() as tx:
            tx.vaults.update_vault_metrics(vault.id, 65, 1.3)
            writers = [pool.submit(writer, n) for n in range(4)]
            outcomes = [future.result(timeout=BOUND) for future in writers]
        assert time.monotonic() - start < BOUND
        # Cancelled by the server, refused as a conflict, or cut off by the client (a
        # write whose outcome the client cannot know): each ends, none hangs.
        ends = {"OperationTimeoutError", "ConcurrentUpdateError", "CommitUnknownError"}
        assert set(outcomes) <= ends, outcomes
        stored = store.vaults.find_by_id(vault.id)
        assert stored is not None
        # The transaction committed. A writer cut off by the client may still have
        # been applied by the server afterwards (which is why its outcome is
        # unknown); a writer the server cancelled or refused was not.
        maybe_applied = {
            70 + n for n, outcome in enumerate(outcomes) if outcome == "CommitUnknownError"
        }
        assert stored.ltv in {65} | maybe_applied, (stored.ltv, outcomes)
