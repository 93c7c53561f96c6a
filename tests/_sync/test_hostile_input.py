# Generated from tests/_async/test_hostile_input.py by tools/generate_sync.py: do not edit.
"""Input built to break things, refused on both backends with vaultstore's own
errors naming the argument (async source of tests/_sync/test_hostile_input.py):
forged cursors with values no listing makes, wrong-typed arguments, huge input."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from vaultstore import ChainId
from vaultstore._sync.contracts import Store
from vaultstore._values import SHOWN
from vaultstore.errors import ValidationError, VaultStoreError

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def forged(*values: Any) -> str:
    """A cursor the way the listings encode them, around any key values."""
    raw = json.dumps(list(values)).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


LTV_CURSORS = [
    forged({"d": "1E+999999"}, "v1"),  # beyond any Decimal128
    forged({"d": "1.0000000000000000000000000000000000001"}, "v1"),  # 38 digits
    forged({"d": "NaN"}, "v1"),
    forged({"d": "-Infinity"}, "v1"),
    forged({"d": "50"}, 7),
    forged({"d": "50"}, "v\x00"),
    forged({"d": "50"}, ""),  # no page ends on an empty id
]
TIME_CURSORS = [
    forged({"t": "2026-01-01T00:00:00"}, "v1"),  # no time zone
    forged({"t": "9999-12-31T23:59:59+00:00"}, ["v1"]),
    forged({"t": "2026-01-01T00:00:00+00:00"}, "\udcff"),
    forged({"d": "5"}, "v1"),
    forged({"t": "2026-01-01T00:00:00+00:00"}, ""),
]


@pytest.mark.parametrize("cursor", LTV_CURSORS)
def test_a_forged_riskiest_first_cursor_is_refused(store: Store, cursor: str) -> None:
    with pytest.raises(ValidationError) as info:
        store.vaults.find_high_risk_vaults(10, after=cursor)
    assert info.value.field == "after"


@pytest.mark.parametrize("cursor", TIME_CURSORS)
def test_a_forged_time_range_cursor_is_refused(store: Store, cursor: str) -> None:
    with pytest.raises(ValidationError) as liquidations:
        store.liquidations.find_between(T0, T0.replace(year=2027), after=cursor)
    with pytest.raises(ValidationError) as prices:
        store.market_data.history("ETH", ChainId.ETHEREUM, after=cursor)
    assert (liquidations.value.field, prices.value.field) == ("after", "after")


WRONG_TYPES: list[tuple[str, Callable[[Store], Any]]] = [
    ("chain_id", lambda s: s.vaults.find_by_chain_id([1])),  # type: ignore[arg-type]
    ("chain_id", lambda s: s.vaults.find_by_chain_id({"$gt": 0})),  # type: ignore[arg-type]
    ("tier", lambda s: s.agents.find_by_tier(["good"])),  # type: ignore[arg-type]
    ("severity", lambda s: s.alerts.find_open_by_severity({"high"})),  # type: ignore[arg-type]
    ("chain_id", lambda s: s.market_data.latest_price("ETH", [1])),  # type: ignore[arg-type]
    ("threshold", lambda s: s.vaults.find_high_risk_vaults([80])),  # type: ignore[arg-type]
    ("id", lambda s: s.vaults.find_by_id({"$ne": None})),  # type: ignore[arg-type]
    ("limit", lambda s: s.vaults.list(limit=[1])),  # type: ignore[arg-type]
]


@pytest.mark.parametrize(
    ("field", "call"), WRONG_TYPES, ids=lambda v: v if isinstance(v, str) else ""
)
def test_a_wrong_typed_argument_is_refused_naming_it(
    store: Store, field: str, call: Callable[[Store], Any]
) -> None:
    with pytest.raises(ValidationError) as info:
        call(store)
    assert info.value.field == field


def test_a_huge_input_is_quoted_at_most_in_part(store: Store) -> None:
    huge = "9" * 1_000_000
    calls: list[Callable[[], Any]] = [
        lambda: store.vaults.find_high_risk_vaults(huge),
        lambda: store.vaults.find_by_chain_id(huge),  # type: ignore[arg-type]
        lambda: store.agents.create(name="x", credibility_score=huge),  # type: ignore[arg-type]
        lambda: store.vaults.update(huge, ltv=1),
    ]
    for call in calls:
        with pytest.raises(VaultStoreError) as info:
            call()
        assert len(str(info.value)) < SHOWN + 200, str(info.value)[:300]


def test_an_array_inside_an_array_is_refused_as_a_condition(store: Store) -> None:
    with pytest.raises(ValidationError) as info:
        store.protection_rules.find_by_conditions({"levels": [[80, 90]]})
    assert info.value.field == "conditions"
