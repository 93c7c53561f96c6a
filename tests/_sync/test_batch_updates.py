# Generated from tests/_async/test_batch_updates.py by tools/generate_sync.py: do not edit.
"""vaults.update_metrics_many: many vaults' LTV and health factor in one statement
per batch, on both backends (async source of tests/_sync/test_batch_updates.py)."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from vaultstore import BatchResult, ValidationError
from vaultstore._sync.connect import connect
from vaultstore._sync.contracts import Store

from .test_repositories import make_vault


def three_vaults(store: Store) -> list[Any]:
    agent = store.agents.create(name="batched", credibility_score=500)
    return [make_vault(store, agent.id) for _ in range(3)]


def test_many_vaults_updated_in_one_call(store: Store) -> None:
    vaults = three_vaults(store)
    result = store.vaults.update_metrics_many(
        [
            (vaults[0].id, 61, Decimal("1.25")),
            {"id": vaults[1].id, "ltv": "62.5", "health_factor": 1.5},
            (vaults[2].id, 63, 2),
        ]
    )
    assert result == BatchResult(updated=3, missing=())
    stored = [store.vaults.find_by_id(vault.id) for vault in vaults]
    assert [(v.ltv, v.health_factor) for v in stored if v is not None] == [
        (Decimal(61), Decimal("1.25")),
        (Decimal("62.5"), Decimal("1.5")),
        (Decimal(63), Decimal(2)),
    ]
    # Each version counts up, as a single update_vault_metrics counts it.
    assert [v.version for v in stored if v is not None] == [2, 2, 2]
    assert all(
        v.updated_at >= vault.updated_at for v, vault in zip(stored, vaults, strict=True) if v
    )


def test_unknown_ids_are_reported_and_the_others_written(store: Store) -> None:
    vaults = three_vaults(store)
    result = store.vaults.update_metrics_many(
        [(vaults[0].id, 70, 1), ("vault_nope", 71, 1), (vaults[2].id, 72, 1), ("vault_gone", 1, 1)]
    )
    assert result.updated == 2
    assert sorted(result.missing) == ["vault_gone", "vault_nope"]
    untouched = store.vaults.find_by_id(vaults[1].id)
    assert untouched is not None
    assert untouched.version == 1


def test_batches_of_a_generator_are_written_all_or_none(store: Store) -> None:
    """Batches of 2 from a generator: the bad item in the third batch comes after two
    batches were sent, and nothing of them is kept."""
    vaults = three_vaults(store)

    def updates() -> Iterator[tuple[str, Any, Any]]:
        for n in range(5):
            yield vaults[n % 3].id if n < 3 else f"vault_{n}", 40 + n, 1
        yield vaults[0].id + "x", 50, -1  # a negative health factor

    with pytest.raises(ValidationError) as info:
        store.vaults.update_metrics_many(updates(), batch_size=2)
    assert info.value.field == "updates[5].health_factor"
    for vault in vaults:
        assert store.vaults.find_by_id(vault.id) == vault  # nothing changed


def test_batch_size_splits_the_statements(store: Store) -> None:
    vaults = three_vaults(store)
    before = store.statement_stats().get("vaults.update_metrics_many")
    calls_before = before.calls if before else 0
    result = store.vaults.update_metrics_many(
        ((vault.id, 55, 1) for vault in vaults), batch_size=2
    )
    assert result == BatchResult(updated=3)
    assert store.statement_stats()["vaults.update_metrics_many"].calls == calls_before + 2


@pytest.mark.parametrize(
    ("updates", "field"),
    [
        ({"id": "v"}, "updates"),
        ("vault_1", "updates"),
        ([("v1", 50)], "updates[0]"),
        ([{"id": "v1", "ltv": 50}], "updates[0]"),
        ([{"id": "v1", "ltv": 50, "health_factor": 1, "extra": 2}], "updates[0]"),
        ([(["v1"], 50, 1)], "updates[0].id"),
        ([("v1", "fifty", 1)], "updates[0].ltv"),
        ([("v1", 50, -1)], "updates[0].health_factor"),
        ([("v1", 50, 1), ("v2", 50, 1), ("v1", 51, 1)], "updates[2]"),
    ],
)
def test_bad_updates_are_refused_before_any_write(
    store: Store, updates: Any, field: str
) -> None:
    with pytest.raises(ValidationError) as info:
        store.vaults.update_metrics_many(updates)
    assert info.value.field == field


@pytest.mark.parametrize("size", [0, -1, 1.5, True, "10"])
def test_a_bad_batch_size_is_refused(store: Store, size: Any) -> None:
    with pytest.raises(ValidationError) as info:
        store.vaults.update_metrics_many([], batch_size=size)
    assert info.value.field == "batch_size"


def test_updates_are_checked_before_any_io(store: Store) -> None:
    """On a closed store, what is not an iterable of updates is still a
    ValidationError: it is refused before a transaction (a connection) is asked for."""
    closed = connect(store.settings.dsn, pool_size=1)
    closed.close()
    with pytest.raises(ValidationError) as info:
        closed.vaults.update_metrics_many("vault_1")  # type: ignore[arg-type]
    assert info.value.field == "updates"


def test_no_updates_write_nothing(store: Store) -> None:
    assert store.vaults.update_metrics_many([]) == BatchResult(updated=0)


def test_inside_a_transaction_it_joins_it(store: Store) -> None:
    vaults = three_vaults(store)
    with pytest.raises(RuntimeError):
        with store.transaction() as tx:
            result = tx.vaults.update_metrics_many([(vaults[0].id, 66, 1)])
            assert result.updated == 1
            raise RuntimeError("roll it back")
    assert store.vaults.find_by_id(vaults[0].id) == vaults[0]
