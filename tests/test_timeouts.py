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
from pymongo import monitoring

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


# -- a timeout of its own for one transaction ------------------------------------------------


def test_a_transaction_s_own_timeout_bounds_its_lock_waits_only(clean_db: str) -> None:
    """store.transaction(timeout=...) bounds each statement inside it; the pooled
    connection keeps the store's operation timeout afterwards."""
    own, store_s = 0.2, 1.5
    with vaultstore.connect(clean_db, pool_size=1, operation_timeout=store_s) as store:
        vault = make_vault(store)
        with psycopg.connect(clean_db) as locker:
            LOCKS.lock_vault(locker, id=vault.id)
            start = time.monotonic()
            with pytest.raises(OperationTimeoutError), store.transaction(timeout=own) as tx:
                tx.vaults.update_vault_metrics(vault.id, 60, 1.5)
            inside = time.monotonic() - start
            start = time.monotonic()
            with pytest.raises(OperationTimeoutError):
                store.vaults.update_vault_metrics(vault.id, 60, 1.5)
            outside = time.monotonic() - start
            locker.rollback()
        assert own * 0.8 <= inside < store_s * 0.8
        assert store_s * 0.8 <= outside < BOUND
        assert store.vaults.update_vault_metrics(vault.id, 61, 1.4).ltv == 61


def test_run_transaction_takes_a_timeout_for_each_attempt(clean_db: str) -> None:
    with vaultstore.connect(clean_db, pool_size=1, operation_timeout=30) as store:
        vault = make_vault(store)
        with psycopg.connect(clean_db) as locker:
            LOCKS.lock_vault(locker, id=vault.id)
            start = time.monotonic()
            with pytest.raises(OperationTimeoutError):
                store.run_transaction(
                    lambda tx: tx.vaults.update_vault_metrics(vault.id, 60, 1.5),
                    attempts=2,
                    timeout=0.2,
                )
            waited = time.monotonic() - start
            locker.rollback()
        assert 0.3 <= waited < 5  # two attempts of 0.2 s, not 30 s


class MaxTimes(monitoring.CommandListener):
    """The maxTimeMS pymongo sends with each write and commit (its operation timeout,
    less the round trip)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, int | None]] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name in {"findAndModify", "commitTransaction"}:
            self.sent.append((event.command_name, event.command.get("maxTimeMS")))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


def test_a_mongodb_transaction_s_own_timeout_reaches_each_operation(clean_mongo: str) -> None:
    """SecantusDB refuses a conflicting write in a transaction at once, so nothing
    there waits long enough to time out: what is checked is the limit pymongo sends
    with each operation (the commit keeps the store's operation timeout)."""
    listener = MaxTimes()
    monitoring.register(listener)  # for the clients made from now on: the store's
    with vaultstore.connect(clean_mongo, pool_size=2, operation_timeout=30) as store:
        vault = make_vault(store)
        listener.sent.clear()
        with store.transaction(timeout=0.5) as tx:
            tx.vaults.update_vault_metrics(vault.id, 60, 1.5)
        inside = dict(listener.sent)
        listener.sent.clear()
        store.vaults.update_vault_metrics(vault.id, 61, 1.5)
        outside = dict(listener.sent)
    assert 0 < (inside["findAndModify"] or 0) <= 500
    assert 500 < (inside["commitTransaction"] or 0) <= 30_000
    assert 500 < (outside["findAndModify"] or 0) <= 30_000


@pytest.mark.parametrize("bad", [0, -1, float("nan"), float("inf"), "5", True])
@pytest.mark.parametrize("database", ["clean_db", "clean_mongo"])
def test_a_bad_transaction_timeout_is_refused_before_any_io(
    bad: object, database: str, request: pytest.FixtureRequest
) -> None:
    with vaultstore.connect(request.getfixturevalue(database), pool_size=1) as store:
        with pytest.raises(vaultstore.ValidationError) as info:
            store.transaction(timeout=bad)  # type: ignore[arg-type]
        assert info.value.field == "timeout"
        with pytest.raises(vaultstore.ValidationError) as info:
            store.run_transaction(lambda tx: None, timeout=bad)  # type: ignore[arg-type]
        assert info.value.field == "timeout"
