# Generated from tests/_async/test_run_transaction.py by tools/generate_sync.py: do not edit.
"""Transactions run again after a retryable error, and the errors that say whether
to (async source of tests/_sync/test_run_transaction.py)."""

from __future__ import annotations

from typing import Any

import pytest

from vaultstore._sync.connect import connect
from vaultstore._sync.contracts import Store
from vaultstore.errors import (
    CommitUnknownError,
    ConcurrentUpdateError,
    ConflictError,
    StoreClosedError,
    UnavailableError,
    ValidationError,
    VaultStoreError,
)


def test_the_result_of_fn_is_returned_and_its_writes_committed(store: Store) -> None:
    def create(tx: Any) -> str:
        agent = tx.agents.create(name="committed", credibility_score=1)
        return str(agent.id)

    agent_id = store.run_transaction(create)
    assert (store.agents.find_by_id(agent_id)) is not None


def test_a_retryable_error_runs_the_whole_transaction_again(store: Store) -> None:
    attempts: list[int] = []

    def flaky(tx: Any) -> str:
        attempts.append(len(attempts) + 1)
        tx.agents.create(name=f"attempt_{len(attempts)}", credibility_score=1)
        if len(attempts) == 1:
            raise ConcurrentUpdateError("a concurrent writer got there first")
        return "done"

    assert store.run_transaction(flaky) == "done"
    assert attempts == [1, 2]
    assert store.agents.find_by_name("attempt_1") is None  # rolled back
    assert store.agents.find_by_name("attempt_2") is not None


def test_a_permanent_error_is_raised_at_once(store: Store) -> None:
    store.agents.create(name="taken", credibility_score=1)
    calls: list[int] = []

    def duplicate(tx: Any) -> None:
        calls.append(1)
        tx.agents.create(name="taken", credibility_score=2)

    with pytest.raises(ConflictError) as info:
        store.run_transaction(duplicate)
    assert (len(calls), info.value.retryable) == (1, False)


def test_it_gives_up_after_the_last_attempt(store: Store) -> None:
    calls: list[int] = []

    def always(tx: Any) -> None:
        calls.append(1)
        raise ConcurrentUpdateError("again")

    with pytest.raises(ConcurrentUpdateError):
        store.run_transaction(always, attempts=3)
    assert len(calls) == 3


def test_a_commit_with_an_unknown_outcome_is_never_run_again(store: Store) -> None:
    calls: list[int] = []

    def unknown(tx: Any) -> None:
        calls.append(1)
        raise CommitUnknownError("lost while committing")

    with pytest.raises(CommitUnknownError) as info:
        store.run_transaction(unknown)
    assert (len(calls), info.value.retryable) == (1, False)


@pytest.mark.parametrize("attempts", [0, -1, True, 2.5])
def test_attempts_must_be_a_positive_int(store: Store, attempts: Any) -> None:
    def nothing(tx: Any) -> None:
        return None

    with pytest.raises(ValidationError) as info:
        store.run_transaction(nothing, attempts=attempts)
    assert info.value.field == "attempts"


def test_two_transactions_writing_one_document_conflict_retryably_on_mongodb(
    clean_mongo: str,
) -> None:
    with connect(clean_mongo) as store:
        agent = store.agents.create(name="contested", credibility_score=1)
        with store.transaction() as first:
            first.agents.update(agent.id, credibility_score=2)
            with pytest.raises(ConcurrentUpdateError) as info:
                with store.transaction() as second:
                    second.agents.update(agent.id, credibility_score=3)
        assert info.value.retryable
        stored = store.agents.find_by_id(agent.id)
        assert stored is not None
        assert stored.credibility_score == 2


@pytest.mark.parametrize("backend", ["clean_db", "clean_mongo"])
def test_a_closed_store_says_so_and_is_not_retryable(
    request: pytest.FixtureRequest, backend: str
) -> None:
    store = connect(request.getfixturevalue(backend), pool_size=1)
    store.close()
    with pytest.raises(StoreClosedError) as info:
        store.agents.find_by_id("any")
    assert isinstance(info.value, UnavailableError)
    assert not info.value.retryable
    assert "closed" in str(info.value)


def test_run_transaction_inside_a_transaction_is_refused(store: Store) -> None:
    def nothing(tx: Any) -> None:
        return None

    with store.transaction() as tx:
        with pytest.raises(VaultStoreError, match=r"inside store\.transaction"):
            tx.run_transaction(nothing)  # type: ignore[attr-defined]
