"""Bad input is refused before any write, naming the field at fault; unknown ids are
not found; a failed transaction writes nothing (async source of
tests/_sync/test_bad_input.py)."""

from __future__ import annotations

import base64
import contextlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

import pytest

from vaultstore import (
    Agent,
    ConflictError,
    CreditVault,
    DatabaseError,
    LiquidationEvent,
    MarketData,
    NotFoundError,
    ProtectionRule,
    RiskAlert,
    ValidationError,
    VaultStoreError,
)
from vaultstore._async.contracts import AsyncStore

T0 = datetime(2026, 1, 1, tzinfo=UTC)
T1 = T0 + timedelta(days=1)
NAIVE = datetime(2026, 1, 1)  # no timezone: the bad input under test
NAN = float("nan")
INF = float("inf")
UNKNOWN_ID = "01UNKNOWNID000000000000000"
MISSING: Any = object()
"""An override that removes the field, for "missing required field" cases."""


def merged(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in {**base, **overrides}.items() if v is not MISSING}


def tokens(**overrides: Any) -> dict[str, Any]:
    """A TokenAmount given as a mapping, as create() and update() also accept."""
    return merged({"token": "ETH", "amount": 10, "value_usd": 20000}, overrides)


def agent_fields(**overrides: Any) -> dict[str, Any]:
    return merged({"name": "agent", "credibility_score": 500}, overrides)


def vault_fields(agent_id: str, /, **overrides: Any) -> dict[str, Any]:
    base = {
        "agent_id": agent_id,
        "chain_id": 1,
        "collateral": tokens(),
        "debt": tokens(token="USDC", amount=10000, value_usd=10000),
        "ltv": 50,
        "health_factor": "2.0",
        "max_ltv": 70,
        "liquidation_protection": {"enabled": True, "threshold": "59.5", "cooldown": 3600},
    }
    return merged(base, overrides)


def alert_fields(vault_id: str, /, **overrides: Any) -> dict[str, Any]:
    base = {
        "vault_id": vault_id,
        "alert_type": "ltv_warning",
        "severity": "high",
        "message": "LTV 75%",
    }
    return merged(base, overrides)


def liquidation_fields(vault_id: str, /, **overrides: Any) -> dict[str, Any]:
    base = {
        "vault_id": vault_id,
        "chain_id": 1,
        "collateral_seized": tokens(amount="1.5", value_usd=3000),
        "debt_repaid": tokens(token="USDC", amount=2800, value_usd=2800),
        "penalty_usd": 200,
        "ltv": "86.1",
        "health_factor": "0.97",
        "liquidator": "0xabc",
        "tx_hash": "0x01",
        "occurred_at": T0,
    }
    return merged(base, overrides)


def rule_fields(vault_id: str, /, **overrides: Any) -> dict[str, Any]:
    base = {
        "vault_id": vault_id,
        "name": "repay",
        "conditions": {"ltv_gte": 85},
        "actions": [{"type": "repay", "percent": 25}],
    }
    return merged(base, overrides)


def price_fields(**overrides: Any) -> dict[str, Any]:
    base = {"token": "ETH", "chain_id": 1, "price_usd": "2000.5", "recorded_at": T0}
    return merged(base, overrides)


# Each table of bad inputs below is checked by one test on one store rather than a
# test per row, which would open a connection pool per row; comparing the fields
# refused with the fields expected still names every row that goes wrong.

Case = tuple[str, dict[str, Any], str]


def case(overrides: dict[str, Any], field: str, name: str) -> Case:
    """A bad input (``overrides`` of valid fields) and the field it must be refused on."""
    return (name, overrides, field)


async def raised(call: Callable[[], Any]) -> BaseException | None:
    """What ``call()`` raised, or None."""
    try:
        await call()
    except Exception as exc:  # noqa: BLE001 - the caller reports whatever was raised
        return exc
    return None


def refusal(error: BaseException | None) -> str | None:
    """The field named by a ValidationError; anything else is described, so that a
    comparison with the expected field fails showing it."""
    if error is None:
        return "<accepted>"
    if isinstance(error, ValidationError):
        return error.field
    return f"<{type(error).__name__}: {error}>"


async def refused_fields(
    cases: list[Case], call: Callable[[dict[str, Any]], Callable[[], Any]]
) -> dict[str, str | None]:
    """For each case, the field its ValidationError named (see :func:`refusal`);
    ``call(overrides)`` makes the call that should be refused."""
    return {name: refusal(await raised(call(overrides))) for name, overrides, _ in cases}


def expected_fields(cases: list[Case]) -> dict[str, str | None]:
    return {name: field for name, _, field in cases}


@pytest.fixture
async def agent(store: AsyncStore) -> Agent:
    return await store.agents.create(**agent_fields())


@pytest.fixture
async def vault(store: AsyncStore, agent: Agent) -> CreditVault:
    return await store.vaults.create(**vault_fields(agent.id))


@pytest.fixture
async def alert(store: AsyncStore, vault: CreditVault) -> RiskAlert:
    return await store.alerts.create(**alert_fields(vault.id))


@pytest.fixture
async def liquidation(store: AsyncStore, vault: CreditVault) -> LiquidationEvent:
    return await store.liquidations.create(**liquidation_fields(vault.id))


@pytest.fixture
async def rule(store: AsyncStore, vault: CreditVault) -> ProtectionRule:
    return await store.protection_rules.create(**rule_fields(vault.id))


@pytest.fixture
async def price(store: AsyncStore) -> MarketData:
    return await store.market_data.create(**price_fields())


# -- create() refuses bad values before writing ----------------------------------------

