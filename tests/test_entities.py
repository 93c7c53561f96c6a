"""Entities built directly: exact decimals, immutability, tiers, the TypedDicts that
describe create() and update(), and ids."""

from __future__ import annotations

import itertools
import os
import random
from datetime import UTC, datetime
from decimal import Decimal
from enum import IntEnum
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pytest

import vaultstore
from vaultstore import (
    Agent,
    AgentChanges,
    AlertChanges,
    ChainId,
    CredibilityTier,
    CreditVault,
    LiquidationChanges,
    LiquidationEvent,
    LiquidationProtection,
    MarketData,
    MarketDataChanges,
    NewAgent,
    NewAlert,
    NewLiquidation,
    NewMarketData,
    NewProtectionRule,
    NewVault,
    ProtectionRule,
    ProtectionRuleChanges,
    RiskAlert,
    TokenAmount,
    ValidationError,
    VaultChanges,
    _ids,
    _values,
)
from vaultstore._ids import encode, id_timestamp_ms, new_ids

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def amount(value: Any) -> Decimal:
    return TokenAmount(token="ETH", amount=value, value_usd=0).amount


# -- exact decimals ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (59.5, "59.5"),
        (0.1, "0.1"),
        (0.1 + 0.2, "0.30000000000000004"),  # the float as Python writes it, no more
        (1e-7, "1E-7"),
        ("1e3", "1000"),  # written out, as PostgreSQL gives it back
        (" 2.50 ", "2.50"),
        (10, "10"),
        (10**33, str(10**33)),
        (Decimal("123.4500"), "123.4500"),
    ],
)
def test_number_becomes_the_decimal_it_is_written_as(given: Any, expected: str) -> None:
    result = amount(given)
    assert isinstance(result, Decimal)
    assert str(result) == expected


def test_float_does_not_become_its_binary_expansion() -> None:
    assert amount(0.1) == Decimal("0.1")
    assert amount(0.1) != Decimal.from_float(0.1)


def test_negative_zero_is_stored_as_zero() -> None:
    assert str(amount(Decimal("-0"))) == "0"


@pytest.mark.parametrize(
    "given",
    [
        "1." + "1" * 34,  # 35 significant digits
        Decimal("1234567890123456789012345678901234.5"),
        10**35,
        "1e6112",
        "1e-6177",
    ],
)
def test_decimal_beyond_34_digits_or_decimal128_exponents_is_refused(given: Any) -> None:
    with pytest.raises(ValidationError) as info:
        amount(given)
    assert info.value.field == "amount"


def test_decimal_of_34_significant_digits_is_kept_exactly() -> None:
    digits = "1234567890123456789012345678901.234"
    assert str(amount(digits)) == digits


@pytest.mark.parametrize(
    "given", [True, float("nan"), float("inf"), "NaN", "-Infinity", "ten", None, [1]]
)
def test_non_numbers_are_refused(given: Any) -> None:
    with pytest.raises(ValidationError) as info:
        amount(given)
    assert info.value.field == "amount"


def _decimal_corpus() -> list[Decimal]:
    """Decimals at and around every limit of the 34-digit, Decimal128 rules, and
    random ones of 1 to 40 digits with exponents from -6,200 to +40."""
    edges = [
        "0", "-0", "0E+100", "0E-6176", "0E-6177", "-0E-3", "1E+3", "1E+33", "1E+34",
        "9" * 34, "9" * 35, "9" * 34 + "E+1", "1E-6176", "1E-6177", "9" * 34 + "E-6176",
        "9" * 34 + "E-6143", "9" * 34 + "E-6142", "1." + "0" * 33, "1." + "0" * 34,
        "12.50", "-7.25", "123E-6150", "1E+6111", "1E+6112",
    ]  # fmt: skip
    rng = random.Random(9)
    randoms = []
    for _ in range(5_000):
        digits = rng.randrange(10 ** rng.randrange(1, 41))
        randoms.append(f"{rng.choice('-+')}{digits}E{rng.randrange(-6200, 41)}")
    return [Decimal(text) for text in edges + randoms]


def test_decimals_checked_in_c_are_judged_as_by_their_digits() -> None:
    """to_decimal's check in C (a decimal context that traps) accepts only what
    the rules by digits and exponent accept, and keeps it as those rules do."""
    for value in _decimal_corpus():
        by_digits = _values.fitted(value, value)
        result = _values.to_decimal(value)
        if isinstance(by_digits, _values.Invalid):
            assert isinstance(result, _values.Invalid), value
            assert result.reason == by_digits.reason
        else:
            assert not isinstance(result, _values.Invalid), value
            assert str(result) == str(by_digits), value


