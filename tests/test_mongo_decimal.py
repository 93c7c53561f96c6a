"""Money on MongoDB is Decimal128, exact: entities go through the BSON converter
(``vaultstore._mongo.MongoConverter``) and back without a digit changing, values at
Decimal128's 34-digit limit survive, values beyond it cannot even be built (so
nothing is rounded on the way in), and a real round trip through the server keeps
decimals and gives back timezone-aware UTC datetimes at millisecond precision."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import attrs
import pymongo
import pytest
from bson import Decimal128
from pymongo.database import Database

import vaultstore
from vaultstore import (
    Agent,
    CreditVault,
    LiquidationEvent,
    LiquidationProtection,
    MarketData,
    ProtectionRule,
    RiskAlert,
    TokenAmount,
    ValidationError,
)
from vaultstore._mongo import CODEC_OPTIONS, MongoConverter, decimal_from_bson

NOW = datetime(2026, 1, 1, 12, 30, 15, 123000, tzinfo=UTC)

EXACT = [
    "59.5",
    "0.10",
    "2.0",
    "0",
    "0.00",
    "20000.00",
    "1E-30",
    "0.30000000000000004",
]
"""Decimals whose exact digits (and exponent) must survive, as str() shows them."""

AT_THE_LIMIT = [
    "1234567890123456789012345678901234",
    "0.1234567890123456789012345678901234",
    "12345678901234567.89012345678901234",
    "9999999999999999999999999999999999",
    "1E-6176",
    "1234567890123456789012345678901234E-6176",
]
"""34 significant digits, and the smallest and largest exponents Decimal128 holds."""

TOO_BIG = [
    "12345678901234567890123456789012345",  # 35 digits
    "0.12345678901234567890123456789012345",
    "1234567890123456789012345678901234.5",
    "1E-6177",  # below the smallest exponent
    "1E+6145",  # above the largest
]


def liquidation(value: str) -> LiquidationEvent:
    """A liquidation whose every decimal, nested or not, is ``value``."""
    return LiquidationEvent(
        id=vaultstore.new_id(),
        vault_id="01VAULT0000000000000000000",
        chain_id=1,
        collateral_seized=TokenAmount(token="ETH", amount=value, value_usd=value),
        debt_repaid=TokenAmount(token="USDC", amount=value, value_usd=value),
        penalty_usd=value,
        ltv=value,
        health_factor=value,
        liquidator="0xabc",
        tx_hash="0x01",
        occurred_at=NOW,
        created_at=NOW,
        updated_at=NOW,
    )


def decimals_of(entity: Any) -> dict[str, str]:
    """Every Decimal in an entity, nested ones too, as its str(), by dotted field."""
    found: dict[str, str] = {}
    for name, value in attrs.asdict(entity, recurse=False).items():
        if isinstance(value, Decimal):
            found[name] = str(value)
        elif attrs.has(type(value)):
            found.update({f"{name}.{k}": v for k, v in decimals_of(value).items()})
    return found


def entities() -> list[Any]:
    """One of each entity, with the decimals and optional values that trip converters."""
    times: dict[str, Any] = {"created_at": NOW, "updated_at": NOW}
    return [
        Agent(id=vaultstore.new_id(), name="agent_123", credibility_score=720, **times),
        CreditVault(
            id=vaultstore.new_id(),
            agent_id="01AGENT0000000000000000000",
            chain_id=8453,
            collateral=TokenAmount(
                token="ETH", amount="1234567890123456789012345678901234", value_usd="20000.00"
            ),
            debt=TokenAmount(token="USDC", amount="0.10", value_usd="1E-30"),
            ltv="59.5",
            health_factor=2.0,
            max_ltv=70,
            liquidation_protection=LiquidationProtection(
                enabled=True, threshold=59.5, cooldown=3600
            ),
            status="at_risk",
            **times,
        ),
        RiskAlert(
            id=vaultstore.new_id(),
            vault_id="01VAULT0000000000000000000",
            alert_type="ltv_warning",
            severity="high",
            message="LTV 75%",
            status="resolved",
            acknowledged_at=NOW,
            resolved_at=NOW + timedelta(seconds=1),
            **times,
        ),
        liquidation("86.10"),
        ProtectionRule(
            id=vaultstore.new_id(),
            vault_id="01VAULT0000000000000000000",
            name="repay",
            conditions={"ltv_gte": 85, "ratio": 0.5, "chain": "ethereum", "tags": ["a", None]},
            actions=[{"type": "repay", "percent": 25}],
            last_triggered_at=NOW,
            trigger_count=3,
            **times,
        ),
        MarketData(
            id=vaultstore.new_id(),
            token="ETH",
            chain_id=1,
            price_usd="2000.5",
            volume_24h_usd="0.0",
            market_cap_usd=None,
            source="feed",
            recorded_at=NOW,
            **times,
        ),
    ]


def round_trip(entity: Any) -> Any:
    converter = MongoConverter()
    return converter.document_loader(type(entity))(converter.document(entity))


# -- the converter, without a server ------------------------------------------------


@pytest.mark.parametrize("entity", entities(), ids=lambda e: type(e).__name__)
def test_an_entity_round_trips_through_the_bson_converter(entity: Any) -> None:
    assert round_trip(entity) == entity


@pytest.mark.parametrize("entity", entities(), ids=lambda e: type(e).__name__)
def test_decimals_keep_their_digits_through_the_bson_converter(entity: Any) -> None:
    assert decimals_of(round_trip(entity)) == decimals_of(entity)


@pytest.mark.parametrize("value", EXACT)
def test_a_decimal_keeps_its_exact_str_through_the_bson_converter(value: str) -> None:
    assert set(decimals_of(round_trip(liquidation(value))).values()) == {value}


@pytest.mark.parametrize("value", AT_THE_LIMIT)
def test_a_decimal_at_the_34_digit_limit_survives_the_bson_converter(value: str) -> None:
    back = round_trip(liquidation(value))
    assert set(decimals_of(back).values()) == {str(Decimal(value))}
    assert back.ltv == Decimal(value)


@pytest.mark.parametrize("value", EXACT + AT_THE_LIMIT)
def test_every_decimal_is_stored_as_the_decimal128_of_its_value(value: str) -> None:
    document = MongoConverter().document(liquidation(value))
    stored = [
        document["penalty_usd"],
        document["ltv"],
        document["health_factor"],
        *document["collateral_seized"].values(),
        *document["debt_repaid"].values(),
    ]
    decimals = [item for item in stored if not isinstance(item, str)]  # the tokens are str
    assert [type(item) for item in decimals] == [Decimal128] * 7
    assert {str(item.to_decimal()) for item in decimals} == {str(Decimal(value))}


def test_the_id_is_stored_as_the_document_id() -> None:
    entity = liquidation("1")
    document = MongoConverter().document(entity)
    assert (document["_id"], "id" in document) == (entity.id, False)


def test_a_missing_optional_decimal_stays_none_through_the_bson_converter() -> None:
    (record,) = [e for e in entities() if isinstance(e, MarketData)]
    back = round_trip(record)
    assert (back.market_cap_usd, str(back.volume_24h_usd)) == (None, "0.0")


# -- what does not fit cannot be built ----------------------------------------------


@pytest.mark.parametrize("value", TOO_BIG)
def test_a_decimal_that_does_not_fit_decimal128_cannot_be_built(value: str) -> None:
    with pytest.raises(ValidationError) as info:
        liquidation(value)
    assert info.value.field == "amount"  # the first decimal built: the seized collateral's


@pytest.mark.parametrize("value", TOO_BIG)
def test_a_top_level_decimal_that_does_not_fit_is_refused_naming_its_field(value: str) -> None:
    with pytest.raises(ValidationError) as info:
        MarketData(
            id=vaultstore.new_id(),
            token="ETH",
            chain_id=1,
            price_usd=value,
            recorded_at=NOW,
            created_at=NOW,
            updated_at=NOW,
        )
    assert info.value.field == "price_usd"


@pytest.mark.parametrize("value", TOO_BIG)
def test_decimal128_itself_refuses_what_the_entities_refuse(value: str) -> None:
    # Why the entities refuse these: Decimal128 cannot hold them exactly.
    with pytest.raises(ArithmeticError):
        Decimal128(Decimal(value))


# -- a real round trip through the server ------------------------------------------------


@pytest.fixture
def mongo_store(clean_mongo: str) -> Iterator[vaultstore.Store]:
    with vaultstore.connect(clean_mongo, pool_size=2) as store:
        yield store


@pytest.fixture
def raw_db(clean_mongo: str) -> Iterator[Database[Any]]:
    client: pymongo.MongoClient[Any] = pymongo.MongoClient(clean_mongo)
    try:
        yield client.get_default_database(codec_options=CODEC_OPTIONS)
    finally:
        client.close()


@pytest.mark.parametrize("value", EXACT + AT_THE_LIMIT)
def test_the_server_stores_the_exact_decimal128(
    mongo_store: vaultstore.Store, raw_db: Database[Any], value: str
) -> None:
    record = mongo_store.market_data.create(
        token="ETH", chain_id=1, price_usd="1", volume_24h_usd=value
    )
    stored = raw_db["market_data"].find_one({"_id": record.id})
    assert stored is not None
    assert stored["volume_24h_usd"] == Decimal128(Decimal(value))
    assert str(stored["volume_24h_usd"].to_decimal()) == str(Decimal(value))


@pytest.mark.parametrize("value", EXACT + AT_THE_LIMIT)
def test_a_decimal_reads_back_from_the_server_with_the_same_str(
    mongo_store: vaultstore.Store, value: str
) -> None:
    record = mongo_store.market_data.create(
        token="ETH", chain_id=1, price_usd="1", volume_24h_usd=value
    )
    found = mongo_store.market_data.find_by_id(record.id)
    assert found is not None
    assert str(found.volume_24h_usd) == str(Decimal(value))


@pytest.mark.parametrize("value", TOO_BIG)
def test_the_store_refuses_a_decimal_that_does_not_fit_before_writing(
    mongo_store: vaultstore.Store, raw_db: Database[Any], value: str
) -> None:
    with pytest.raises(ValidationError) as info:
        mongo_store.market_data.create(token="ETH", chain_id=1, price_usd=value)
    assert info.value.field == "price_usd"
    assert raw_db["market_data"].count_documents({}) == 0


def test_a_stored_vault_reads_back_equal_from_the_server(mongo_store: vaultstore.Store) -> None:
    agent = mongo_store.agents.create(name="agent_123", credibility_score=720)
    vault = mongo_store.vaults.create(
        agent_id=agent.id,
        chain_id=1,
        collateral=TokenAmount(
            token="ETH", amount="1234567890123456789012345678901234", value_usd="20000.00"
        ),
        debt=TokenAmount(token="USDC", amount="0.10", value_usd="1E-30"),
        ltv="59.5",
        health_factor=2.0,
        max_ltv=70,
        liquidation_protection=LiquidationProtection(enabled=True, threshold=59.5),
    )
    found = mongo_store.vaults.find_by_id(vault.id)
    assert found == vault
    assert decimals_of(found) == decimals_of(vault)


def store_price_at(store: vaultstore.Store, recorded_at: datetime) -> MarketData:
    return store.market_data.create(
        token="ETH", chain_id=1, price_usd="2000.5", recorded_at=recorded_at
    )


PARIS_SUMMER = timezone(timedelta(hours=2))
GIVEN = datetime(2026, 6, 1, 14, 0, 0, 123456, tzinfo=PARIS_SUMMER)
"""A time with microseconds, in another timezone."""
AS_STORED = datetime(2026, 6, 1, 12, 0, 0, 123000, tzinfo=UTC)


def test_a_datetime_is_stored_as_the_utc_instant_cut_to_milliseconds(
    mongo_store: vaultstore.Store, raw_db: Database[Any]
) -> None:
    record = store_price_at(mongo_store, GIVEN)
    stored = raw_db["market_data"].find_one({"_id": record.id})
    assert stored is not None
    assert stored["recorded_at"] == AS_STORED


@pytest.mark.parametrize("field", ["recorded_at", "created_at", "updated_at"])
def test_datetimes_come_back_from_the_server_timezone_aware_in_utc(
    mongo_store: vaultstore.Store, raw_db: Database[Any], field: str
) -> None:
    record = store_price_at(mongo_store, GIVEN)
    stored = raw_db["market_data"].find_one({"_id": record.id})
    assert stored is not None
    assert stored[field].utcoffset() == timedelta(0)
    assert stored[field] == getattr(record, field)


@pytest.mark.parametrize("field", ["recorded_at", "created_at", "updated_at"])
def test_datetimes_come_back_from_the_server_at_millisecond_precision(
    mongo_store: vaultstore.Store, raw_db: Database[Any], field: str
) -> None:
    record = store_price_at(mongo_store, GIVEN)
    stored = raw_db["market_data"].find_one({"_id": record.id})
    assert stored is not None
    assert stored[field].microsecond % 1000 == 0


def test_the_store_reads_a_datetime_back_as_the_aware_utc_value_it_returned(
    mongo_store: vaultstore.Store,
) -> None:
    record = store_price_at(mongo_store, GIVEN)
    found = mongo_store.market_data.find_by_id(record.id)
    assert found is not None
    assert (found.recorded_at, found.recorded_at.utcoffset()) == (AS_STORED, timedelta(0))
    assert found == record


def test_a_positive_exponent_is_written_out_as_postgresql_does() -> None:
    """PostgreSQL's NUMERIC gives 1E+3 back as 1000; MongoDB would keep 1E+3. The
    entity writes such values out so that both backends hold the same digits."""
    converter = MongoConverter()
    event = liquidation("1E+3")
    assert str(event.ltv) == "1000"
    loaded = converter.document_loader(LiquidationEvent)(converter.document(event))
    assert str(loaded.ltv) == "1000"


def test_a_positive_exponent_that_writes_out_to_35_digits_is_refused() -> None:
    with pytest.raises(ValidationError):
        liquidation("1E+34")


def _decimal_samples() -> list[Decimal]:
    rng = random.Random(128)
    samples = [
        Decimal(text)
        for text in (
            "0",
            "-0",
            "0.00",
            "0E+5",
            "1",
            "-1",
            "59.5",
            "59.50",
            "1E+3",
            "1000",
            "9" * 34,
            "-" + "9" * 34,
            "1E-6176",
            "1E+6111",
            "9.999999999999999999999999999999999E+6144",
            "0.000000000000000000000000000000001",
            "123456789.123456789",
        )
    ]
    for _ in range(2000):
        digits = rng.randint(1, 34)
        coefficient = rng.randrange(10 ** (digits - 1), 10**digits)
        exponent = rng.randint(-6176, 6111 - digits + 1)
        sign = rng.choice(["", "-"])
        samples.append(Decimal(f"{sign}{coefficient}E{exponent}"))
    return samples


def test_the_fast_decimal128_decoder_agrees_with_bson_digit_for_digit() -> None:
    for value in _decimal_samples():
        encoded = Decimal128(value)
        decoded = decimal_from_bson(encoded)
        assert str(decoded) == str(encoded.to_decimal()), value


@pytest.mark.parametrize("text", ["NaN", "-NaN", "Infinity", "-Infinity"])
def test_the_fast_decoder_leaves_special_values_to_bson(text: str) -> None:
    encoded = Decimal128(text)
    assert str(decimal_from_bson(encoded)) == str(encoded.to_decimal())


def test_a_document_stored_before_versions_reads_as_version_1_and_counts_on(
    mongo_store: vaultstore.Store, raw_db: Database[Any]
) -> None:
    """Migration 0010 gave entities a version; MongoDB documents written before it
    have none. They read as the field's default and the next write makes them 2."""
    agent = mongo_store.agents.create(name="old_timer", credibility_score=700)
    raw_db["agents"].update_one({"_id": agent.id}, {"$unset": {"version": ""}})
    assert "version" not in (raw_db["agents"].find_one({"_id": agent.id}) or {"version": 0})
    stored = mongo_store.agents.find_by_id(agent.id)
    assert stored is not None
    assert stored.version == 1
    updated = mongo_store.agents.update(agent.id, expected_version=1, credibility_score=710)
    assert updated.version == 2
    assert raw_db["agents"].find_one({"_id": agent.id})["version"] == 2  # type: ignore[index]