BAD_AGENTS = [
    case({"name": ""}, "name", "empty-name"),
    case({"name": "x" * 201}, "name", "name-too-long"),
    case({"name": 5}, "name", "int-name"),
    case({"name": None}, "name", "none-name"),
    case({"name": "a\x00b"}, "name", "nul-in-name"),
    case({"name": "\ud800"}, "name", "lone-surrogate-in-name"),
    case({"credibility_score": "720"}, "credibility_score", "str-score"),
    case({"credibility_score": True}, "credibility_score", "bool-score"),
    case({"credibility_score": 720.0}, "credibility_score", "float-score"),
    case({"credibility_score": -1}, "credibility_score", "negative-score"),
    case({"credibility_score": 1001}, "credibility_score", "score-above-1000"),
    case({"name": MISSING}, "name", "missing-name"),
    case({"credibility_score": MISSING}, "credibility_score", "missing-score"),
    case({"credibility_tier": "good"}, "credibility_tier", "derived-tier-given"),
    case({"id": "01MYOWNID00000000000000000"}, "id", "id-given"),
    case({"created_at": T0}, "created_at", "created-at-given"),
    case({"nickname": "x"}, "nickname", "unknown-keyword"),
]


async def test_agent_create_refuses_bad_values_before_writing(store: AsyncStore) -> None:
    def create(overrides: dict[str, Any]) -> Callable[[], Any]:
        return partial(store.agents.create, **agent_fields(**overrides))

    assert await refused_fields(BAD_AGENTS, create) == expected_fields(BAD_AGENTS)
    assert len(await store.agents.list()) == 0


BAD_VAULTS = [
    case({"collateral": tokens(amount=-1)}, "collateral.amount", "negative-collateral"),
    case({"collateral": tokens(amount="-0.01")}, "collateral.amount", "negative-str-collateral"),
    case({"debt": tokens(value_usd=-5)}, "debt.value_usd", "negative-debt-value"),
    case({"collateral": tokens(amount=True)}, "collateral.amount", "bool-amount"),
    case({"collateral": tokens(amount=NAN)}, "collateral.amount", "nan-amount"),
    case({"collateral": tokens(amount=INF)}, "collateral.amount", "inf-amount"),
    case({"collateral": tokens(amount="NaN")}, "collateral.amount", "str-nan-amount"),
    case({"collateral": tokens(amount=Decimal("Infinity"))}, "collateral.amount", "decimal-inf"),
    case({"collateral": tokens(amount="ten")}, "collateral.amount", "word-amount"),
    case({"collateral": tokens(amount="1" * 35)}, "collateral.amount", "35-digit-amount"),
    case({"collateral": tokens(amount=MISSING)}, "collateral.amount", "missing-amount"),
    case({"collateral": tokens(token="")}, "collateral.token", "empty-token"),
    case({"debt": tokens(token=7)}, "debt.token", "int-token"),
    case({"collateral": tokens(rate=1)}, "collateral.rate", "unknown-token-field"),
    case({"collateral": "10 ETH"}, "collateral", "str-collateral"),
    case({"ltv": -1}, "ltv", "negative-ltv"),
    case({"ltv": NAN}, "ltv", "nan-ltv"),
    case({"ltv": INF}, "ltv", "inf-ltv"),
    case({"ltv": True}, "ltv", "bool-ltv"),
    case({"ltv": None}, "ltv", "none-ltv"),
    case({"ltv": [50]}, "ltv", "list-ltv"),
    case({"health_factor": "-0.1"}, "health_factor", "negative-health-factor"),
    case({"max_ltv": "100.01"}, "max_ltv", "max-ltv-above-100"),
    case({"max_ltv": 150}, "max_ltv", "max-ltv-150"),
    case({"max_ltv": 0}, "max_ltv", "zero-max-ltv"),
    case({"max_ltv": -5}, "max_ltv", "negative-max-ltv"),
    case(
        {"liquidation_protection": {"threshold": 80}},
        "liquidation_protection.threshold",
        "threshold-above-max-ltv",
    ),
    case(
        {"liquidation_protection": {"threshold": 0}},
        "liquidation_protection.threshold",
        "zero-threshold",
    ),
    case(
        {"liquidation_protection": {"threshold": -1}},
        "liquidation_protection.threshold",
        "negative-threshold",
    ),
    case(
        {"liquidation_protection": {"threshold": 50, "cooldown": -1}},
        "liquidation_protection.cooldown",
        "negative-cooldown",
    ),
    case(
        {"liquidation_protection": {"threshold": 50, "cooldown": 1.5}},
        "liquidation_protection.cooldown",
        "float-cooldown",
    ),
    case(
        {"liquidation_protection": {"threshold": 50, "enabled": "yes"}},
        "liquidation_protection.enabled",
        "str-enabled",
    ),
    case({"chain_id": 2}, "chain_id", "unknown-chain-2"),
    case({"chain_id": "1"}, "chain_id", "str-chain"),
    case({"chain_id": True}, "chain_id", "bool-chain"),
    case({"status": "exploded"}, "status", "unknown-status"),
    case({"created_at": NAIVE}, "created_at", "created-at-given"),
    case({"agent_id": 123}, "agent_id", "int-agent-id"),
    case({"agent_id": ""}, "agent_id", "empty-agent-id"),
    case({"agent_id": MISSING}, "agent_id", "missing-agent-id"),
    case({"liquidation_protection": MISSING}, "liquidation_protection", "missing-protection"),
    case({"risk": "high"}, "risk", "unknown-keyword"),
]


async def test_vault_create_refuses_bad_values_before_writing(
    store: AsyncStore, agent: Agent
) -> None:
    def create(overrides: dict[str, Any]) -> Callable[[], Any]:
        return partial(store.vaults.create, **vault_fields(agent.id, **overrides))

    assert await refused_fields(BAD_VAULTS, create) == expected_fields(BAD_VAULTS)
    assert len(await store.vaults.list()) == 0