@pytest.mark.parametrize(
    "given",
    [
        datetime(2026, 1, 1, 0, 0, 0, 123456, tzinfo=UTC),
        datetime(2026, 1, 1, 0, 0, 0, 123000, tzinfo=UTC),
        datetime(2026, 1, 1, tzinfo=UTC),
        datetime(1, 1, 1, 0, 0, 0, 999, tzinfo=UTC),
        datetime.fromisoformat("2026-01-01T02:00:00.123456+02:00"),
        datetime(2026, 3, 29, 1, 30, 0, 999999, tzinfo=ZoneInfo("Europe/Paris")),
    ],
)
def test_timestamps_in_utc_are_cut_as_others_are(given: datetime) -> None:
    """to_utc's short way for a datetime already in UTC gives what moving it to
    UTC and cutting it with replace() gives."""
    moved = given.astimezone(UTC)
    expected = moved.replace(microsecond=moved.microsecond // 1000 * 1000)
    result = _values.to_utc(given)
    assert result == expected
    assert result.tzinfo is UTC
    assert type(result) is datetime


class _OtherEnum(IntEnum):
    ONE = 1


@pytest.mark.parametrize("given", [1, ChainId.ETHEREUM, _OtherEnum.ONE])
def test_an_enum_member_is_found_by_its_value_or_as_itself(given: Any) -> None:
    assert _values.enum_member(ChainId, given) is ChainId.ETHEREUM


@pytest.mark.parametrize("given", [True, False, 1.5, "1", [1], None])
def test_a_bool_or_another_type_is_no_enum_member(given: Any) -> None:
    assert isinstance(_values.enum_member(ChainId, given), _values.Invalid)


def test_protection_threshold_above_max_ltv_is_refused_when_building_a_vault() -> None:
    with pytest.raises(ValidationError) as info:
        CreditVault(
            id="v",
            agent_id="a",
            chain_id=1,
            collateral=TokenAmount(token="ETH", amount=1, value_usd=1),
            debt=TokenAmount(token="USDC", amount=1, value_usd=1),
            ltv=50,
            health_factor=2,
            max_ltv=70,
            liquidation_protection=LiquidationProtection(threshold="70.01"),
            created_at=T0,
            updated_at=T0,
        )
    assert info.value.field == "liquidation_protection.threshold"


def test_naive_timestamp_is_refused() -> None:
    with pytest.raises(ValidationError) as info:
        Agent(
            id="a",
            name="n",
            credibility_score=1,
            created_at=datetime(2026, 1, 1),  # no timezone
            updated_at=T0,
        )
    assert info.value.field == "created_at"


def test_timestamps_are_moved_to_utc_and_cut_to_milliseconds() -> None:
    local = datetime.fromisoformat("2026-01-01T02:00:00.123456+02:00")
    agent = Agent(id="a", name="n", credibility_score=1, created_at=local, updated_at=local)
    assert agent.created_at == datetime(2026, 1, 1, 0, 0, 0, 123000, tzinfo=UTC)
    assert agent.created_at.utcoffset() is not None


# -- frozen ----------------------------------------------------------------------------------


def test_entities_are_frozen() -> None:
    agent = Agent(id="a", name="n", credibility_score=1, created_at=T0, updated_at=T0)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        agent.name = "m"  # type: ignore[misc]
    assert agent.name == "n"


def test_nested_values_are_frozen() -> None:
    protection = LiquidationProtection(threshold=50)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        protection.threshold = Decimal(90)  # type: ignore[misc]


def test_entities_take_no_new_attributes() -> None:
    token = TokenAmount(token="ETH", amount=1, value_usd=1)
    with pytest.raises((AttributeError, TypeError)):
        token.price = 1  # type: ignore[attr-defined]


def test_json_fields_are_copied_from_the_caller() -> None:
    conditions: dict[str, Any] = {"ltv_gte": 85, "chains": [1]}
    rule = ProtectionRule(
        id="r",
        vault_id="v",
        name="n",
        conditions=conditions,
        actions=[{"type": "notify"}],
        created_at=T0,
        updated_at=T0,
    )
    conditions["chains"].append(10)
    assert rule.conditions == {"ltv_gte": 85, "chains": [1]}


# -- credibility tiers -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("score", "tier"),
    [
        (0, CredibilityTier.POOR),
        (399, CredibilityTier.POOR),
        (400, CredibilityTier.FAIR),
        (599, CredibilityTier.FAIR),
        (600, CredibilityTier.GOOD),
        (799, CredibilityTier.GOOD),
        (800, CredibilityTier.EXCELLENT),
        (1000, CredibilityTier.EXCELLENT),
    ],
)
def test_credibility_tier_boundaries(score: int, tier: CredibilityTier) -> None:
    assert CredibilityTier.for_score(score) is tier
    agent = Agent(id="a", name="n", credibility_score=score, created_at=T0, updated_at=T0)
    assert agent.credibility_tier is tier


@pytest.mark.parametrize("score", [-1, 1001])
def test_credibility_score_outside_0_to_1000_is_refused(score: int) -> None:
    with pytest.raises(ValidationError) as info:
        Agent(id="a", name="n", credibility_score=score, created_at=T0, updated_at=T0)
    assert info.value.field == "credibility_score"


# -- the TypedDicts of create() and update() ------------------------------------------------

