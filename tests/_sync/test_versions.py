# Generated from tests/_async/test_versions.py by tools/generate_sync.py: do not edit.
"""Optimistic concurrency (async source of tests/_sync/test_versions.py): every
stored entity carries a version, 1 when stored and one more on every write, kept
by the database; a write given ``expected_version=`` is refused, writing nothing,
when the entity has moved on."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from vaultstore import (
    AlertType,
    ChainId,
    CreditVault,
    LiquidationProtection,
    RiskAlert,
    TokenAmount,
)
from vaultstore._sync.contracts import Store
from vaultstore.errors import (
    NotFoundError,
    ValidationError,
    VaultStoreError,
    VersionConflictError,
)


def make_vault(store: Store) -> CreditVault:
    agent = store.agents.create(name="versioned", credibility_score=700)
    return store.vaults.create(
        agent_id=agent.id,
        chain_id=ChainId.ETHEREUM,
        collateral=TokenAmount(token="ETH", amount=10, value_usd=20000),
        debt=TokenAmount(token="USDC", amount=10000, value_usd=10000),
        ltv=50,
        health_factor=2,
        max_ltv=70,
        liquidation_protection=LiquidationProtection(enabled=True, threshold=60, cooldown=0),
    )


def test_a_new_entity_is_at_version_1(store: Store) -> None:
    vault = make_vault(store)
    assert vault.version == 1
    stored = store.vaults.find_by_id(vault.id)
    assert stored is not None
    assert stored.version == 1


def test_every_write_counts_the_version_up(store: Store) -> None:
    vault = make_vault(store)
    assert (store.vaults.update(vault.id, status="at_risk")).version == 2
    assert (store.vaults.update_vault_metrics(vault.id, 55, 1.8)).version == 3
    alert = store.alerts.create(
        vault_id=vault.id, alert_type=AlertType.LTV_WARNING, severity="high", message="LTV 55%"
    )
    assert (store.alerts.acknowledge(alert.id)).version == 2
    assert (store.alerts.acknowledge(alert.id)).version == 2  # nothing to do: no write
    assert (store.alerts.resolve(alert.id)).version == 3
    rule = store.protection_rules.create(
        vault_id=vault.id, name="trim", conditions={"ltv_above": 80}, actions=[], cooldown=0
    )
    triggered = store.protection_rules.mark_triggered(rule.id)
    assert triggered is not None
    assert (triggered.version, triggered.trigger_count) == (2, 1)


def test_a_write_at_the_expected_version_goes_through(store: Store) -> None:
    vault = make_vault(store)
    updated = store.vaults.update_vault_metrics(vault.id, 60, 1.5, expected_version=1)
    assert (updated.ltv, updated.version) == (Decimal(60), 2)
    again = store.vaults.update(vault.id, expected_version=2, status="at_risk")
    assert again.version == 3


def test_a_stale_expected_version_is_refused_and_writes_nothing(store: Store) -> None:
    vault = make_vault(store)
    store.vaults.update_vault_metrics(vault.id, 60, 1.5)  # now at version 2
    with pytest.raises(VersionConflictError) as info:
        store.vaults.update_vault_metrics(vault.id, 99, 1.0, expected_version=1)
    assert (info.value.expected, info.value.stored, info.value.retryable) == (1, 2, True)
    with pytest.raises(VersionConflictError):
        store.vaults.update(vault.id, expected_version=1, status="closed")
    with pytest.raises(VersionConflictError):
        store.vaults.delete(vault.id, expected_version=1)
    stored = store.vaults.find_by_id(vault.id)
    assert stored is not None
    assert (stored.ltv, stored.status.value, stored.version) == (Decimal(60), "active", 2)


def test_a_stale_version_is_refused_for_state_changes_too(store: Store) -> None:
    vault = make_vault(store)
    alert = store.alerts.create(
        vault_id=vault.id, alert_type=AlertType.LTV_WARNING, severity="high", message="x"
    )
    store.alerts.update(alert.id, message="y")  # version 2
    with pytest.raises(VersionConflictError):
        store.alerts.acknowledge(alert.id, expected_version=1)
    with pytest.raises(VersionConflictError):
        store.alerts.resolve(alert.id, expected_version=1)
    assert (store.alerts.resolve(alert.id, expected_version=2)).version == 3


def test_delete_at_the_expected_version_deletes(store: Store) -> None:
    agent = store.agents.create(name="deleted_at_1", credibility_score=1)
    store.agents.delete(agent.id, expected_version=1)
    assert store.agents.find_by_id(agent.id) is None


def test_an_unknown_id_is_not_found_whatever_the_version(store: Store) -> None:
    with pytest.raises(NotFoundError):
        store.vaults.update_vault_metrics("nope", 1, 1, expected_version=3)
    with pytest.raises(NotFoundError):
        store.agents.delete("nope", expected_version=1)


@pytest.mark.parametrize("bad", [0, -1, True, "1", 1.0])
def test_a_bad_expected_version_is_refused_before_any_io(store: Store, bad: Any) -> None:
    with pytest.raises(ValidationError) as info:
        store.agents.update("any", expected_version=bad, credibility_score=1)
    assert info.value.field == "expected_version"
    assert "agents.update" not in store.statement_stats()


def test_lock_reads_the_entity_inside_a_transaction(store: Store) -> None:
    vault = make_vault(store)
    with store.transaction() as tx:
        locked = tx.vaults.lock(vault.id)
        assert (locked.id, locked.version) == (vault.id, 1)
        updated = tx.vaults.update_vault_metrics(vault.id, 61, 1.4)
    assert updated.version == 2  # the lock itself is no write of the entity


def test_lock_outside_a_transaction_is_refused(store: Store) -> None:
    vault = make_vault(store)
    with pytest.raises(VaultStoreError, match=r"store\.transaction"):
        store.vaults.lock(vault.id)
    assert "vaults.lock_by_id" not in store.statement_stats()


def test_lock_of_an_unknown_id_is_not_found(store: Store) -> None:
    with store.transaction() as tx:
        with pytest.raises(NotFoundError):
            tx.agents.lock("nope")


def make_alert(store: Store) -> RiskAlert:
    vault = make_vault(store)
    return store.alerts.create(
        vault_id=vault.id, alert_type=AlertType.LTV_WARNING, severity="high", message="LTV 55%"
    )


def test_lock_of_an_alert_reads_its_vault_then_locks_it_by_id_and_vault(
    store: Store,
) -> None:
    alert = make_alert(store)
    with store.transaction() as tx:
        assert tx.alerts.lock(alert.id) == alert
        acknowledged = tx.alerts.acknowledge(alert.id)
    assert acknowledged.version == 2
    stats = store.statement_stats()
    assert (stats["alerts.find_by_id"].calls, stats["alerts.lock_by_id"].calls) == (1, 1)


def test_lock_of_a_price_locks_it_by_id_token_chain_and_time(store: Store) -> None:
    price = store.market_data.create(
        token="ETH", chain_id=ChainId.BASE, price_usd=Decimal("2000.5"), source="test"
    )
    with store.transaction() as tx:
        assert tx.market_data.lock(price.id) == price
        updated = tx.market_data.update(price.id, price_usd=2001)
    assert (updated.price_usd, updated.version) == (Decimal(2001), 2)


def test_lock_of_an_unknown_alert_is_not_found_without_locking(store: Store) -> None:
    with store.transaction() as tx:
        with pytest.raises(NotFoundError):
            tx.alerts.lock("nope")
    assert "alerts.lock_by_id" not in store.statement_stats()


def test_lock_of_a_row_deleted_after_it_was_read_is_not_found(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    alert = make_alert(store)
    with store.transaction() as tx:
        alerts: Any = tx.alerts  # its _one, patched
        read = alerts._one

        def read_then_delete(name: str, /, **params: Any) -> RiskAlert | None:
            found: RiskAlert | None = read(name, **params)
            tx.alerts.delete(alert.id)  # between the read and the lock
            return found

        monkeypatch.setattr(alerts, "_one", read_then_delete)
        with pytest.raises(NotFoundError):
            alerts.lock(alert.id)
    assert store.statement_stats()["alerts.lock_by_id"].calls == 1