BAD_ALERTS = [
    case({"alert_type": "boom"}, "alert_type", "unknown-type"),
    case({"severity": "urgent"}, "severity", "unknown-severity"),
    case({"severity": 3}, "severity", "int-severity"),
    case({"message": ""}, "message", "empty-message"),
    case({"message": "m" * 2001}, "message", "message-too-long"),
    case({"message": b"bytes"}, "message", "bytes-message"),
    case({"message": MISSING}, "message", "missing-message"),
    case({"vault_id": 5}, "vault_id", "int-vault-id"),
    case({"status": "resolved"}, "status", "status-given"),
    case({"resolved_at": T0}, "resolved_at", "resolved-at-given"),
    case({"title": "x"}, "title", "unknown-keyword"),
]


async def test_alert_create_refuses_bad_values_before_writing(
    store: AsyncStore, vault: CreditVault
) -> None:
    def create(overrides: dict[str, Any]) -> Callable[[], Any]:
        return partial(store.alerts.create, **alert_fields(vault.id, **overrides))

    assert await refused_fields(BAD_ALERTS, create) == expected_fields(BAD_ALERTS)
    assert len(await store.alerts.list()) == 0


BAD_LIQUIDATIONS = [
    case(
        {"collateral_seized": tokens(amount=-1)},
        "collateral_seized.amount",
        "negative-seized",
    ),
    case({"debt_repaid": tokens(value_usd=NAN)}, "debt_repaid.value_usd", "nan-repaid-value"),
    case({"penalty_usd": -1}, "penalty_usd", "negative-penalty"),
    case({"penalty_usd": False}, "penalty_usd", "bool-penalty"),
    case({"ltv": INF}, "ltv", "inf-ltv"),
    case({"health_factor": -1}, "health_factor", "negative-health-factor"),
    case({"liquidator": ""}, "liquidator", "empty-liquidator"),
    case({"liquidator": "0" * 129}, "liquidator", "liquidator-too-long"),
    case({"tx_hash": 5}, "tx_hash", "int-tx-hash"),
    case({"occurred_at": NAIVE}, "occurred_at", "naive-occurred-at"),
    case({"occurred_at": "2026-01-01T00:00:00Z"}, "occurred_at", "str-occurred-at"),
    case({"occurred_at": MISSING}, "occurred_at", "missing-occurred-at"),
    case({"chain_id": 2}, "chain_id", "unknown-chain-2"),
    case({"block": 1}, "block", "unknown-keyword"),
]


async def test_liquidation_create_refuses_bad_values_before_writing(
    store: AsyncStore, vault: CreditVault
) -> None:
    def create(overrides: dict[str, Any]) -> Callable[[], Any]:
        return partial(store.liquidations.create, **liquidation_fields(vault.id, **overrides))

    assert await refused_fields(BAD_LIQUIDATIONS, create) == expected_fields(BAD_LIQUIDATIONS)
    assert len(await store.liquidations.list()) == 0


BAD_RULES = [
    case({"conditions": "ltv > 85"}, "conditions", "str-conditions"),
    case({"conditions": [["ltv_gte", 85]]}, "conditions", "list-conditions"),
    case({"conditions": None}, "conditions", "none-conditions"),
    case({"conditions": {"ltv_gte": NAN}}, "conditions.ltv_gte", "nan-in-conditions"),
    case({"conditions": {"ltv_gte": Decimal(85)}}, "conditions.ltv_gte", "decimal-in-conditions"),
    case({"conditions": {"a": {"b": INF}}}, "conditions.a.b", "nested-inf-in-conditions"),
    case({"conditions": {1: "x"}}, "conditions", "int-key"),
    case({"conditions": {"$where": "1"}}, "conditions", "dollar-key"),
    case({"conditions": {"a.b": 1}}, "conditions", "dotted-key"),
    case({"conditions": {"a": "x\x00"}}, "conditions.a", "nul-in-value"),
    case({"conditions": {"a": "\ud800"}}, "conditions.a", "lone-surrogate-in-value"),
    case({"actions": {"type": "repay"}}, "actions", "dict-actions"),
    case({"actions": ["repay"]}, "actions[0]", "str-action"),
    case({"actions": [{"percent": INF}]}, "actions[0].percent", "inf-in-action"),
    case({"name": ""}, "name", "empty-name"),
    case({"priority": 1001}, "priority", "priority-above-1000"),
    case({"priority": -1}, "priority", "negative-priority"),
    case({"priority": "1"}, "priority", "str-priority"),
    case({"cooldown": -1}, "cooldown", "negative-cooldown"),
    case({"enabled": 1}, "enabled", "int-enabled"),
    case({"trigger_count": 5}, "trigger_count", "trigger-count-given"),
    case({"last_triggered_at": T0}, "last_triggered_at", "last-triggered-given"),
    case({"conditions": MISSING}, "conditions", "missing-conditions"),
]


async def test_rule_create_refuses_bad_values_before_writing(
    store: AsyncStore, vault: CreditVault
) -> None:
    def create(overrides: dict[str, Any]) -> Callable[[], Any]:
        return partial(store.protection_rules.create, **rule_fields(vault.id, **overrides))

    assert await refused_fields(BAD_RULES, create) == expected_fields(BAD_RULES)
    assert len(await store.protection_rules.list()) == 0


BAD_PRICES = [
    case({"price_usd": 0}, "price_usd", "zero-price"),
    case({"price_usd": -1}, "price_usd", "negative-price"),
    case({"price_usd": NAN}, "price_usd", "nan-price"),
    case({"price_usd": True}, "price_usd", "bool-price"),
    case({"price_usd": MISSING}, "price_usd", "missing-price"),
    case({"volume_24h_usd": -1}, "volume_24h_usd", "negative-volume"),
    case({"market_cap_usd": "big"}, "market_cap_usd", "word-market-cap"),
    case({"token": ""}, "token", "empty-token"),
    case({"token": "T" * 65}, "token", "token-too-long"),
    case({"source": "feed\udcff"}, "source", "lone-surrogate-in-source"),
    case({"source": ""}, "source", "empty-source"),
    case({"chain_id": 2}, "chain_id", "unknown-chain-2"),
    case({"recorded_at": NAIVE}, "recorded_at", "naive-recorded-at"),
    case({"recorded_at": 1767225600}, "recorded_at", "int-recorded-at"),
    case({"exchange": "x"}, "exchange", "unknown-keyword"),
]


