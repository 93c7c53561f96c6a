"""The audit trail (async source of tests/_sync/test_audit.py), on both backends:
one record per committed write, appended in the write's transaction, none for a
write rolled back or a read; exact old and new values; one record per batch;
``store.audit.history`` and ``by_actor`` keyset-paginated and per tenant."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from vaultstore import (
    AlertSeverity,
    AlertType,
    AuditRecord,
    ChainId,
    CreditVault,
    FieldChange,
    LiquidationProtection,
    TokenAmount,
    WriteKind,
)
from vaultstore._async.contracts import AsyncStore
from vaultstore.errors import NotFoundError, ValidationError


async def make_vault(store: AsyncStore, name: str = "audited") -> CreditVault:
    agent = await store.agents.create(name=name, credibility_score=700)
    return await store.vaults.create(
        agent_id=agent.id,
        chain_id=ChainId.ETHEREUM,
        collateral=TokenAmount(token="ETH", amount=10, value_usd=20000),
        debt=TokenAmount(token="USDC", amount=10000, value_usd=10000),
        ltv=Decimal("50.00"),
        health_factor=2,
        max_ltv=70,
        liquidation_protection=LiquidationProtection(enabled=True, threshold=60, cooldown=0),
    )


async def history(store: AsyncStore, entity_type: str, id: str) -> list[AuditRecord]:
    return list(await store.audit.history(entity_type, id, limit=1000))


def summary(records: list[AuditRecord]) -> list[tuple[Any, ...]]:
    return [(r.operation, r.action, r.version_before, r.version_after, r.count) for r in records]


async def test_every_write_of_a_vault_appends_one_record(store: AsyncStore) -> None:
    vault = await make_vault(store)
    await store.vaults.update_vault_metrics(vault.id, Decimal("61.25"), Decimal("1.40"))
    await store.vaults.update(vault.id, max_ltv=Decimal("75"))
    records = await history(store, "vaults", vault.id)
    assert summary(records) == [
        ("vaults.insert", WriteKind.INSERT, None, 1, 1),
        ("vaults.update_metrics", WriteKind.UPDATE, 1, 2, 1),
        ("vaults.update", WriteKind.UPDATE, 2, 3, 1),
    ]
    assert all(r.entity_type == "vaults" and r.entity_id == vault.id for r in records)
    assert all(r.tenant == store.scope.effective_tenant() for r in records)


async def test_an_update_records_the_changed_fields_old_and_new_exactly(
    store: AsyncStore,
) -> None:
    vault = await make_vault(store)
    await store.vaults.update_vault_metrics(
        vault.id, Decimal("61.123456789012345678"), Decimal("1.40")
    )
    record = (await history(store, "vaults", vault.id))[-1]
    assert record.changes == {
        "health_factor": FieldChange(Decimal("2"), Decimal("1.40")),
        "ltv": FieldChange(Decimal("50.00"), Decimal("61.123456789012345678")),
    }
    ltv = record.changes["ltv"]
    assert (str(ltv.old), str(ltv.new)) == ("50.00", "61.123456789012345678")


async def test_an_insert_records_every_field_it_set(store: AsyncStore) -> None:
    vault = await make_vault(store)
    (record,) = (await history(store, "vaults", vault.id))[:1]
    assert record.changes["collateral_amount"] == FieldChange(None, Decimal("10"))
    assert record.changes["chain_id"] == FieldChange(None, ChainId.ETHEREUM)
    assert record.changes["agent_id"] == FieldChange(None, vault.agent_id)
    assert {"id", "version", "created_at", "updated_at", "tenant_id"}.isdisjoint(record.changes)


async def test_alert_and_rule_state_changes_are_recorded(store: AsyncStore) -> None:
    vault = await make_vault(store)
    alert = await store.alerts.create(
        vault_id=vault.id,
        alert_type=AlertType.LTV_WARNING,
        severity=AlertSeverity.HIGH,
        message="ltv rising",
    )
    await store.alerts.acknowledge(alert.id)
    await store.alerts.acknowledge(alert.id)  # changes nothing: no record
    await store.alerts.resolve(alert.id)
    rule = await store.protection_rules.create(
        vault_id=vault.id, name="stop", conditions={"ltv_above": 80}, actions=[], cooldown=0
    )
    await store.protection_rules.mark_triggered(rule.id)
    assert summary(await history(store, "alerts", alert.id)) == [
        ("alerts.insert", WriteKind.INSERT, None, 1, 1),
        ("alerts.acknowledge", WriteKind.UPDATE, 1, 2, 1),
        ("alerts.resolve", WriteKind.UPDATE, 2, 3, 1),
    ]
    triggered = (await history(store, "protection_rules", rule.id))[-1]
    assert triggered.operation == "protection_rules.mark_triggered"
    assert triggered.changes["trigger_count"] == FieldChange(0, 1)


async def test_a_delete_records_the_old_values_and_its_cascade(store: AsyncStore) -> None:
    vault = await make_vault(store)
    alert = await store.alerts.create(
        vault_id=vault.id,
        alert_type=AlertType.LTV_WARNING,
        severity=AlertSeverity.HIGH,
        message="going",
    )
    await store.vaults.delete(vault.id)
    deleted = (await history(store, "vaults", vault.id))[-1]
    assert (deleted.operation, deleted.action, deleted.version_before) == (
        "vaults.delete",
        WriteKind.DELETE,
        1,
    )
    assert deleted.version_after is None
    assert deleted.changes["ltv"] == FieldChange(Decimal("50.00"), None)
    cascaded = (await history(store, "alerts", alert.id))[-1]
    assert (cascaded.operation, cascaded.action) == ("vaults.delete", WriteKind.DELETE)
    assert cascaded.changes["message"] == FieldChange("going", None)


async def test_a_write_rolled_back_leaves_no_record(store: AsyncStore) -> None:
    vault = await make_vault(store)
    with pytest.raises(RuntimeError):
        async with store.transaction() as tx:
            await tx.vaults.update_vault_metrics(vault.id, 99, 1)
            raise RuntimeError("changed my mind")
    assert len(await history(store, "vaults", vault.id)) == 1
    with pytest.raises(NotFoundError):
        await store.vaults.update_vault_metrics("no-such-vault", 1, 1)
    assert list(await store.audit.history("vaults", "no-such-vault")) == []


async def test_a_committed_transaction_has_a_record_per_write(store: AsyncStore) -> None:
    vault = await make_vault(store)
    async with store.transaction() as tx:
        locked = await tx.vaults.lock(vault.id)  # a lock writes nothing
        await tx.vaults.update_vault_metrics(locked.id, 55, 2)
        await tx.vaults.update_vault_metrics(locked.id, 56, 2)
    assert summary(await history(store, "vaults", vault.id))[1:] == [
        ("vaults.update_metrics", WriteKind.UPDATE, 1, 2, 1),
        ("vaults.update_metrics", WriteKind.UPDATE, 2, 3, 1),
    ]


async def test_reads_leave_no_record(store: AsyncStore) -> None:
    vault = await make_vault(store)
    await store.vaults.find_by_id(vault.id)
    await store.vaults.find_high_risk_vaults(0)
    await store.vaults.list()
    assert len(await history(store, "vaults", vault.id)) == 1


async def test_a_batch_is_one_record_with_its_count(store: AsyncStore) -> None:
    actor = store.scoped(actor="price-feed")
    at = datetime(2026, 1, 5, tzinfo=UTC)
    stored = await actor.market_data.bulk_insert(
        {
            "token": "ETH",
            "chain_id": 1,
            "price_usd": Decimal(2000 + i),
            "recorded_at": at + timedelta(minutes=i),
        }
        for i in range(5)
    )
    assert stored == 5
    (record,) = await store.audit.by_actor("price-feed")
    assert (record.operation, record.action, record.count) == (
        "market_data.insert_many",
        WriteKind.INSERT,
        5,
    )
    assert (record.entity_type, record.entity_id, record.changes) == ("market_data", None, {})


async def test_a_batch_of_metrics_is_one_record_counting_the_vaults_found(
    store: AsyncStore,
) -> None:
    vaults = [await make_vault(store, f"batch-{i}") for i in range(3)]
    engine = store.scoped(actor="risk-engine")
    result = await engine.vaults.update_metrics_many(
        [(v.id, Decimal("60.5"), Decimal("1.5")) for v in vaults] + [("missing", 1, 1)]
    )
    assert result.updated == 3
    (record,) = await store.audit.by_actor("risk-engine")
    assert (record.operation, record.action, record.count, record.entity_id) == (
        "vaults.update_metrics_many",
        WriteKind.UPDATE,
        3,
        None,
    )
    for vault in vaults:  # no record per vault: the batch's is the record
        assert len(await history(store, "vaults", vault.id)) == 1


async def test_documents_put_and_delete_are_recorded(store: AsyncStore) -> None:
    vault = await make_vault(store)
    document = await store.documents.put("vault", vault.id, "report.txt", b"all well")
    await store.documents.delete(document.id)
    records = await history(store, "documents", document.id)
    assert [(r.action, r.count) for r in records] == [
        (WriteKind.INSERT, 1),
        (WriteKind.DELETE, 1),
    ]
    assert records[0].changes["name"] == FieldChange(None, "report.txt")
    assert records[0].changes["length"] == FieldChange(None, 8)


async def test_audit_off_records_nothing_and_says_so(
    store: AsyncStore, caplog: pytest.LogCaptureFixture
) -> None:
    vault = await make_vault(store)
    with caplog.at_level(logging.WARNING, logger="vaultstore"):
        backfill = store.scoped(audit=False)
    assert "audit trail is off" in caplog.text
    await backfill.vaults.update_vault_metrics(vault.id, 70, 1)
    await backfill.market_data.bulk_insert(
        [{"token": "BTC", "chain_id": 1, "price_usd": 1, "recorded_at": datetime.now(UTC)}]
    )
    assert len(await history(store, "vaults", vault.id)) == 1
    await store.vaults.update_vault_metrics(vault.id, 71, 1)  # the store itself audits on
    assert len(await history(store, "vaults", vault.id)) == 2


async def test_history_pages_follow_the_cursor(store: AsyncStore) -> None:
    vault = await make_vault(store)
    for ltv in (51, 52, 53):
        await store.vaults.update_vault_metrics(vault.id, ltv, 2)
    seen: list[AuditRecord] = []
    after = None
    for _ in range(10):
        page = await store.audit.history("vaults", vault.id, limit=1, after=after)
        seen.extend(page)
        after = page.next_cursor
        if after is None:
            break
    assert [r.version_after for r in seen] == [1, 2, 3, 4]
    assert seen == await history(store, "vaults", vault.id)


async def test_history_takes_the_entity_class(store: AsyncStore) -> None:
    vault = await make_vault(store)
    by_class = list(await store.audit.history(CreditVault, vault.id))
    assert [r.entity_id for r in by_class] == [vault.id]  # the insert's record
    assert by_class == list(await store.audit.history("vaults", vault.id))


async def test_by_actor_keeps_to_since_and_until(store: AsyncStore) -> None:
    engine = store.scoped(actor="engine-7")
    vault = await make_vault(engine)
    await engine.vaults.update_vault_metrics(vault.id, 60, 2)
    every = list(await store.audit.by_actor("engine-7"))
    assert [r.operation for r in every] == [
        "agents.insert",
        "vaults.insert",
        "vaults.update_metrics",
    ]
    last = every[-1].at
    assert (
        list(await store.audit.by_actor("engine-7", since=last + timedelta(milliseconds=1))) == []
    )
    assert list(await store.audit.by_actor("engine-7", until=every[0].at)) == []
    assert list(await store.audit.by_actor("someone-else")) == []


async def test_another_tenant_sees_none_of_the_records(store: AsyncStore) -> None:
    acme = store.scoped(tenant="acme", actor="desk-a")
    vault = await make_vault(acme)
    assert len(await history(acme, "vaults", vault.id)) == 1
    other = store.scoped(tenant="globex", actor="desk-a")
    assert await history(other, "vaults", vault.id) == []
    assert list(await other.audit.by_actor("desk-a")) == []


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda s: s.audit.history("nope", "x"), "entity_type"),
        (lambda s: s.audit.history(dict, "x"), "entity_type"),
        (lambda s: s.audit.history("vaults", 5), "entity_id"),
        (lambda s: s.audit.history("vaults", "x", limit=0), "limit"),
        (lambda s: s.audit.history("vaults", "x", after="garbage"), "after"),
        (lambda s: s.audit.by_actor(""), "actor"),
        (lambda s: s.audit.by_actor("a", since=datetime(2026, 1, 1)), "since"),
    ],
)
async def test_bad_arguments_are_refused_before_any_io(
    store: AsyncStore, call: Any, field: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        await call(store)
    assert refused.value.field == field
