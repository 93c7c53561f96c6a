# Generated from tests/_async/test_bulk_insert.py by tools/generate_sync.py: do not edit.
"""market_data.bulk_insert from any iterable, a batch at a time, on both backends:
all or none by default, batch by batch when asked (async source of
tests/_sync/test_bulk_insert.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from vaultstore import ConflictError, NewMarketData, ValidationError, VaultStoreError
from vaultstore._sync.connect import connect
from vaultstore._sync.contracts import Store

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def prices(count: int, *, bad_at: int | None = None, start: int = 0) -> Iterator[NewMarketData]:
    """``count`` prices, one a second, read as they are made; the one at ``bad_at``
    has a negative price."""
    for n in range(start, start + count):
        yield {
            "token": "ETH",
            "chain_id": 1,
            "price_usd": "-1" if n == bad_at else f"{2000 + n % 500}.25",
            "source": "bulk",
            "recorded_at": T0 + timedelta(seconds=n),
        }


def stored(store: Store) -> int:
    count, after = 0, None
    while True:
        page = store.market_data.list(limit=1000, after=after)
        count += len(page)
        if not page.next_cursor:
            return count
        after = page.next_cursor


def test_a_generator_is_stored_a_batch_at_a_time(store: Store) -> None:
    assert store.market_data.bulk_insert(prices(2_500), batch_size=1_000) == 2_500
    assert stored(store) == 2_500
    stats = store.statement_stats()["market_data.insert_many"]
    assert stats.calls == 3  # 1,000 + 1,000 + 500
    latest = store.market_data.latest_price("ETH", 1)
    assert latest is not None
    assert latest.recorded_at == T0 + timedelta(seconds=2_499)
    assert str(latest.price_usd) == f"{2000 + 2_499 % 500}.25"


def test_a_bad_record_in_a_later_batch_stores_nothing(store: Store) -> None:
    """Two batches were sent when the third's record 2,100 turns out bad."""
    with pytest.raises(ValidationError) as info:
        store.market_data.bulk_insert(prices(3_000, bad_at=2_100), batch_size=1_000)
    assert info.value.field == "records[2100].price_usd"
    assert info.value.stored is None  # all or none: nothing was
    assert stored(store) == 0


def test_batch_by_batch_says_how_many_were_stored(store: Store) -> None:
    with pytest.raises(ValidationError) as info:
        store.market_data.bulk_insert(
            prices(3_000, bad_at=2_100), batch_size=1_000, atomic=False
        )
    assert info.value.stored == 2_000
    assert stored(store) == 2_000


def test_a_record_the_database_refuses_stores_nothing(store: Store) -> None:
    """The second batch repeats a price of the first (same token, chain, source and
    moment): the server refuses it, and the first batch goes too."""
    records = [*prices(1_000), *prices(10, start=995)]
    with pytest.raises(ConflictError):
        store.market_data.bulk_insert(records, batch_size=1_000)
    assert stored(store) == 0
    with pytest.raises(ConflictError) as info:
        store.market_data.bulk_insert(records, batch_size=1_000, atomic=False)
    assert info.value.stored == 1_000
    assert stored(store) == 1_000


@pytest.mark.parametrize("size", [0, -5, 2.5, False, "100"])
def test_a_bad_batch_size_is_refused(store: Store, size: Any) -> None:
    with pytest.raises(ValidationError) as info:
        store.market_data.bulk_insert(prices(3), batch_size=size)
    assert info.value.field == "batch_size"
    assert stored(store) == 0


@pytest.mark.parametrize("records", [{"token": "ETH"}, "prices", 42])
def test_records_must_be_an_iterable_of_dicts(store: Store, records: Any) -> None:
    with pytest.raises(VaultStoreError) as info:
        store.market_data.bulk_insert(records)
    assert isinstance(info.value, ValidationError)
    assert info.value.field == "records"


def test_records_are_checked_before_any_io(store: Store) -> None:
    """On a closed store, what is not an iterable of records is still a
    ValidationError: it is refused before a transaction (a connection) is asked for."""
    closed = connect(store.settings.dsn, pool_size=1)
    closed.close()
    with pytest.raises(ValidationError) as info:
        closed.market_data.bulk_insert({"token": "ETH"})  # type: ignore[dict-item]
    assert info.value.field == "records"


def test_nothing_to_store(store: Store) -> None:
    assert store.market_data.bulk_insert(iter(())) == 0