async def test_market_data_create_refuses_bad_values_before_writing(store: AsyncStore) -> None:
    def create(overrides: dict[str, Any]) -> Callable[[], Any]:
        return partial(store.market_data.create, **price_fields(**overrides))

    assert await refused_fields(BAD_PRICES, create) == expected_fields(BAD_PRICES)
    assert len(await store.market_data.list()) == 0


BAD_RECORDS = [
    case({"records": [price_fields(), price_fields(price_usd=-1)]}, "records[1].price_usd", "bad"),
    case({"records": [price_fields(exchange="x")]}, "records[0].exchange", "unknown-keyword"),
    case({"records": price_fields()}, "records", "one-record-not-in-a-list"),
    case({"records": "ETH"}, "records", "str"),
    case({"records": 5}, "records", "int"),
    case({"records": ["ETH"]}, "records[0]", "str-record"),
    case({"records": [price_fields(), None]}, "records[1]", "none-record"),
]


async def test_bulk_insert_refuses_bad_records_before_writing(store: AsyncStore) -> None:
    def insert(overrides: dict[str, Any]) -> Callable[[], Any]:
        return partial(store.market_data.bulk_insert, overrides["records"])

    assert await refused_fields(BAD_RECORDS, insert) == expected_fields(BAD_RECORDS)
    assert len(await store.market_data.list()) == 0


# -- update() refuses bad values before writing ----------------------------------------

BAD_AGENT_CHANGES = [
    case({"name": ""}, "name", "empty-name"),
    case({"credibility_score": "720"}, "credibility_score", "str-score"),
    case({"credibility_score": 1001}, "credibility_score", "score-above-1000"),
    case({"credibility_tier": "good"}, "credibility_tier", "derived-tier"),
    case({"created_at": T0}, "created_at", "created-at"),
]


async def test_agent_update_refuses_bad_values_before_writing(
    store: AsyncStore, agent: Agent
) -> None:
    def update(overrides: dict[str, Any]) -> Callable[[], Any]:
        return partial(store.agents.update, agent.id, **overrides)

    assert await refused_fields(BAD_AGENT_CHANGES, update) == expected_fields(BAD_AGENT_CHANGES)
    assert await store.agents.find_by_id(agent.id) == agent


BAD_VAULT_CHANGES = [
    case({"collateral": tokens(amount=-1)}, "collateral.amount", "negative-collateral"),
    case({"collateral": tokens(amount=MISSING)}, "collateral.amount", "missing-amount"),
    case({"collateral": "10 ETH"}, "collateral", "str-collateral"),
    case({"liquidation_protection": 59.5}, "liquidation_protection", "number-as-protection"),
    case({"debt": tokens(value_usd=INF)}, "debt.value_usd", "inf-debt-value"),
    case({"ltv": -1}, "ltv", "negative-ltv"),
    case({"ltv": True}, "ltv", "bool-ltv"),
    case({"health_factor": NAN}, "health_factor", "nan-health-factor"),
    case({"max_ltv": 101}, "max_ltv", "max-ltv-above-100"),
    case({"max_ltv": 0}, "max_ltv", "zero-max-ltv"),
    case({"max_ltv": -1}, "max_ltv", "negative-max-ltv"),
    case({"max_ltv": 50}, "liquidation_protection.threshold", "max-ltv-below-threshold"),
    case(
        {"liquidation_protection": {"threshold": 80}},
        "liquidation_protection.threshold",
        "threshold-above-max-ltv",
    ),
    case(
        {"liquidation_protection": {"threshold": 0}},
        "liquidation_protection.threshold",
        "zero-threshold",
    ),
    case({"status": "exploded"}, "status", "unknown-status"),
    case({"chain_id": 10}, "chain_id", "chain-not-changeable"),
    case({"agent_id": UNKNOWN_ID}, "agent_id", "agent-not-changeable"),
    case({"updated_at": T0}, "updated_at", "updated-at"),
]


async def test_vault_update_refuses_bad_values_before_writing(
    store: AsyncStore, vault: CreditVault
) -> None:
    def update(overrides: dict[str, Any]) -> Callable[[], Any]:
        return partial(store.vaults.update, vault.id, **overrides)

    assert await refused_fields(BAD_VAULT_CHANGES, update) == expected_fields(BAD_VAULT_CHANGES)
    assert await store.vaults.find_by_id(vault.id) == vault


async def test_update_without_changes_is_refused(store: AsyncStore, vault: CreditVault) -> None:
    with pytest.raises(ValidationError):
        await store.vaults.update(vault.id)
    assert await store.vaults.find_by_id(vault.id) == vault


async def test_bad_value_is_refused_before_looking_up_the_id(store: AsyncStore) -> None:
    with pytest.raises(ValidationError) as info:
        await store.vaults.update(UNKNOWN_ID, ltv=-1)
    assert info.value.field == "ltv"


BAD_METRICS = [
    case({"ltv": -1}, "ltv", "negative-ltv"),
    case({"ltv": NAN}, "ltv", "nan-ltv"),
    case({"ltv": True}, "ltv", "bool-ltv"),
    case({"ltv": "high"}, "ltv", "word-ltv"),
    case({"ltv": None}, "ltv", "none-ltv"),
    case({"health_factor": -0.5}, "health_factor", "negative-health-factor"),
    case({"health_factor": INF}, "health_factor", "inf-health-factor"),
]


