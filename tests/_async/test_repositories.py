"""The repository contract, against a real database (async source of
tests/_sync/test_repositories.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from vaultstore import (
    AlertSeverity,
    AlertStatus,
    AlertType,
    ChainId,
    ConflictError,
    CredibilityTier,
    CreditVault,
    LiquidationProtection,
    NewMarketData,
    NotFoundError,
    TokenAmount,
    ValidationError,
)
from vaultstore._async.contracts import AsyncStore

T0 = datetime(2026, 1, 1, tzinfo=UTC)


async def make_vault(
    store: AsyncStore, agent_id: str | None = None, **overrides: Any
) -> CreditVault:
    if agent_id is None:
        agent = await store.agents.create(
            name=f"agent-{overrides.pop('tag', 'x')}", credibility_score=500
        )
        agent_id = agent.id
    fields: dict[str, Any] = {
        "agent_id": agent_id,
        "chain_id": ChainId.ETHEREUM,
        "collateral": TokenAmount(token="ETH", amount=10, value_usd=20000),
        "debt": TokenAmount(token="USDC", amount=10000, value_usd=10000),
        "ltv": 50,
        "health_factor": 2.0,
        "max_ltv": 70,
        "liquidation_protection": LiquidationProtection(
            enabled=True, threshold=59.5, cooldown=3600
        ),
    }
    fields.update(overrides)
    return await store.vaults.create(**fields)


async def test_usage_example_runs_as_written(store: AsyncStore) -> None:
    agent = await store.agents.create(name="agent_123", credibility_score=720)
    vault = await store.vaults.create(
        agent_id=agent.id,
        chain_id=ChainId.ETHEREUM,
        collateral=TokenAmount(token="ETH", amount=10, value_usd=20000),
        debt=TokenAmount(token="USDC", amount=10000, value_usd=10000),
        ltv=50,
        health_factor=2.0,
        max_ltv=70,
        liquidation_protection=LiquidationProtection(enabled=True, threshold=59.5, cooldown=3600),
    )
    high_risk = await store.vaults.find_high_risk_vaults(80)
    on_ethereum = await store.vaults.find_by_chain_id(ChainId.ETHEREUM)
    updated = await store.vaults.update_vault_metrics(vault.id, 55, 1.8)

    assert list(high_risk) == []
    assert [v.id for v in on_ethereum] == [vault.id]
    assert updated.ltv == Decimal("55")
    assert updated.health_factor == Decimal("1.8")
    assert updated.updated_at >= vault.updated_at
    assert await store.vaults.find_by_id(vault.id) == updated


async def test_created_vault_round_trips_exactly(store: AsyncStore) -> None:
    vault = await make_vault(store)
    found = await store.vaults.find_by_id(vault.id)
    assert found == vault
    assert str(found.liquidation_protection.threshold) == "59.5"
    assert str(found.health_factor) == "2.0"
    assert found.created_at.tzinfo is not None
    assert found.created_at.microsecond % 1000 == 0


async def test_agent_tier_is_derived_from_score_by_the_database(store: AsyncStore) -> None:
    for score, tier in [
        (0, "poor"),
        (399, "poor"),
        (400, "fair"),
        (600, "good"),
        (799, "good"),
        (800, "excellent"),
        (1000, "excellent"),
    ]:
        agent = await store.agents.create(name=f"tier-{score}", credibility_score=score)
        assert agent.credibility_tier == CredibilityTier(tier)
        assert CredibilityTier.for_score(score) == agent.credibility_tier


async def test_find_by_id_of_unknown_id_is_none(store: AsyncStore) -> None:
    assert await store.vaults.find_by_id("01NOTANIDATALL000000000000") is None
    assert await store.agents.find_by_id("") is None


async def test_vault_for_unknown_agent_is_not_found(store: AsyncStore) -> None:
    with pytest.raises(NotFoundError) as info:
        await make_vault(store, agent_id="01UNKNOWNAGENT000000000000")
    assert "agent_id" in str(info.value)
    assert len(await store.vaults.list()) == 0


async def test_duplicate_agent_name_is_a_conflict(store: AsyncStore) -> None:
    await store.agents.create(name="twin", credibility_score=10)
    with pytest.raises(ConflictError):
        await store.agents.create(name="twin", credibility_score=20)


async def test_high_risk_vaults_are_riskiest_first_and_paginate(store: AsyncStore) -> None:
    agent = await store.agents.create(name="risky", credibility_score=300)
    ltvs = ["79.99", "80", "85.5", "90", "95", "80"]
    for ltv in ltvs:
        await make_vault(
            store,
            agent.id,
            ltv=ltv,
            max_ltv=96,
            liquidation_protection=LiquidationProtection(threshold=70),
        )
    first = await store.vaults.find_high_risk_vaults(80, limit=2)
    assert [str(v.ltv) for v in first] == ["95", "90"]
    assert first.next_cursor is not None
    second = await store.vaults.find_high_risk_vaults(80, limit=2, after=first.next_cursor)
    assert [str(v.ltv) for v in second] == ["85.5", "80"]
    third = await store.vaults.find_high_risk_vaults(80, limit=2, after=second.next_cursor)
    assert [str(v.ltv) for v in third] == ["80"]
    assert third.next_cursor is None
    seen = [v.id for v in [*first, *second, *third]]
    assert len(set(seen)) == 5


async def test_find_by_agent_and_chain_list_in_creation_order(store: AsyncStore) -> None:
    a = await store.agents.create(name="a", credibility_score=1)
    b = await store.agents.create(name="b", credibility_score=1)
    a1 = await make_vault(store, a.id)
    b1 = await make_vault(store, b.id, chain_id=ChainId.BASE)
    a2 = await make_vault(store, a.id, chain_id=ChainId.BASE)
    assert [v.id for v in await store.vaults.find_by_agent_id(a.id)] == [a1.id, a2.id]
    assert [v.id for v in await store.vaults.find_by_chain_id(8453)] == [b1.id, a2.id]
    page = await store.vaults.list(limit=2)
    assert [v.id for v in page] == [a1.id, b1.id]
    rest = await store.vaults.list(limit=2, after=page.next_cursor)
    assert [v.id for v in rest] == [a2.id]
    assert rest.next_cursor is None


async def test_update_changes_fields_and_keeps_the_rest(store: AsyncStore) -> None:
    vault = await make_vault(store)
    updated = await store.vaults.update(vault.id, status="at_risk", max_ltv=80)
    assert updated.status.value == "at_risk"
    assert updated.max_ltv == 80
    assert updated.collateral == vault.collateral
    assert updated.created_at == vault.created_at


async def test_update_checks_rules_across_fields(store: AsyncStore) -> None:
    vault = await make_vault(store)
    with pytest.raises(ValidationError) as info:
        await store.vaults.update(vault.id, max_ltv=50)  # below the 59.5 threshold
    assert info.value.field == "liquidation_protection.threshold"
    assert await store.vaults.find_by_id(vault.id) == vault


async def test_update_and_delete_of_unknown_id_are_not_found(store: AsyncStore) -> None:
    with pytest.raises(NotFoundError):
        await store.vaults.update("nope", ltv=1)
    with pytest.raises(NotFoundError):
        await store.vaults.update_vault_metrics("nope", 1, 1)
    with pytest.raises(NotFoundError):
        await store.agents.delete("nope")


async def test_delete_agent_with_vaults_is_a_conflict(store: AsyncStore) -> None:
    vault = await make_vault(store)
    with pytest.raises(ConflictError):
        await store.agents.delete(vault.agent_id)
    await store.vaults.delete(vault.id)
    await store.agents.delete(vault.agent_id)
    assert await store.agents.find_by_id(vault.agent_id) is None


async def test_alerts_open_acknowledge_resolve(store: AsyncStore) -> None:
    vault = await make_vault(store)
    alert = await store.alerts.create(
        vault_id=vault.id, alert_type=AlertType.LTV_WARNING, severity="high", message="LTV 75%"
    )
    assert alert.status is AlertStatus.OPEN
    assert [a.id for a in await store.alerts.find_open_by_vault(vault.id)] == [alert.id]
    acked = await store.alerts.acknowledge(alert.id)
    assert acked.status is AlertStatus.ACKNOWLEDGED
    assert acked.acknowledged_at is not None
    again = await store.alerts.acknowledge(alert.id)
    assert again.acknowledged_at == acked.acknowledged_at
    assert [a.id for a in await store.alerts.find_open_by_severity(AlertSeverity.HIGH)] == [
        alert.id
    ]
    resolved = await store.alerts.resolve(alert.id)
    assert resolved.status is AlertStatus.RESOLVED
    assert resolved.resolved_at is not None
    assert list(await store.alerts.find_open_by_vault(vault.id)) == []
    assert list(await store.alerts.find_open_by_severity("high")) == []
    assert [a.id for a in await store.alerts.find_by_vault(vault.id)] == [alert.id]
    assert (await store.alerts.resolve(alert.id)).resolved_at == resolved.resolved_at
    with pytest.raises(ConflictError):
        await store.alerts.acknowledge(alert.id)
    with pytest.raises(NotFoundError):
        await store.alerts.resolve("nope")


async def test_liquidations_by_vault_and_time_range(store: AsyncStore) -> None:
    vault = await make_vault(store)
    events = []
    for hours in (0, 1, 2, 3):
        events.append(
            await store.liquidations.create(
                vault_id=vault.id,
                chain_id=ChainId.ETHEREUM,
                collateral_seized=TokenAmount(token="ETH", amount="1.5", value_usd=3000),
                debt_repaid=TokenAmount(token="USDC", amount=2800, value_usd=2800),
                penalty_usd=200,
                ltv="86.1",
                health_factor="0.97",
                liquidator="0xabc",
                tx_hash=f"0x{hours}",
                occurred_at=T0 + timedelta(hours=hours),
            )
        )
    window = await store.liquidations.find_by_vault(
        vault.id, since=T0 + timedelta(hours=1), until=T0 + timedelta(hours=3)
    )
    assert [e.id for e in window] == [events[1].id, events[2].id]
    page = await store.liquidations.find_between(T0, T0 + timedelta(days=1), limit=3)
    assert [e.id for e in page] == [e.id for e in events[:3]]
    rest = await store.liquidations.find_between(
        T0, T0 + timedelta(days=1), limit=3, after=page.next_cursor
    )
    assert [e.id for e in rest] == [events[3].id]
    with pytest.raises(ConflictError):
        await store.liquidations.create(
            vault_id=vault.id,
            chain_id=1,
            collateral_seized=events[0].collateral_seized,
            debt_repaid=events[0].debt_repaid,
            ltv=90,
            health_factor=0.9,
            liquidator="0xdef",
            tx_hash="0x0",
            occurred_at=T0,
        )
    with pytest.raises(ConflictError):
        await store.vaults.delete(vault.id)  # liquidation history is kept


async def test_protection_rule_trigger_respects_cooldown(store: AsyncStore) -> None:
    vault = await make_vault(store)
    rule = await store.protection_rules.create(
        vault_id=vault.id,
        name="repay",
        conditions={"ltv_gte": 85, "chain": "ethereum"},
        actions=[{"type": "repay", "percent": 25}],
        cooldown=3600,
    )
    no_cooldown = await store.protection_rules.create(
        vault_id=vault.id,
        name="notify",
        conditions={"ltv_gte": 70},
        actions=[{"type": "notify"}],
        cooldown=0,
        priority=10,
    )
    fired = await store.protection_rules.mark_triggered(rule.id)
    assert fired is not None
    assert fired.trigger_count == 1
    assert fired.last_triggered_at is not None
    assert await store.protection_rules.mark_triggered(rule.id) is None  # cooling down
    assert (await store.protection_rules.mark_triggered(no_cooldown.id)) is not None
    assert (await store.protection_rules.mark_triggered(no_cooldown.id)).trigger_count == 2  # type: ignore[union-attr]
    with pytest.raises(NotFoundError):
        await store.protection_rules.mark_triggered("nope")
    enabled = await store.protection_rules.find_enabled_for_vault(vault.id)
    assert [r.id for r in enabled] == [no_cooldown.id, rule.id]  # highest priority first
    await store.protection_rules.update(rule.id, enabled=False)
    assert [r.id for r in await store.protection_rules.find_enabled_for_vault(vault.id)] == [
        no_cooldown.id
    ]
    matching = await store.protection_rules.find_by_conditions({"chain": "ethereum"})
    assert [r.id for r in matching] == [rule.id]
    stored = await store.protection_rules.find_by_id(rule.id)
    assert stored is not None
    assert stored.conditions == {"ltv_gte": 85, "chain": "ethereum"}


async def test_market_data_latest_history_and_bulk_insert(store: AsyncStore) -> None:
    count = await store.market_data.bulk_insert(
        [
            {
                "token": "ETH",
                "chain_id": ChainId.ETHEREUM,
                "price_usd": f"{2000 + i}.5",
                "source": "feed",
                "recorded_at": T0 + timedelta(minutes=i),
            }
            for i in range(10)
        ]
    )
    assert count == 10
    await store.market_data.create(
        token="ETH", chain_id=ChainId.BASE, price_usd=1, recorded_at=T0 + timedelta(days=1)
    )
    latest = await store.market_data.latest_price("ETH", ChainId.ETHEREUM)
    assert latest is not None
    assert latest.price_usd == Decimal("2009.5")
    assert await store.market_data.latest_price("BTC", ChainId.ETHEREUM) is None
    history = await store.market_data.history(
        "ETH", 1, since=T0 + timedelta(minutes=2), until=T0 + timedelta(minutes=6), limit=3
    )
    assert [str(r.price_usd) for r in history] == ["2002.5", "2003.5", "2004.5"]
    more = await store.market_data.history(
        "ETH",
        1,
        since=T0 + timedelta(minutes=2),
        until=T0 + timedelta(minutes=6),
        limit=3,
        after=history.next_cursor,
    )
    assert [str(r.price_usd) for r in more] == ["2005.5"]
    assert more.next_cursor is None


async def test_bulk_insert_is_all_or_nothing(store: AsyncStore) -> None:
    good: NewMarketData = {"token": "ETH", "chain_id": 1, "price_usd": 1, "recorded_at": T0}
    bad: NewMarketData = {**good, "price_usd": -1}
    with pytest.raises(ValidationError) as info:
        await store.market_data.bulk_insert([good, bad])
    assert info.value.field == "records[1].price_usd"
    with pytest.raises(ConflictError):
        await store.market_data.bulk_insert([good, good])  # same token, chain, source, time
    assert len(await store.market_data.list()) == 0


async def test_transaction_commits_together(store: AsyncStore) -> None:
    async with store.transaction() as tx:
        agent = await tx.agents.create(name="tx", credibility_score=100)
        vault = await make_vault(tx, agent.id)  # type: ignore[arg-type]
    assert await store.vaults.find_by_id(vault.id) == vault


async def test_failure_inside_transaction_leaves_nothing_written(store: AsyncStore) -> None:
    with pytest.raises(NotFoundError):
        async with store.transaction() as tx:
            await tx.agents.create(name="rolled-back", credibility_score=100)
            await make_vault(tx, agent_id="missing")  # type: ignore[arg-type]
    assert await store.agents.find_by_name("rolled-back") is None

    class Boom(Exception):
        pass

    with pytest.raises(Boom):
        async with store.transaction() as tx:
            await tx.agents.create(name="also-rolled-back", credibility_score=100)
            raise Boom
    assert await store.agents.find_by_name("also-rolled-back") is None


async def test_risk_summary_by_chain(store: AsyncStore) -> None:
    agent = await store.agents.create(name="sum", credibility_score=1)
    await make_vault(store, agent.id, ltv=50)
    await make_vault(store, agent.id, ltv=90, max_ltv=95)
    await make_vault(store, agent.id, chain_id=ChainId.BASE, ltv=85, max_ltv=90)
    summary = {s.chain_id: s for s in await store.vaults.risk_summary_by_chain(80)}
    assert summary[ChainId.ETHEREUM].vault_count == 2
    assert summary[ChainId.ETHEREUM].total_collateral_usd == Decimal(40000)
    assert summary[ChainId.ETHEREUM].total_debt_usd == Decimal(20000)
    assert summary[ChainId.ETHEREUM].average_ltv == Decimal(70)
    assert summary[ChainId.ETHEREUM].at_risk_count == 1
    assert summary[ChainId.BASE].at_risk_count == 1


async def test_ping_and_pool_stats(store: AsyncStore) -> None:
    assert await store.ping() > 0
    before = store.pool_stats()
    for _ in range(5):
        await store.agents.find_by_name("nobody")
    stats = store.pool_stats()
    # The same gauges on both backends (MongoDB's counted from pymongo's pool events).
    assert {"pool_min", "pool_max", "pool_size", "pool_available", "requests_waiting"} <= set(stats)
    assert stats["pool_max"] == 4
    assert 1 <= stats["pool_size"] <= 4  # open connections
    assert 0 <= stats["pool_available"] <= stats["pool_size"]  # idle ones: none in use now
    assert stats["requests_waiting"] == 0
    assert stats.get("requests_num", 0) >= before.get("requests_num", 0)


async def test_a_rule_without_cooldown_fires_every_time_even_within_a_millisecond(
    store: AsyncStore,
) -> None:
    vault = await make_vault(store)
    rule = await store.protection_rules.create(
        vault_id=vault.id, name="always", conditions={}, actions=[], cooldown=0
    )
    fired = [await store.protection_rules.mark_triggered(rule.id) for _ in range(40)]
    assert [r.trigger_count if r else None for r in fired] == list(range(1, 41))