SET_BY_VAULTSTORE = {"id", "created_at", "updated_at", "version"}
STATE_KEPT_BY_METHODS = {
    RiskAlert: {"status", "acknowledged_at", "resolved_at"},  # acknowledge(), resolve()
    ProtectionRule: {"last_triggered_at", "trigger_count"},  # mark_triggered()
}
"""Fields that create() does not take because a dedicated method changes them."""

NEW = [
    (Agent, NewAgent),
    (CreditVault, NewVault),
    (RiskAlert, NewAlert),
    (LiquidationEvent, NewLiquidation),
    (ProtectionRule, NewProtectionRule),
    (MarketData, NewMarketData),
]
CHANGES = [
    (Agent, AgentChanges, NewAgent),
    (CreditVault, VaultChanges, NewVault),
    (RiskAlert, AlertChanges, NewAlert),
    (LiquidationEvent, LiquidationChanges, NewLiquidation),
    (ProtectionRule, ProtectionRuleChanges, NewProtectionRule),
    (MarketData, MarketDataChanges, NewMarketData),
]


def keys(typed_dict: Any) -> set[str]:
    return set(typed_dict.__required_keys__ | typed_dict.__optional_keys__)


def init_fields(cls: type) -> set[str]:
    return {f.name for f in attrs.fields(cls) if f.init}


@pytest.mark.parametrize(("entity", "new"), NEW, ids=lambda v: getattr(v, "__name__", ""))
def test_new_typed_dict_names_only_fields_of_its_entity(entity: type, new: Any) -> None:
    assert keys(new) - init_fields(entity) == set()


@pytest.mark.parametrize(("entity", "new"), NEW, ids=lambda v: getattr(v, "__name__", ""))
def test_new_typed_dict_covers_every_field_vaultstore_does_not_set(entity: type, new: Any) -> None:
    settable = init_fields(entity) - SET_BY_VAULTSTORE - STATE_KEPT_BY_METHODS.get(entity, set())
    assert keys(new) == settable


@pytest.mark.parametrize(
    ("entity", "changes", "new"), CHANGES, ids=lambda v: getattr(v, "__name__", "")
)
def test_changes_typed_dict_names_only_fields_settable_at_creation(
    entity: type, changes: Any, new: Any
) -> None:
    assert keys(changes) - keys(new) == set()
    assert keys(changes) & SET_BY_VAULTSTORE == set()
    assert changes.__required_keys__ == frozenset()


# -- ids -----------------------------------------------------------------------------------------


def test_ids_are_26_crockford_base32_characters() -> None:
    ids = [vaultstore.new_id() for _ in range(100)]
    alphabet = set("0123456789ABCDEFGHJKMNPQRSTVWXYZ")
    assert {len(i) for i in ids} == {26}
    assert set("".join(ids)) <= alphabet


def test_ids_made_in_a_row_are_unique_and_increasing() -> None:
    ids = [vaultstore.new_id() for _ in range(10_000)]
    assert len(set(ids)) == len(ids)
    assert ids == sorted(ids)
    assert all(a < b for a, b in itertools.pairwise(ids))


def test_ids_made_in_bulk_follow_the_ids_made_before_and_precede_those_after() -> None:
    before = vaultstore.new_id()
    ids = new_ids(5_000)
    after = vaultstore.new_id()
    assert len(set(ids)) == len(ids) == 5_000
    assert {len(i) for i in ids} == {26}
    assert [before, *ids, after] == sorted([before, *ids, after])
    assert before < ids[0]
    assert ids[-1] < after


def test_ids_made_in_bulk_count_up_across_their_shared_prefix(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The 22 leading characters are encoded once per 2**20 ids: ids that cross
    such a boundary (and the next) are still the encoding of consecutive values."""
    first = (1 << 20) - 3
    monkeypatch.setattr(_ids, "_last_ms", -1)  # a fresh millisecond: the random start is used
    monkeypatch.setattr(os, "urandom", lambda n: (first << 1).to_bytes(n, "big"))
    ids = new_ids((1 << 20) + 10)
    start = id_timestamp_ms(ids[0]) << 80 | first
    for offset in [0, 1, 2, 3, 4, 1 << 19, (1 << 20) + 2, (1 << 20) + 3, (1 << 20) + 9]:
        assert ids[offset] == encode(start + offset), offset


def test_no_ids_made_in_bulk_for_none_asked() -> None:
    assert new_ids(0) == []


@pytest.mark.parametrize(
    ("value", "ulid"),
    [
        (0, "00000000000000000000000000"),
        (2**128 - 1, "7ZZZZZZZZZZZZZZZZZZZZZZZZZ"),  # the largest ULID
        (1, "00000000000000000000000001"),
        (31 << 5, "000000000000000000000000Z0"),
        (0x0180 << 112, "01G00000000000000000000000"),
    ],
)
def test_ids_are_encoded_in_crockford_s_base32(value: int, ulid: str) -> None:
    assert encode(value) == ulid
    assert id_timestamp_ms(ulid) == value >> 80