async def test_update_vault_metrics_refuses_bad_values_before_writing(
    store: AsyncStore, vault: CreditVault
) -> None:
    def update(overrides: dict[str, Any]) -> Callable[[], Any]:
        metrics = {"ltv": 55, "health_factor": "1.8", **overrides}
        return partial(store.vaults.update_vault_metrics, vault.id, **metrics)

    assert await refused_fields(BAD_METRICS, update) == expected_fields(BAD_METRICS)
    assert await store.vaults.find_by_id(vault.id) == vault


BAD_ALERT_CHANGES = [
    case({"severity": "urgent"}, "severity", "unknown-severity"),
    case({"message": ""}, "message", "empty-message"),
    case({"message": None}, "message", "none-message"),
    case({"status": "resolved"}, "status", "status-not-changeable"),
    case({"vault_id": UNKNOWN_ID}, "vault_id", "vault-not-changeable"),
]


async def test_alert_update_refuses_bad_values_before_writing(
    store: AsyncStore, alert: RiskAlert
) -> None:
    def update(overrides: dict[str, Any]) -> Callable[[], Any]:
        return partial(store.alerts.update, alert.id, **overrides)

    assert await refused_fields(BAD_ALERT_CHANGES, update) == expected_fields(BAD_ALERT_CHANGES)
    assert await store.alerts.find_by_id(alert.id) == alert


BAD_LIQUIDATION_CHANGES = [
    case({"penalty_usd": -1}, "penalty_usd", "negative-penalty"),
    case({"collateral_seized": tokens(amount=NAN)}, "collateral_seized.amount", "nan-seized"),
    case({"liquidator": ""}, "liquidator", "empty-liquidator"),
    case({"tx_hash": "0x02"}, "tx_hash", "tx-hash-not-changeable"),
    case({"occurred_at": T1}, "occurred_at", "occurred-at-not-changeable"),
]


async def test_liquidation_update_refuses_bad_values_before_writing(
    store: AsyncStore, liquidation: LiquidationEvent
) -> None:
    def update(overrides: dict[str, Any]) -> Callable[[], Any]:
        return partial(store.liquidations.update, liquidation.id, **overrides)

    found = await refused_fields(BAD_LIQUIDATION_CHANGES, update)
    assert found == expected_fields(BAD_LIQUIDATION_CHANGES)
    assert await store.liquidations.find_by_id(liquidation.id) == liquidation


BAD_RULE_CHANGES = [
    case({"conditions": "ltv > 85"}, "conditions", "str-conditions"),
    case({"conditions": {"a": NAN}}, "conditions.a", "nan-in-conditions"),
    case({"actions": [1]}, "actions[0]", "int-action"),
    case({"priority": 2000}, "priority", "priority-above-1000"),
    case({"enabled": "yes"}, "enabled", "str-enabled"),
    case({"cooldown": -1}, "cooldown", "negative-cooldown"),
    case({"trigger_count": 0}, "trigger_count", "trigger-count-not-changeable"),
    case({"vault_id": UNKNOWN_ID}, "vault_id", "vault-not-changeable"),
]


async def test_rule_update_refuses_bad_values_before_writing(
    store: AsyncStore, rule: ProtectionRule
) -> None:
    def update(overrides: dict[str, Any]) -> Callable[[], Any]:
        return partial(store.protection_rules.update, rule.id, **overrides)

    assert await refused_fields(BAD_RULE_CHANGES, update) == expected_fields(BAD_RULE_CHANGES)
    assert await store.protection_rules.find_by_id(rule.id) == rule


BAD_PRICE_CHANGES = [
    case({"price_usd": 0}, "price_usd", "zero-price"),
    case({"price_usd": "NaN"}, "price_usd", "nan-price"),
    case({"volume_24h_usd": -1}, "volume_24h_usd", "negative-volume"),
    case({"market_cap_usd": True}, "market_cap_usd", "bool-market-cap"),
    case({"token": "BTC"}, "token", "token-not-changeable"),
    case({"recorded_at": T1}, "recorded_at", "recorded-at-not-changeable"),
]


async def test_market_data_update_refuses_bad_values_before_writing(
    store: AsyncStore, price: MarketData
) -> None:
    def update(overrides: dict[str, Any]) -> Callable[[], Any]:
        return partial(store.market_data.update, price.id, **overrides)

    assert await refused_fields(BAD_PRICE_CHANGES, update) == expected_fields(BAD_PRICE_CHANGES)
    assert await store.market_data.find_by_id(price.id) == price


# -- arguments of lookups and listings -------------------------------------------------

REPOSITORIES = ["agents", "vaults", "alerts", "liquidations", "protection_rules", "market_data"]


def method_of(store: AsyncStore, path: str) -> Any:
    """``store.vaults.update`` from ``"vaults.update"``."""
    repository, method = path.split(".")
    return getattr(getattr(store, repository), method)


LISTINGS: list[tuple[str, tuple[Any, ...]]] = [
    ("agents.list", ()),
    ("agents.find_by_tier", ("good",)),
    ("vaults.list", ()),
    ("vaults.find_by_agent_id", (UNKNOWN_ID,)),
    ("vaults.find_by_chain_id", (1,)),
    ("vaults.find_high_risk_vaults", (80,)),
    ("alerts.list", ()),
    ("alerts.find_by_vault", (UNKNOWN_ID,)),
    ("alerts.find_open_by_vault", (UNKNOWN_ID,)),
    ("alerts.find_open_by_severity", ("high",)),
    ("liquidations.list", ()),
    ("liquidations.find_by_vault", (UNKNOWN_ID,)),
    ("liquidations.find_between", (T0, T1)),
    ("protection_rules.list", ()),
    ("protection_rules.find_by_conditions", ({"ltv_gte": 85},)),
    ("market_data.list", ()),
    ("market_data.history", ("ETH", 1)),
]


