"""bulk_insert's fast way from records to rows refuses exactly what building the
entity refuses (``EntityConverter.new``, through cattrs), with the same message
and field, and makes the same rows from what it accepts: compared on a corpus of
bad and good records, with no database. The documents and COPY rows made from
the rows are those made from the entities."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from types import MappingProxyType
from typing import Any

import pytest
from psycopg.types.json import Jsonb

from vaultstore import (
    REGISTRY,
    Agent,
    ChainId,
    CreditVault,
    LiquidationEvent,
    MarketData,
    ProtectionRule,
    RiskAlert,
    ValidationError,
)
from vaultstore._arguments import entity_batches, with_recorded_at
from vaultstore._convert import EntityConverter
from vaultstore._mongo import MongoConverter
from vaultstore._new_rows import NewRows, RowMaker, entity_row
from vaultstore._postgres import PostgresConverter
from vaultstore._values import utc_now

T0 = datetime(2026, 1, 1, tzinfo=UTC)
MISSING: Any = object()
SETTABLE = REGISTRY.by_class(MarketData).settable
NOW_FIELDS = ("recorded_at",)
CONVERTERS = [EntityConverter, PostgresConverter, MongoConverter]


def price(**overrides: Any) -> dict[str, Any]:
    base = {"token": "ETH", "chain_id": 1, "price_usd": "2000.25", "recorded_at": T0}
    return {k: v for k, v in {**base, **overrides}.items() if v is not MISSING}


BAD_RECORDS = {
    "bad-decimal": price(price_usd="abc"),
    "decimal-beyond-34-digits": price(price_usd="1." + "1" * 34),
    "decimal-exponent-too-large": price(price_usd="1e6112"),
    "decimal-exponent-too-small": price(price_usd=Decimal("1E-6177")),
    "nan-price": price(price_usd=float("nan")),
    "infinite-price": price(price_usd=Decimal("Infinity")),
    "negative-price": price(price_usd=-1),
    "zero-price": price(price_usd=Decimal("-0")),
    "bool-price": price(price_usd=True),
    "list-price": price(price_usd=[1]),
    "none-price": price(price_usd=None),
    "int-token": price(token=5),
    "empty-token": price(token=""),
    "long-token": price(token="T" * 65),
    "nul-in-token": price(token="E\x00TH"),
    "lone-surrogate-in-source": price(source="\ud800"),
    "none-source": price(source=None),
    "unknown-chain": price(chain_id=999),
    "chain-as-str": price(chain_id="1"),
    "bool-chain": price(chain_id=True),
    "negative-volume": price(volume_24h_usd=-5),
    "bad-market-cap": price(market_cap_usd="ten"),
    "naive-recorded-at": price(recorded_at=datetime(2026, 1, 1)),
    "str-recorded-at": price(recorded_at="2026-01-01T00:00:00Z"),
    "none-recorded-at": price(recorded_at=None),
    "unknown-key": price(exchange="x"),
    "id-given": price(id="mine"),
    "version-given": price(version=2),
    "created-at-given": price(created_at=T0),
    "missing-token": price(token=MISSING),
    "missing-chain": price(chain_id=MISSING),
    "missing-price": price(price_usd=MISSING),
    "missing-and-bad": price(token=MISSING, price_usd=-1),
    "two-bad-fields": price(price_usd=-1, volume_24h_usd="x", source=""),
    "bad-in-a-mapping-proxy": MappingProxyType(price(price_usd=-1)),
}

GOOD_RECORDS = {
    "str-price": price(),
    "int-price": price(price_usd=2000),
    "float-price": price(price_usd=0.1),
    "decimal-price": price(price_usd=Decimal("2000.2500")),
    "positive-exponent": price(price_usd=Decimal("2E+3")),
    "34-digits": price(price_usd="1234567890123456789012345678901.234"),
    "every-field": price(volume_24h_usd="1e6", market_cap_usd=10**12, source="feed"),
    "optionals-as-none": price(volume_24h_usd=None, market_cap_usd=None),
    "chain-as-member": price(chain_id=ChainId.BASE),
    "other-timezone": price(
        recorded_at=datetime(2026, 1, 1, 2, 0, 0, 123456, tzinfo=timezone(timedelta(hours=2)))
    ),
    "sub-millisecond": price(recorded_at=T0 + timedelta(microseconds=1999)),
    "recorded-at-left-out": price(recorded_at=MISSING),
    "in-a-mapping-proxy": MappingProxyType(price()),
}


def slow_error(converter: EntityConverter, record: Any) -> ValidationError:
    """The error of building the entity the slow way, as create() does."""
    with pytest.raises(ValidationError) as info:
        converter.new(MarketData, with_recorded_at(record), SETTABLE)
    return info.value


def batch_rows(converter: EntityConverter, records: list[Any]) -> list[tuple[Any, ...]]:
    batches = entity_batches(converter, MarketData, records, SETTABLE, 1_000, now_fields=NOW_FIELDS)
    return [row for batch in batches for row in batch]


@pytest.mark.parametrize("converter_class", CONVERTERS)
@pytest.mark.parametrize("name", BAD_RECORDS)
def test_a_bad_record_is_refused_as_building_its_entity_refuses_it(
    converter_class: type[EntityConverter], name: str
) -> None:
    converter = converter_class()
    record = BAD_RECORDS[name]
    expected = slow_error(converter, record)
    with pytest.raises(ValidationError) as info:
        batch_rows(converter, [price(), price(price_usd=1), record, price()])
    assert (info.value.field, info.value.message) == (
        f"records[2].{expected.field}",
        expected.message,
    )


@pytest.mark.parametrize("name", BAD_RECORDS)
def test_the_generated_function_refuses_every_bad_record_itself(name: str) -> None:
    """Not by luck of the slow way: the fast way alone lets none of them in."""
    maker = RowMaker(EntityConverter(), MarketData, SETTABLE, NOW_FIELDS)
    assert maker.fast is not None
    with pytest.raises(Exception):  # noqa: B017, PT011 - any refusal sends it the slow way
        maker.fast(BAD_RECORDS[name], "01KBULK0000000000000000000", utc_now())


@pytest.mark.parametrize("converter_class", CONVERTERS)
@pytest.mark.parametrize("name", GOOD_RECORDS)
def test_a_good_record_gives_the_row_of_its_entity(
    converter_class: type[EntityConverter], name: str
) -> None:
    converter = converter_class()
    record = GOOD_RECORDS[name]
    maker = RowMaker(converter, MarketData, SETTABLE, NOW_FIELDS)
    id, now = "01KBULK0000000000000000000", utc_now()
    expected = maker.slow(record, id, now)
    if maker.fast is not None and type(record) is dict:
        assert maker.fast(record, id, now) == expected
    (row,) = batch_rows(converter, [record])
    entity = converter.new(MarketData, with_recorded_at(record), SETTABLE)
    # The id and the time are made anew; every other value is the entity's.
    assert row[1:7] == entity_row(entity)[1:7]
    assert row[10:] == entity_row(entity)[10:]
    assert row[8] == row[9]
    if "recorded_at" in record:
        assert row[7] == entity.recorded_at
    else:
        assert row[7] == row[8]  # the batch's time


def test_a_record_that_is_not_a_dict_is_named_by_its_place() -> None:
    for bad in (["ETH"], None, "ETH", 5):
        with pytest.raises(ValidationError) as info:
            batch_rows(EntityConverter(), [price(), bad])
        assert info.value.field == "records[1]"
        assert info.value.message.startswith("expected a record (dict)")


def test_a_bad_record_is_named_by_its_place_in_the_whole_across_batches() -> None:
    def records() -> Iterator[dict[str, Any]]:
        for n in range(5_000):
            yield price(price_usd=-1 if n == 4_321 else n + 1, recorded_at=T0 + timedelta(n))

    batches = entity_batches(
        EntityConverter(), MarketData, records(), SETTABLE, 1_500, now_fields=NOW_FIELDS
    )
    sizes = []
    with pytest.raises(ValidationError) as info:
        for batch in batches:
            sizes.append(sum(1 for _ in batch))
    assert info.value.field == "records[4321].price_usd"
    assert sizes == [1_500, 1_500]  # the third batch, records 3,000 to 4,499, was not read out


def test_batches_hold_batch_size_records_and_ids_that_ascend() -> None:
    records = [price(price_usd=n + 1) for n in range(2_500)]
    batches = entity_batches(
        EntityConverter(), MarketData, records, SETTABLE, 1_000, now_fields=NOW_FIELDS
    )
    rows, sizes = [], []
    for batch in batches:
        sizes.append(len(read := list(batch)))
        rows += read
    assert sizes == [1_000, 1_000, 500]
    assert len(rows) == 2_500
    ids = [row[0] for row in rows]
    assert ids == sorted(set(ids))
    assert [row[3] for row in rows] == [Decimal(n + 1) for n in range(2_500)]


def test_an_id_prefix_is_put_before_every_id() -> None:
    batches = entity_batches(
        EntityConverter(), MarketData, [price()] * 3, SETTABLE, 10, id_prefix="px_"
    )
    ids = [row[0] for batch in batches for row in batch]
    assert [id[:3] for id in ids] == ["px_"] * 3
    assert {len(id) for id in ids} == {29}


def test_an_id_prefix_too_long_for_the_id_is_refused_as_the_slow_way_refuses_it() -> None:
    prefix = "p" * 40  # 40 + 26 characters: over the 64 an id may have
    batches = entity_batches(
        EntityConverter(), MarketData, [price()], SETTABLE, 10, id_prefix=prefix
    )
    with pytest.raises(ValidationError) as info:
        list(next(batches))
    assert info.value.field == "records[0].id"
    assert info.value.message == "length must be between 1 and 64, got 66"


# -- the same rows as documents and as COPY rows ------------------------------------------


def entities(converter: EntityConverter) -> list[Any]:
    """One entity of every kind: flat, with value objects, with JSON, with a
    computed field, with optional timestamps."""
    tokens = {"token": "ETH", "amount": "1.5", "value_usd": "3000"}
    new = [
        (MarketData, price(volume_24h_usd="10.5")),
        (Agent, {"name": "agent", "credibility_score": 700}),
        (
            CreditVault,
            {
                "agent_id": "a",
                "chain_id": 1,
                "collateral": tokens,
                "debt": tokens,
                "ltv": 50,
                "health_factor": "1.5",
                "max_ltv": 80,
                "liquidation_protection": {"enabled": True, "threshold": 70},
            },
        ),
        (
            RiskAlert,
            {"vault_id": "v", "alert_type": "ltv_warning", "severity": "high", "message": "m"},
        ),
        (
            ProtectionRule,
            {
                "vault_id": "v",
                "name": "r",
                "conditions": {"ltv": {"gt": 70}},
                "actions": [{"type": "repay", "share": 0.5}],
            },
        ),
        (
            LiquidationEvent,
            {
                "vault_id": "v",
                "chain_id": 10,
                "collateral_seized": tokens,
                "debt_repaid": tokens,
                "ltv": 90,
                "health_factor": "0.9",
                "liquidator": "0xabc",
                "tx_hash": "0xdef",
                "occurred_at": T0,
            },
        ),
    ]
    return [converter.new(cls, fields, REGISTRY.by_class(cls).settable) for cls, fields in new]


def new_rows(entity: Any) -> NewRows:
    maker = RowMaker(EntityConverter(), type(entity), REGISTRY.by_class(type(entity)).settable)
    return maker.rows([[entity_row(entity)]])


@pytest.mark.parametrize("index", range(6))
def test_documents_of_rows_are_the_documents_of_their_entities(index: int) -> None:
    converter = MongoConverter()
    entity = entities(converter)[index]
    assert converter.value(new_rows(entity)) == [converter.document(entity)]


@pytest.mark.parametrize("index", range(6))
def test_copy_rows_hold_the_parameters_of_their_entities(index: int) -> None:
    converter = PostgresConverter()
    entity = entities(converter)[index]
    params = converter.params(entity)
    columns = tuple(reversed(params))  # any order the statement names them in
    (row,) = converter.copy_rows(new_rows(entity), columns)
    (row_of_entity,) = converter.copy_rows([entity], columns)  # whole entities, as restore()

    def plain(values: Any) -> list[Any]:
        return [value.obj if isinstance(value, Jsonb) else value for value in values]

    assert plain(row) == plain(params[column] for column in columns) == plain(row_of_entity)
