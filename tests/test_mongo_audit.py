"""The audit trail on MongoDB: every committed write through vaultstore leaves a
document in ``audit_log``, written by the executor in the write's own transaction
(migrations/mongodb/0005.audit-log.json), saying what PostgreSQL's trigger
``vaultstore_audit`` says of a row (migration 0016); ``store.audit`` reads them."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pymongo
import pytest

import vaultstore
from vaultstore import (
    AlertType,
    AuditRecord,
    ChainId,
    CreditVault,
    LiquidationProtection,
    NewMarketData,
    TokenAmount,
    WriteKind,
)
from vaultstore._sync.contracts import Store

ACTOR = "auditor@example.com"
VAULT_FIELDS = {
    "agent_id",
    "chain_id",
    "collateral_amount",
    "collateral_token",
    "collateral_value_usd",
    "debt_amount",
    "debt_token",
    "debt_value_usd",
    "health_factor",
    "liquidation_protection_cooldown",
    "liquidation_protection_enabled",
    "liquidation_protection_threshold",
    "ltv",
    "max_ltv",
    "status",
}
"""A vault's columns less id, tenant_id, version, created_at and updated_at, and
those null on both sides of its insert."""


@pytest.fixture
def store(clean_mongo: str) -> Iterator[Store]:
    with vaultstore.connect(clean_mongo) as opened:
        yield opened.scoped(actor=ACTOR)


@pytest.fixture
def audit_log(clean_mongo: str) -> Iterator[Any]:
    client: pymongo.MongoClient[Any] = pymongo.MongoClient(clean_mongo)
    yield client.get_default_database()["audit_log"]
    client.close()


def make_vault(store: Store, name: str = "agent") -> CreditVault:
    agent = store.agents.create(name=name, credibility_score=700)
    return store.vaults.create(
        agent_id=agent.id,
        chain_id=ChainId.ETHEREUM,
        collateral=TokenAmount(token="ETH", amount=10, value_usd=20000),
        debt=TokenAmount(token="USDC", amount=10000, value_usd=10000),
        ltv=50,
        health_factor=2,
        max_ltv=70,
        liquidation_protection=LiquidationProtection(threshold=60),
    )


def history(store: Store, entity_type: str, id: str) -> list[AuditRecord]:
    return list(store.audit.history(entity_type, id, limit=1000))


def test_create_records_an_insert_with_every_field_set(store: Store) -> None:
    vault = make_vault(store)
    [record] = history(store, "vaults", vault.id)
    assert (record.operation, record.action, record.entity_id) == (
        "vaults.insert",
        WriteKind.INSERT,
        vault.id,
    )
    assert (record.version_before, record.version_after, record.count) == (None, 1, 1)
    assert (record.actor, record.tenant) == (ACTOR, "default")
    assert set(record.changes) == VAULT_FIELDS
    assert all(change.old is None for change in record.changes.values())
    assert record.changes["collateral_token"].new == "ETH"


def test_update_records_the_fields_it_changed_with_old_and_new_values(store: Store) -> None:
    vault = make_vault(store)
    store.vaults.update(vault.id, max_ltv=Decimal("71.50"))
    record = history(store, "vaults", vault.id)[-1]
    assert (record.operation, record.action) == ("vaults.update", WriteKind.UPDATE)
    assert (record.version_before, record.version_after) == (1, 2)
    assert list(record.changes) == ["max_ltv"]
    change = record.changes["max_ltv"]
    assert (str(change.old), str(change.new)) == ("70", "71.50")


def test_update_vault_metrics_records_exact_decimals(store: Store) -> None:
    vault = make_vault(store)
    store.vaults.update_vault_metrics(
        vault.id, ltv=Decimal("51.123456789012345678"), health_factor=Decimal("1.900")
    )
    record = history(store, "vaults", vault.id)[-1]
    assert record.operation == "vaults.update_metrics"
    assert (record.version_before, record.version_after) == (1, 2)
    shown = {column: (str(c.old), str(c.new)) for column, c in record.changes.items()}
    assert shown == {
        "ltv": ("50", "51.123456789012345678"),
        "health_factor": ("2", "1.900"),
    }


def test_acknowledge_and_resolve_record_each_state_change(store: Store) -> None:
    vault = make_vault(store)
    alert = store.alerts.create(
        vault_id=vault.id, alert_type=AlertType.LTV_WARNING, severity="high", message="m"
    )
    store.alerts.acknowledge(alert.id)
    store.alerts.resolve(alert.id)
    inserted, acknowledged, resolved = history(store, "alerts", alert.id)
    assert inserted.operation == "alerts.insert"
    assert (acknowledged.operation, acknowledged.version_after) == ("alerts.acknowledge", 2)
    assert set(acknowledged.changes) == {"status", "acknowledged_at"}
    assert (resolved.operation, resolved.version_after) == ("alerts.resolve", 3)
    assert set(resolved.changes) == {"status", "resolved_at"}
    assert resolved.changes["status"].old.value == "acknowledged"
    assert resolved.changes["status"].new.value == "resolved"


def test_mark_triggered_records_the_trigger(store: Store) -> None:
    vault = make_vault(store)
    rule = store.protection_rules.create(
        vault_id=vault.id, name="r", conditions={"ltv": 80}, actions=[{"do": "x"}], cooldown=0
    )
    store.protection_rules.mark_triggered(rule.id)
    record = history(store, "protection_rules", rule.id)[-1]
    assert record.operation == "protection_rules.mark_triggered"
    assert set(record.changes) == {"trigger_count", "last_triggered_at"}
    assert (record.changes["trigger_count"].old, record.changes["trigger_count"].new) == (0, 1)


def test_delete_records_the_vault_and_each_dependent_it_took_with_it(store: Store) -> None:
    vault = make_vault(store)
    alerts = [
        store.alerts.create(
            vault_id=vault.id, alert_type=AlertType.LTV_WARNING, severity="low", message=m
        )
        for m in ("a", "b")
    ]
    rule = store.protection_rules.create(
        vault_id=vault.id, name="r", conditions={}, actions=[], cooldown=0
    )
    store.vaults.update_vault_metrics(vault.id, ltv=Decimal("55.5"), health_factor=2)
    store.vaults.delete(vault.id)
    deleted = history(store, "vaults", vault.id)[-1]
    assert (deleted.operation, deleted.action) == ("vaults.delete", WriteKind.DELETE)
    assert (deleted.version_before, deleted.version_after) == (2, None)
    assert set(deleted.changes) == VAULT_FIELDS
    assert all(change.new is None for change in deleted.changes.values())
    assert str(deleted.changes["ltv"].old) == "55.5"
    for entity_type, id in [*(("alerts", a.id) for a in alerts), ("protection_rules", rule.id)]:
        cascaded = history(store, entity_type, id)[-1]
        assert (cascaded.operation, cascaded.action) == ("vaults.delete", WriteKind.DELETE)
        assert (cascaded.entity_type, cascaded.version_before) == (entity_type, 1)
        assert cascaded.changes["vault_id"].old == vault.id


def test_bulk_insert_is_one_record_with_its_row_count(store: Store, audit_log: Any) -> None:
    prices: list[NewMarketData] = [
        {"token": f"T{i}", "chain_id": 1, "price_usd": Decimal("1.5")} for i in range(7)
    ]
    assert store.market_data.bulk_insert(prices, batch_size=5) == 7
    batches = list(audit_log.find({"operation_name": "market_data.insert_many"}).sort("_id"))
    assert [b["row_count"] for b in batches] == [5, 2]
    for batch in batches:
        assert (batch["write_kind"], batch["entity_type"]) == ("insert", "market_data")
        assert (batch["entity_id"], batch["changes"]) == (None, {})
        assert (batch["version_before"], batch["version_after"]) == (None, None)
    assert store.market_data.bulk_insert([]) == 0
    assert audit_log.count_documents({"operation_name": "market_data.insert_many"}) == 2


def test_update_metrics_many_is_one_record_counting_the_vaults_found(
    store: Store, audit_log: Any
) -> None:
    vaults = [make_vault(store, f"agent{i}") for i in range(3)]
    missing = "01ARZ3NDEKTSV4RRFFQ69G5FAV"
    updates = [(v.id, Decimal("60"), Decimal("1.5")) for v in vaults] + [(missing, 1, 1)]
    assert store.vaults.update_metrics_many(updates).updated == 3
    [batch] = audit_log.find({"operation_name": "vaults.update_metrics_many"})
    assert (batch["write_kind"], batch["row_count"], batch["entity_id"]) == ("update", 3, None)
    store.vaults.update_metrics_many([(missing, 1, 1)])
    assert audit_log.count_documents({"operation_name": "vaults.update_metrics_many"}) == 1


def test_documents_put_and_delete_are_recorded_as_postgresql_records_them(store: Store) -> None:
    vault = make_vault(store)
    kept = store.documents.put("vault", vault.id, "kept.txt", b"kept", metadata={"k": 1.5})
    gone = store.documents.put("vault", vault.id, "gone.txt", b"gone")
    store.documents.delete(gone.id)
    inserted, deleted = history(store, "documents", gone.id)
    assert (inserted.operation, inserted.action) == ("documents.insert", WriteKind.INSERT)
    assert (deleted.operation, deleted.action) == ("documents.delete", WriteKind.DELETE)
    columns = {"owner_type", "owner_id", "name", "content_type", "length", "sha256", "metadata"}
    assert set(inserted.changes) == columns == set(deleted.changes)
    assert (inserted.version_before, inserted.version_after) == (None, None)
    assert (inserted.changes["length"].new, deleted.changes["name"].old) == (4, "gone.txt")
    store.vaults.delete(vault.id)  # takes its documents with it
    owner_deleted = history(store, "documents", kept.id)[-1]
    assert owner_deleted.operation == "documents.delete_by_owner"
    assert owner_deleted.changes["metadata"].old == {"k": 1.5}


def test_a_write_in_a_rolled_back_transaction_leaves_no_record(store: Store) -> None:
    vault = make_vault(store)
    with pytest.raises(RuntimeError), store.transaction() as tx:
        tx.vaults.update_vault_metrics(vault.id, ltv=51, health_factor=2)
        tx.alerts.create(
            vault_id=vault.id, alert_type=AlertType.LTV_WARNING, severity="low", message="m"
        )
        raise RuntimeError("roll back")
    assert [r.operation for r in history(store, "vaults", vault.id)] == ["vaults.insert"]
    with store.transaction() as tx:
        tx.vaults.update_vault_metrics(vault.id, ltv=52, health_factor=2)
        tx.vaults.update_vault_metrics(vault.id, ltv=53, health_factor=2)
    versions = [(r.version_before, r.version_after) for r in history(store, "vaults", vault.id)]
    assert versions == [(None, 1), (1, 2), (2, 3)]


def test_lock_leaves_no_record(store: Store, audit_log: Any) -> None:
    vault = make_vault(store)
    before = audit_log.count_documents({})
    with store.transaction() as tx:
        tx.vaults.lock(vault.id)
    assert audit_log.count_documents({}) == before


def test_a_write_that_finds_nothing_leaves_no_record(store: Store, audit_log: Any) -> None:
    with pytest.raises(vaultstore.NotFoundError):
        store.vaults.update_vault_metrics("01ARZ3NDEKTSV4RRFFQ69G5FAV", ltv=1, health_factor=1)
    with pytest.raises(vaultstore.NotFoundError):
        store.vaults.delete("01ARZ3NDEKTSV4RRFFQ69G5FAV")
    assert audit_log.count_documents({}) == 0


def test_a_store_scoped_without_audit_leaves_no_record(store: Store, audit_log: Any) -> None:
    backfill = store.scoped(audit=False)
    vault = make_vault(backfill)
    backfill.vaults.update_vault_metrics(vault.id, ltv=51, health_factor=2)
    backfill.market_data.bulk_insert([{"token": "ETH", "chain_id": 1, "price_usd": 2}])
    document = backfill.documents.put("vault", vault.id, "r.txt", b"r")
    backfill.documents.delete(document.id)
    backfill.vaults.delete(vault.id)
    assert audit_log.count_documents({}) == 0


def test_history_pages_one_record_at_a_time(store: Store) -> None:
    vault = make_vault(store)
    for ltv in (51, 52, 53):
        store.vaults.update_vault_metrics(vault.id, ltv=ltv, health_factor=2)
    seen: list[int | None] = []
    after = None
    while True:
        page = store.audit.history("vaults", vault.id, limit=1, after=after)
        seen.extend(record.version_after for record in page)
        if page.next_cursor is None:
            break
        after = page.next_cursor
    assert seen == [1, 2, 3, 4]


def test_by_actor_lists_the_actors_writes_in_since_until(store: Store) -> None:
    vault = make_vault(store)
    for ltv in (51, 52, 53):
        store.vaults.update_vault_metrics(vault.id, ltv=ltv, health_factor=2)
    store.scoped(actor="someone-else").vaults.update_vault_metrics(
        vault.id, ltv=54, health_factor=2
    )
    every = list(store.audit.by_actor(ACTOR, limit=1000))
    assert len(every) == 5  # agent, vault, three updates
    assert all(record.actor == ACTOR for record in every)
    since, until = every[2].at, every[4].at
    window = list(store.audit.by_actor(ACTOR, since=since, until=until, limit=1000))
    assert window == [r for r in every if since <= r.at < until]
    assert window[0] == every[2]


def test_each_audited_update_returns_the_document_the_server_stored(
    store: Store, audit_log: Any
) -> None:
    """An audited update takes the document before from its one call and works out
    the one after (vaultstore._mongo_operations.updated): what it returns is what a
    read finds afterwards, to the millisecond and the last digit, for every update
    on every entity; agents.update (a $switch) is read after it instead."""
    vault = make_vault(store)
    alert = store.alerts.create(
        vault_id=vault.id, alert_type=AlertType.LTV_WARNING, severity="high", message="m"
    )
    rule = store.protection_rules.create(
        vault_id=vault.id, name="r", conditions={"ltv": 80}, actions=[], cooldown=0
    )
    writes: list[tuple[Any, Any, Any]] = [
        (
            store.vaults,
            vault.id,
            lambda: store.vaults.update_vault_metrics(
                vault.id, ltv=Decimal("51.000000000000000001"), health_factor=Decimal("1.50")
            ),
        ),
        (
            store.vaults,
            vault.id,
            lambda: store.vaults.update(
                vault.id,
                max_ltv=Decimal("72.25"),
                collateral=TokenAmount(
                    token="WBTC", amount=Decimal("0.5"), value_usd=Decimal("30000.01")
                ),
            ),
        ),
        (
            store.agents,
            vault.agent_id,
            lambda: store.agents.update(vault.agent_id, credibility_score=810),
        ),
        (store.alerts, alert.id, lambda: store.alerts.acknowledge(alert.id)),
        (store.alerts, alert.id, lambda: store.alerts.resolve(alert.id)),
        (store.protection_rules, rule.id, lambda: store.protection_rules.mark_triggered(rule.id)),
        (
            store.protection_rules,
            rule.id,
            lambda: store.protection_rules.update(rule.id, conditions={"ltv": {"gt": "85.5"}}),
        ),
    ]
    for repository, id, write in writes:
        returned = write()
        assert returned == repository.find_by_id(id)
    agent = store.agents.find_by_id(vault.agent_id)
    assert agent is not None
    assert agent.credibility_tier.value == "excellent"
    assert audit_log.count_documents({"write_kind": "update"}) == len(writes)