def cursor_of(raw: bytes) -> str:
    """A cursor as the listings encode them, around any bytes."""
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


BAD_LIMITS = [
    case({"limit": 0}, "limit", "zero"),
    case({"limit": -1}, "limit", "negative"),
    case({"limit": 10_001}, "limit", "above-10000"),
    case({"limit": True}, "limit", "bool"),
    case({"limit": "10"}, "limit", "str"),
    case({"limit": 1.5}, "limit", "float"),
    case({"limit": None}, "limit", "none"),
]


async def test_bad_limit_is_refused(store: AsyncStore) -> None:
    def listing(overrides: dict[str, Any]) -> Callable[[], Any]:
        return partial(store.agents.list, **overrides)

    assert await refused_fields(BAD_LIMITS, listing) == expected_fields(BAD_LIMITS)


async def test_every_listing_checks_its_limit(store: AsyncStore) -> None:
    def listing(overrides: dict[str, Any]) -> Callable[[], Any]:
        return partial(method_of(store, overrides["path"]), *overrides["args"], limit=0)

    cases = [case({"path": path, "args": args}, "limit", path) for path, args in LISTINGS]
    assert await refused_fields(cases, listing) == expected_fields(cases)


BAD_CURSORS = [
    case({"after": "not a cursor"}, "after", "garbage"),
    case({"after": ""}, "after", "empty"),
    case({"after": 123}, "after", "int"),
    case({"after": b"W10"}, "after", "bytes"),
    case({"after": cursor_of(b"5")}, "after", "json-number"),
    case({"after": cursor_of(b'["a","b"]')}, "after", "two-keys-for-one"),
    case({"after": cursor_of(b"[5]")}, "after", "int-key"),
    case({"after": cursor_of(b"[" * 100_000)}, "after", "deeply-nested"),
]


async def test_bad_cursor_is_refused(store: AsyncStore) -> None:
    def listing(overrides: dict[str, Any]) -> Callable[[], Any]:
        return partial(store.agents.list, **overrides)

    assert await refused_fields(BAD_CURSORS, listing) == expected_fields(BAD_CURSORS)


async def test_every_listing_checks_its_cursor(store: AsyncStore) -> None:
    def listing(overrides: dict[str, Any]) -> Callable[[], Any]:
        bound = method_of(store, overrides["path"])
        return partial(bound, *overrides["args"], after="not a cursor")

    cases = [case({"path": path, "args": args}, "after", path) for path, args in LISTINGS]
    assert await refused_fields(cases, listing) == expected_fields(cases)


async def test_cursor_of_an_id_listing_is_refused_by_the_risk_listing(store: AsyncStore) -> None:
    for name in ("a", "b"):
        await store.agents.create(**agent_fields(name=name))
    page = await store.agents.list(limit=1)
    assert page.next_cursor is not None
    with pytest.raises(ValidationError) as info:
        await store.vaults.find_high_risk_vaults(80, after=page.next_cursor)
    assert info.value.field == "after"


async def test_cursor_of_the_risk_listing_is_refused_by_other_listings(
    store: AsyncStore, agent: Agent
) -> None:
    for _ in range(2):
        await store.vaults.create(**vault_fields(agent.id, ltv=90, max_ltv=95))
    page = await store.vaults.find_high_risk_vaults(80, limit=1)
    assert page.next_cursor is not None

    def listing(overrides: dict[str, Any]) -> Callable[[], Any]:
        bound = method_of(store, overrides["path"])
        return partial(bound, *overrides["args"], after=page.next_cursor)

    cases = [
        case({"path": path, "args": args}, "after", path)
        for path, args in LISTINGS
        if path != "vaults.find_high_risk_vaults"
    ]
    assert await refused_fields(cases, listing) == expected_fields(cases)


ID_OPERATIONS: list[tuple[str, Any]] = [
    *((f"{r}.find_by_id", ()) for r in REPOSITORIES),
    *((f"{r}.delete", ()) for r in REPOSITORIES),
    ("agents.update", {"name": "new"}),
    ("vaults.update", {"ltv": 1}),
    ("alerts.update", {"message": "new"}),
    ("liquidations.update", {"liquidator": "0xdef"}),
    ("protection_rules.update", {"priority": 1}),
    ("market_data.update", {"price_usd": 1}),
    ("vaults.update_vault_metrics", (1, 1)),
    ("alerts.acknowledge", ()),
    ("alerts.resolve", ()),
    ("protection_rules.mark_triggered", ()),
]
"""Every method taking an id first, with valid values for its other arguments: a
tuple of positional arguments, or a dict of keyword changes."""


def call_with_id(store: AsyncStore, path: str, rest: Any, id: Any) -> Callable[[], Any]:
    """A call of the method at ``path`` with ``id`` and ``rest`` (see ID_OPERATIONS)."""
    if isinstance(rest, dict):
        return partial(method_of(store, path), id, **rest)
    return partial(method_of(store, path), id, *rest)


@pytest.fixture
async def seeded(store: AsyncStore, agent: Agent, vault: CreditVault) -> dict[str, Any]:
    """One stored entity in every repository, by repository name."""
    return {
        "agents": agent,
        "vaults": vault,
        "alerts": await store.alerts.create(**alert_fields(vault.id)),
        "liquidations": await store.liquidations.create(**liquidation_fields(vault.id)),
        "protection_rules": await store.protection_rules.create(**rule_fields(vault.id)),
        "market_data": await store.market_data.create(**price_fields()),
    }


async def stored_now(store: AsyncStore, seeded: dict[str, Any]) -> dict[str, Any]:
    """What is stored now under the ids of ``seeded``."""
    return {
        repository: await getattr(store, repository).find_by_id(entity.id)
        for repository, entity in seeded.items()
    }


BAD_IDS = [
    ("int", 42),
    ("none", None),
    ("bytes", b"01UNKNOWNID000000000000000"),
    ("nul", "01UNKNOWN\x00"),
    ("lone-surrogate", "01UNKNOWN\ud800"),
]


