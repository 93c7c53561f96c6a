"""The one JSON codec of entities (``vaultstore._convert``): the cache's entries, the
change feed's outbox rows and ``vaultstore watch`` lines, the audit's values. No
server: these are the conversions alone; test_cache and test_changes run them
against real ones."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import attrs
import pytest

from vaultstore import Agent, CreditVault, MarketData, ProtectionRule, RiskAlert
from vaultstore._convert import EntityConverter, flat_columns, from_json, leaf_fields, to_json

converter = EntityConverter()
NOW = datetime(2026, 12, 3, 13, 5, 7, 123000, tzinfo=UTC)
AMOUNT = "123456789012.123456789012345678"  # 30 digits: no float keeps them


def same(got: Any, expected: Any) -> None:
    """Equal field by field and of the same types: a Decimal equals a float, and an
    enum its value, which == alone would let through."""
    assert type(got) is type(expected)
    for path, _ in leaf_fields(type(expected)):
        mine, theirs = got, expected
        for name in path:
            mine, theirs = getattr(mine, name), getattr(theirs, name)
        assert (mine, type(mine)) == (theirs, type(theirs)), path
        if isinstance(theirs, dict | list):
            assert json.dumps(mine) == json.dumps(theirs), path  # 0.5 stays a float


def entities() -> list[Any]:
    stamps = {"created_at": NOW, "updated_at": NOW}
    agent = converter.build(
        Agent, {"id": "01AGENT0000000000000000000", "name": "a", "credibility_score": 812, **stamps}
    )
    vault = converter.build(
        CreditVault,
        {
            "id": "01VAULT0000000000000000000",
            "agent_id": agent.id,
            "chain_id": 8453,
            "collateral": {"token": "ETH", "amount": AMOUNT, "value_usd": "20000.5"},
            "debt": {"token": "USDC", "amount": "10000", "value_usd": "10000"},
            "ltv": "49.9975",
            "health_factor": "1.6",
            "max_ltv": "70",
            "liquidation_protection": {"threshold": "60", "enabled": True},
            **stamps,
        },
    )
    alert = converter.build(
        RiskAlert,
        {
            "id": "01ALERT0000000000000000000",
            "vault_id": vault.id,
            "alert_type": "ltv_warning",
            "severity": "high",
            "message": "ltv",
            "status": "acknowledged",
            "acknowledged_at": NOW + timedelta(seconds=1),
            **stamps,
        },
    )
    rule = converter.build(
        ProtectionRule,
        {
            "id": "01RULE00000000000000000000",
            "vault_id": vault.id,
            "name": "r",
            "conditions": {"ltv_above": 65.5, "tokens": ["ETH"], "n": 3},
            "actions": [{"type": "repay", "fraction": 0.25}],
            **stamps,
        },
    )
    price = converter.build(
        MarketData,
        {
            "id": "01PRICE0000000000000000000",
            "token": "BTC",
            "chain_id": 1,
            "price_usd": AMOUNT,
            "source": "test",
            "recorded_at": NOW,
            **stamps,
        },
    )
    return [agent, vault, alert, rule, price]


@pytest.mark.parametrize("entity", entities(), ids=lambda e: type(e).__name__)
def test_an_entity_comes_back_from_its_json_column_values_as_it_was(entity: Any) -> None:
    codec = converter.json_columns(type(entity))
    text = codec.dumps(entity)
    same(codec.loads(text), entity)
    assert converter.json_columns(type(entity)) is codec  # made once per class


@pytest.mark.parametrize("entity", entities(), ids=lambda e: type(e).__name__)
def test_an_entity_comes_back_from_a_row_s_jsonb(entity: Any) -> None:
    """As PostgreSQL's ``to_jsonb(row)`` gives a row (numbers as JSON numbers,
    read with ``parse_float=Decimal``; times with their offset), keyed by column."""
    codec = converter.json_columns(type(entity))
    row = dict(zip(codec.columns, json.loads(codec.dumps(entity)), strict=True))
    text = json.dumps(row)
    for value in row.values():
        if isinstance(value, str) and value.replace(".", "", 1).isdigit():
            text = text.replace(json.dumps(value), value)  # a NUMERIC column: a JSON number
    document = json.loads(text, parse_float=Decimal)
    same(codec.load_object(document), entity)


def test_every_digit_and_the_offset_are_kept() -> None:
    _, vault, *_ = entities()
    plain = to_json(attrs.asdict(vault))
    assert plain["collateral"]["amount"] == AMOUNT
    assert plain["chain_id"] == 8453
    assert plain["status"] == "active"
    assert datetime.fromisoformat(plain["created_at"]) == NOW
    assert plain["created_at"].endswith("+00:00")
    assert json.loads(json.dumps(plain)) == plain  # plain JSON throughout


def test_an_entry_of_another_shape_is_refused() -> None:
    """The cache reads such an entry as a miss (it catches these errors)."""
    codec = converter.json_columns(Agent)
    with pytest.raises(ValueError, match="another shape"):
        codec.loads(b"[1, 2]")
    with pytest.raises(ValueError, match="another shape"):
        codec.loads(b'{"id": 1}')
    row = json.loads(codec.dumps(entities()[0]))
    row[codec.columns.index("created_at")] = 5
    with pytest.raises(TypeError):
        codec.loads(json.dumps(row))


def test_from_json_gives_what_the_field_holds() -> None:
    east = timezone(timedelta(hours=2))
    moment = from_json("2026-12-03T15:05:07.123456+02:00", datetime)
    assert moment == NOW  # cut to milliseconds
    assert moment.tzinfo is UTC
    assert from_json("2026-12-03T13:05:07.123", datetime) == NOW  # no offset: UTC
    assert from_json(datetime(2026, 12, 3, 15, 5, 7, 123000, tzinfo=east), datetime) == NOW
    assert from_json(Decimal("1.10"), Decimal) == Decimal("1.10")
    assert str(from_json(1.1, Decimal)) == "1.1"  # the shortest repr, not the binary expansion
    assert from_json(3, int | None) == 3
    assert from_json(None, int | None) is None
    assert from_json("high", RiskAlert.__attrs_attrs__.severity.type).value == "high"
    assert json.dumps(from_json({"x": [Decimal("0.5")]}, dict[str, Any])) == '{"x": [0.5]}'
    assert json.dumps(from_json({"x": Decimal("0.5")}, dict[str, Any] | None)) == '{"x": 0.5}'
    assert type(from_json(1, bool)) is bool


def test_the_columns_are_the_tables() -> None:
    assert converter.json_columns(CreditVault).columns == tuple(
        name for name, _ in flat_columns(CreditVault)
    )
