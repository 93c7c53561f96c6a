"""Strings crafted as SQL injection are plain data: stored and matched back exactly in
every string parameter, never run (async source of tests/_sync/test_injection.py).

Each test starts from a few ordinary rows (the canary) that an injected ``OR '1'='1'``
would match and an injected ``DROP`` or ``DELETE`` would remove; they must come back
unchanged, which also proves that every table still exists.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from vaultstore import LiquidationProtection, NewMarketData, NotFoundError, TokenAmount
from vaultstore._async.contracts import AsyncStore

T0 = datetime(2026, 1, 1, tzinfo=UTC)

PAYLOADS = [
    "x'; DROP TABLE agents; --",
    "' OR '1'='1",
    "\\'; SELECT pg_sleep(1); --",
    "%(id)s",
    "%s",
    ":id",
    "$1",
    "\u2019 OR \u20181\u2019=\u20181",  # typographic quotes
    "\uff07; DROP TABLE credit_vaults; --",  # fullwidth apostrophe
    '"; DROP TABLE market_data; --',
    "1; DELETE FROM risk_alerts WHERE '1'='1'",
    "a' || (SELECT version()) || 'b",
]
JSON_KEY_PAYLOADS = [p for p in PAYLOADS if not p.startswith("$") and "." not in p]
"""Payloads that are valid JSON keys: a key may not start with $ or hold a dot
(MongoDB's rule, kept on both backends)."""

REPOSITORIES = ["agents", "vaults", "alerts", "liquidations", "protection_rules", "market_data"]


def token(symbol: str) -> TokenAmount:
    return TokenAmount(token=symbol, amount="1.5", value_usd=3000)


async def create_all(store: AsyncStore, text: str) -> dict[str, Any]:
    """One entity per repository, with ``text`` in every free string field."""
    agent = await store.agents.create(name=text, credibility_score=500)
    vault = await store.vaults.create(
        agent_id=agent.id,
        chain_id=1,
        collateral=token(text),
        debt=token(text),
        ltv=50,
        health_factor=2,
        max_ltv=70,
        liquidation_protection=LiquidationProtection(threshold=60),
    )
    return {
        "agents": agent,
        "vaults": vault,
        "alerts": await store.alerts.create(
            vault_id=vault.id, alert_type="ltv_warning", severity="high", message=text
        ),
        "liquidations": await store.liquidations.create(
            vault_id=vault.id,
            chain_id=1,
            collateral_seized=token(text),
            debt_repaid=token(text),
            ltv=90,
            health_factor="0.9",
            liquidator=text,
            tx_hash=text,
            occurred_at=T0,
        ),
        "protection_rules": await store.protection_rules.create(
            vault_id=vault.id,
            name=text,
            conditions={"note": text, "nested": {"deep": text}},
            actions=[{"type": text}],
        ),
        "market_data": await store.market_data.create(
            token=text, chain_id=1, price_usd="2000.5", source=text, recorded_at=T0
        ),
    }


async def stored_now(store: AsyncStore, entities: dict[str, Any]) -> dict[str, Any]:
    """What is stored now under the ids of ``entities``."""
    return {
        repository: await getattr(store, repository).find_by_id(entity.id)
        for repository, entity in entities.items()
    }


@pytest.fixture
async def canary(store: AsyncStore) -> dict[str, Any]:
    return await create_all(store, "canary")


@pytest.mark.parametrize("payload", PAYLOADS)
async def test_payload_in_every_string_parameter_is_stored_and_matched_exactly(
    store: AsyncStore, canary: dict[str, Any], payload: str
) -> None:
    made = await create_all(store, payload)
    agent, vault, alert = made["agents"], made["vaults"], made["alerts"]
    event, rule, price = made["liquidations"], made["protection_rules"], made["market_data"]

    assert await stored_now(store, made) == made
    assert (agent.name, vault.collateral.token, vault.debt.token) == (payload,) * 3
    assert (alert.message, event.liquidator, event.tx_hash) == (payload,) * 3
    assert (rule.name, rule.conditions["nested"]["deep"], rule.actions) == (
        payload,
        payload,
        [{"type": payload}],
    )
    assert (price.token, price.source) == (payload, payload)
    assert await store.agents.find_by_name(payload) == agent
    assert list(await store.vaults.find_by_agent_id(agent.id)) == [vault]
    assert list(await store.alerts.find_by_vault(vault.id)) == [alert]
    assert list(await store.liquidations.find_by_vault(vault.id)) == [event]
    assert list(await store.protection_rules.find_by_conditions({"note": payload})) == [rule]
    assert await store.market_data.latest_price(payload, 1) == price
    assert list(await store.market_data.history(payload, 1)) == [price]
    assert await stored_now(store, canary) == canary


async def test_payloads_as_lookup_arguments_match_nothing(
    store: AsyncStore, canary: dict[str, Any]
) -> None:
    lookups: dict[str, Callable[[str], Any]] = {
        "agents.find_by_id": store.agents.find_by_id,
        "vaults.find_by_id": store.vaults.find_by_id,
        "alerts.find_by_id": store.alerts.find_by_id,
        "liquidations.find_by_id": store.liquidations.find_by_id,
        "protection_rules.find_by_id": store.protection_rules.find_by_id,
        "market_data.find_by_id": store.market_data.find_by_id,
        "agents.find_by_name": store.agents.find_by_name,
        "vaults.find_by_agent_id": store.vaults.find_by_agent_id,
        "alerts.find_by_vault": store.alerts.find_by_vault,
        "alerts.find_open_by_vault": store.alerts.find_open_by_vault,
        "liquidations.find_by_vault": store.liquidations.find_by_vault,
        "protection_rules.find_enabled_for_vault": store.protection_rules.find_enabled_for_vault,
        "protection_rules.find_by_conditions": lambda p: store.protection_rules.find_by_conditions(
            {"note": p}
        ),
        "market_data.latest_price": lambda p: store.market_data.latest_price(p, 1),
        "market_data.history": lambda p: store.market_data.history(p, 1),
    }
    found = {}
    for payload in PAYLOADS:
        for name, lookup in lookups.items():
            result = await lookup(payload)
            if result is not None and result != []:
                found[f"{name}({payload!r})"] = result
    assert found == {}
    assert await stored_now(store, canary) == canary


async def test_payloads_as_ids_of_writes_touch_nothing(
    store: AsyncStore, canary: dict[str, Any]
) -> None:
    writes: list[tuple[str, Callable[..., Any], dict[str, Any]]] = [
        ("agents.update", store.agents.update, {"credibility_score": 1}),
        ("vaults.update", store.vaults.update, {"ltv": 1}),
        (
            "vaults.update_vault_metrics",
            store.vaults.update_vault_metrics,
            {"ltv": 1, "health_factor": 1},
        ),
        ("alerts.update", store.alerts.update, {"message": "x"}),
        ("alerts.acknowledge", store.alerts.acknowledge, {}),
        ("alerts.resolve", store.alerts.resolve, {}),
        ("liquidations.update", store.liquidations.update, {"liquidator": "x"}),
        ("protection_rules.update", store.protection_rules.update, {"priority": 1}),
        ("protection_rules.mark_triggered", store.protection_rules.mark_triggered, {}),
        ("market_data.update", store.market_data.update, {"price_usd": 1}),
        *((f"{r}.delete", getattr(store, r).delete, {}) for r in REPOSITORIES),
    ]
    outcomes = {}
    for payload in PAYLOADS:
        for name, write, arguments in writes:
            try:
                await write(payload, **arguments)
            except NotFoundError:
                continue
            outcomes[f"{name}({payload!r})"] = "did not raise NotFoundError"
    assert outcomes == {}
    assert await stored_now(store, canary) == canary


async def test_payloads_given_to_update_are_stored_exactly(
    store: AsyncStore, canary: dict[str, Any]
) -> None:
    made = await create_all(store, "before")
    for payload in PAYLOADS:
        changed: dict[str, Any] = {
            "agents": await store.agents.update(made["agents"].id, name=payload),
            "alerts": await store.alerts.update(made["alerts"].id, message=payload),
            "liquidations": await store.liquidations.update(
                made["liquidations"].id, liquidator=payload, collateral_seized=token(payload)
            ),
            "protection_rules": await store.protection_rules.update(
                made["protection_rules"].id,
                name=payload,
                conditions={"note": payload},
                actions=[{"type": payload}],
            ),
            "vaults": await store.vaults.update(made["vaults"].id, debt=token(payload)),
        }
        assert await stored_now(store, changed) == changed, payload
        assert changed["agents"].name == payload
        assert changed["alerts"].message == payload
        assert changed["liquidations"].collateral_seized.token == payload
        assert changed["protection_rules"].conditions == {"note": payload}
        assert changed["vaults"].debt.token == payload
    assert await stored_now(store, canary) == canary


async def test_payloads_as_json_keys_are_plain_data(
    store: AsyncStore, canary: dict[str, Any]
) -> None:
    vault = canary["vaults"]
    rules = {
        key: await store.protection_rules.create(
            vault_id=vault.id,
            name=f"rule {i}",
            conditions={key: "value", "nested": {key: [key]}},
            actions=[{key: key}],
        )
        for i, key in enumerate(JSON_KEY_PAYLOADS)
    }
    for key, rule in rules.items():
        assert await store.protection_rules.find_by_id(rule.id) == rule
        assert rule.conditions == {key: "value", "nested": {key: [key]}}
        matching = await store.protection_rules.find_by_conditions({key: "value"})
        assert [r.id for r in matching] == [rule.id], key
    assert await stored_now(store, canary) == canary


async def test_payloads_in_bulk_insert_are_stored_exactly(
    store: AsyncStore, canary: dict[str, Any]
) -> None:
    records: list[NewMarketData] = [
        {"token": p, "chain_id": 1, "price_usd": i + 1, "source": p, "recorded_at": T0}
        for i, p in enumerate(PAYLOADS)
    ]
    assert await store.market_data.bulk_insert(records) == len(PAYLOADS)
    latest = {p: await store.market_data.latest_price(p, 1) for p in PAYLOADS}
    assert {p: (r.token, r.source) if r else None for p, r in latest.items()} == {
        p: (p, p) for p in PAYLOADS
    }
    assert await stored_now(store, canary) == canary