async def test_bad_id_is_refused(store: AsyncStore) -> None:
    def call(overrides: dict[str, Any]) -> Callable[[], Any]:
        return call_with_id(store, overrides["path"], overrides["rest"], overrides["id"])

    cases = [
        case({"path": path, "rest": rest, "id": bad}, "id", f"{path}({kind})")
        for path, rest in ID_OPERATIONS
        for kind, bad in BAD_IDS
    ]
    assert await refused_fields(cases, call) == expected_fields(cases)


BAD_ARGUMENTS = [
    case({"path": "agents.find_by_name", "args": (42,)}, "name", "int-name"),
    case({"path": "agents.find_by_name", "args": ("a\x00",)}, "name", "nul-name"),
    case({"path": "agents.find_by_name", "args": ("\ud800",)}, "name", "lone-surrogate-name"),
    case({"path": "agents.find_by_tier", "args": ("platinum",)}, "tier", "unknown-tier"),
    case({"path": "vaults.find_by_agent_id", "args": (42,)}, "agent_id", "int-agent-id"),
    case({"path": "vaults.find_by_chain_id", "args": (2,)}, "chain_id", "chain-2"),
    case({"path": "vaults.find_by_chain_id", "args": ("1",)}, "chain_id", "str-chain"),
    case({"path": "vaults.find_by_chain_id", "args": (True,)}, "chain_id", "bool-chain"),
    case({"path": "vaults.find_high_risk_vaults", "args": ("high",)}, "threshold", "word"),
    case({"path": "vaults.find_high_risk_vaults", "args": (NAN,)}, "threshold", "nan"),
    case({"path": "vaults.find_high_risk_vaults", "args": (True,)}, "threshold", "bool"),
    case({"path": "vaults.risk_summary_by_chain", "args": (None,)}, "threshold", "none"),
    case({"path": "vaults.risk_summary_by_chain", "args": (INF,)}, "threshold", "inf"),
    case({"path": "alerts.find_by_vault", "args": (None,)}, "vault_id", "none-vault-id"),
    case({"path": "alerts.find_open_by_vault", "args": (42,)}, "vault_id", "int-vault-id"),
    case({"path": "alerts.find_open_by_severity", "args": ("urgent",)}, "severity", "urgent"),
    case({"path": "liquidations.find_by_vault", "args": (42,)}, "vault_id", "int-vault"),
    case(
        {"path": "liquidations.find_by_vault", "args": (UNKNOWN_ID,), "kwargs": {"since": NAIVE}},
        "since",
        "naive-since-by-vault",
    ),
    case({"path": "liquidations.find_between", "args": (NAIVE, T1)}, "since", "naive-since"),
    case({"path": "liquidations.find_between", "args": (T0, NAIVE)}, "until", "naive-until"),
    case({"path": "liquidations.find_between", "args": ("2026", T1)}, "since", "str-since"),
    case(
        {"path": "protection_rules.find_enabled_for_vault", "args": (42,)},
        "vault_id",
        "int-rule-vault",
    ),
    case(
        {"path": "protection_rules.find_by_conditions", "args": ("ltv",)},
        "conditions",
        "str-conditions",
    ),
    case(
        {"path": "protection_rules.find_by_conditions", "args": ({"ltv": NAN},)},
        "conditions.ltv",
        "nan-in-conditions",
    ),
    case(
        {"path": "protection_rules.find_by_conditions", "args": ({"a.b": 1},)},
        "conditions",
        "dotted-key",
    ),
    case({"path": "market_data.latest_price", "args": (42, 1)}, "token", "int-token"),
    case({"path": "market_data.latest_price", "args": ("ETH", 2)}, "chain_id", "chain-2"),
    case({"path": "market_data.history", "args": (None, 1)}, "token", "none-token"),
    case({"path": "market_data.history", "args": ("ETH", 2)}, "chain_id", "history-chain-2"),
    case(
        {"path": "market_data.history", "args": ("ETH", 1), "kwargs": {"until": NAIVE}},
        "until",
        "naive-history-until",
    ),
]


async def test_lookup_refuses_bad_argument(store: AsyncStore) -> None:
    def call(overrides: dict[str, Any]) -> Callable[[], Any]:
        bound = method_of(store, overrides["path"])
        return partial(bound, *overrides["args"], **overrides.get("kwargs", {}))

    assert await refused_fields(BAD_ARGUMENTS, call) == expected_fields(BAD_ARGUMENTS)


# -- ids that name nothing ---------------------------------------------------------------


async def test_find_by_id_of_unknown_id_is_none(store: AsyncStore, seeded: dict[str, Any]) -> None:
    found = {r: await getattr(store, r).find_by_id(UNKNOWN_ID) for r in REPOSITORIES}
    assert found == dict.fromkeys(REPOSITORIES)


async def test_write_to_unknown_id_is_not_found_and_changes_nothing(
    store: AsyncStore, seeded: dict[str, Any]
) -> None:
    outcomes = {}
    for path, rest in ID_OPERATIONS:
        if path.endswith(".find_by_id"):
            continue
        error = await raised(call_with_id(store, path, rest, UNKNOWN_ID))
        outcomes[path] = error.id if isinstance(error, NotFoundError) else repr(error)
    assert outcomes == dict.fromkeys(outcomes, UNKNOWN_ID)
    assert await stored_now(store, seeded) == seeded


async def test_create_for_unknown_vault_is_not_found(store: AsyncStore) -> None:
    creates = {
        "alerts": alert_fields(UNKNOWN_ID),
        "liquidations": liquidation_fields(UNKNOWN_ID),
        "protection_rules": rule_fields(UNKNOWN_ID),
    }
    outcomes = {}
    for repository, fields in creates.items():
        error = await raised(partial(getattr(store, repository).create, **fields))
        outcomes[repository] = type(error).__name__
    assert outcomes == dict.fromkeys(creates, "NotFoundError")
    assert [len(await getattr(store, r).list()) for r in creates] == [0, 0, 0]


# -- a failed transaction writes nothing ---------------------------------------------


async def test_validation_error_after_two_writes_in_a_transaction_writes_nothing(
    store: AsyncStore,
) -> None:
    with pytest.raises(ValidationError) as info:
        async with store.transaction() as tx:
            agent = await tx.agents.create(**agent_fields())
            vault = await tx.vaults.create(**vault_fields(agent.id))
            await tx.alerts.create(**alert_fields(vault.id, severity="urgent"))
    assert info.value.field == "severity"
    assert len(await store.agents.list()) == 0
    assert len(await store.vaults.list()) == 0


async def test_conflict_after_writes_in_a_transaction_writes_nothing(store: AsyncStore) -> None:
    with pytest.raises(ConflictError):
        async with store.transaction() as tx:
            agent = await tx.agents.create(**agent_fields())
            vault = await tx.vaults.create(**vault_fields(agent.id))
            await tx.liquidations.create(**liquidation_fields(vault.id))
            await tx.liquidations.create(**liquidation_fields(vault.id))  # same tx_hash
    assert len(await store.agents.list()) == 0
    assert len(await store.vaults.list()) == 0
    assert len(await store.liquidations.list()) == 0


async def test_not_found_after_writes_in_a_transaction_writes_nothing(store: AsyncStore) -> None:
    with pytest.raises(NotFoundError):
        async with store.transaction() as tx:
            await tx.market_data.create(**price_fields())
            await tx.agents.create(**agent_fields())
            await tx.vaults.update_vault_metrics(UNKNOWN_ID, 1, 1)
    assert len(await store.market_data.list()) == 0
    assert len(await store.agents.list()) == 0


async def test_error_caught_inside_a_transaction_still_writes_nothing(store: AsyncStore) -> None:
    """Without a savepoint, a failed statement aborts the whole transaction: what was
    written before it is not committed, even though the error was caught."""
    # Ending the aborted transaction may report the rollback as well; either way
    # nothing may be stored.
    with contextlib.suppress(VaultStoreError):
        async with store.transaction() as tx:
            await tx.agents.create(**agent_fields(name="first"))
            with pytest.raises(ConflictError):
                await tx.agents.create(**agent_fields(name="first"))
    assert len(await store.agents.list()) == 0


async def test_failed_nested_transaction_caught_inside_a_transaction(store: AsyncStore) -> None:
    """PostgreSQL rolls back to the savepoint and keeps the outer writes. MongoDB has
    no savepoints: the outer transaction is aborted, the next operation says so,
    and nothing is written."""
    if store.backend == "postgresql":
        async with store.transaction() as tx:
            kept = await tx.agents.create(**agent_fields(name="kept"))
            with pytest.raises(ConflictError):
                async with tx.transaction() as savepoint:
                    await savepoint.agents.create(**agent_fields(name="dropped"))
                    await savepoint.agents.create(**agent_fields(name="kept"))
            after = await tx.agents.create(**agent_fields(name="after"))
        assert [a.id for a in await store.agents.list()] == [kept.id, after.id]
        assert await store.agents.find_by_name("dropped") is None
        return
    with pytest.raises(DatabaseError) as info:
        async with store.transaction() as tx:
            await tx.agents.create(**agent_fields(name="kept"))
            with pytest.raises(ConflictError):
                async with tx.transaction() as nested:
                    await nested.agents.create(**agent_fields(name="dropped"))
                    await nested.agents.create(**agent_fields(name="kept"))
            await tx.agents.create(**agent_fields(name="after"))
    assert info.value.code == "25P02"
    assert len(await store.agents.list()) == 0


async def test_validation_error_in_a_nested_transaction(store: AsyncStore) -> None:
    """A ValidationError raised in a nested block: PostgreSQL keeps the outer
    writes; on MongoDB the outer transaction refuses to commit."""
    if store.backend == "postgresql":
        async with store.transaction() as tx:
            agent = await tx.agents.create(**agent_fields())
            with pytest.raises(ValidationError):
                async with tx.transaction() as savepoint:
                    vault = await savepoint.vaults.create(**vault_fields(agent.id))
                    await savepoint.vaults.update(vault.id, max_ltv=101)
        assert [a.id for a in await store.agents.list()] == [agent.id]
        assert len(await store.vaults.list()) == 0
        return
    with pytest.raises(DatabaseError):
        async with store.transaction() as tx:
            agent = await tx.agents.create(**agent_fields())
            with pytest.raises(ValidationError):
                async with tx.transaction() as nested:
                    vault = await nested.vaults.create(**vault_fields(agent.id))
                    await nested.vaults.update(vault.id, max_ltv=101)
    assert len(await store.agents.list()) == 0
    assert len(await store.vaults.list()) == 0


async def test_failure_after_a_savepoint_rolls_the_savepoint_back_too(store: AsyncStore) -> None:
    class Boom(Exception):
        pass

    with pytest.raises(Boom):
        async with store.transaction() as tx:
            async with tx.transaction() as savepoint:
                await savepoint.agents.create(**agent_fields(name="inner"))
            await tx.agents.create(**agent_fields(name="outer"))
            raise Boom
    assert len(await store.agents.list()) == 0


async def test_store_works_after_a_failed_transaction(store: AsyncStore) -> None:
    with pytest.raises(ConflictError):
        async with store.transaction() as tx:
            await tx.agents.create(**agent_fields(name="twin"))
            await tx.agents.create(**agent_fields(name="twin"))
    async with store.transaction() as tx:
        agent = await tx.agents.create(**agent_fields(name="twin"))
    assert await store.agents.find_by_name("twin") == agent
