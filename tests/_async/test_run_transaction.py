"""Transactions run again after a retryable error, and the errors that say whether
to (async source of tests/_sync/test_run_transaction.py)."""

from __future__ import annotations

from typing import Any

import pytest

from vaultstore._async.connect import connect
from vaultstore._async.contracts import AsyncStore
from vaultstore.errors import (
    CommitUnknownError,
    ConcurrentUpdateError,
    ConflictError,
    StoreClosedError,
    UnavailableError,
    ValidationError,
    VaultStoreError,
)


async def test_the_result_of_fn_is_returned_and_its_writes_committed(store: AsyncStore) -> None:
    async def create(tx: Any) -> str:
        agent = await tx.agents.create(name="committed", credibility_score=1)
        return str(agent.id)

    agent_id = await store.run_transaction(create)
    assert (await store.agents.find_by_id(agent_id)) is not None


async def test_a_retryable_error_runs_the_whole_transaction_again(store: AsyncStore) -> None:
    attempts: list[int] = []

    async def flaky(tx: Any) -> str:
        attempts.append(len(attempts) + 1)
        await tx.agents.create(name=f"attempt_{len(attempts)}", credibility_score=1)
        if len(attempts) == 1:
            raise ConcurrentUpdateError("a concurrent writer got there first")
        return "done"

    assert await store.run_transaction(flaky) == "done"
    assert attempts == [1, 2]
    assert await store.agents.find_by_name("attempt_1") is None  # rolled back
    assert await store.agents.find_by_name("attempt_2") is not None


async def test_a_permanent_error_is_raised_at_once(store: AsyncStore) -> None:
    await store.agents.create(name="taken", credibility_score=1)
    calls: list[int] = []

    async def duplicate(tx: Any) -> None:
        calls.append(1)
        await tx.agents.create(name="taken", credibility_score=2)

    with pytest.raises(ConflictError) as info:
        await store.run_transaction(duplicate)
    assert (len(calls), info.value.retryable) == (1, False)


async def test_it_gives_up_after_the_last_attempt(store: AsyncStore) -> None:
    calls: list[int] = []

    async def always(tx: Any) -> None:
        calls.append(1)
        raise ConcurrentUpdateError("again")

    with pytest.raises(ConcurrentUpdateError):
        await store.run_transaction(always, attempts=3)
    assert len(calls) == 3


async def test_a_commit_with_an_unknown_outcome_is_never_run_again(store: AsyncStore) -> None:
    calls: list[int] = []

    async def unknown(tx: Any) -> None:
        calls.append(1)
        raise CommitUnknownError("lost while committing")

    with pytest.raises(CommitUnknownError) as info:
        await store.run_transaction(unknown)
    assert (len(calls), info.value.retryable) == (1, False)


@pytest.mark.parametrize("attempts", [0, -1, True, 2.5])
async def test_attempts_must_be_a_positive_int(store: AsyncStore, attempts: Any) -> None:
    async def nothing(tx: Any) -> None:
        return None

    with pytest.raises(ValidationError) as info:
        await store.run_transaction(nothing, attempts=attempts)
    assert info.value.field == "attempts"


async def test_two_transactions_writing_one_document_conflict_retryably_on_mongodb(
    clean_mongo: str,
) -> None:
    async with await connect(clean_mongo) as store:
        agent = await store.agents.create(name="contested", credibility_score=1)
        async with store.transaction() as first:
            await first.agents.update(agent.id, credibility_score=2)
            with pytest.raises(ConcurrentUpdateError) as info:
                async with store.transaction() as second:
                    await second.agents.update(agent.id, credibility_score=3)
        assert info.value.retryable
        stored = await store.agents.find_by_id(agent.id)
        assert stored is not None
        assert stored.credibility_score == 2


@pytest.mark.parametrize("backend", ["clean_db", "clean_mongo"])
async def test_a_closed_store_says_so_and_is_not_retryable(
    request: pytest.FixtureRequest, backend: str
) -> None:
    store = await connect(request.getfixturevalue(backend), pool_size=1)
    await store.close()
    with pytest.raises(StoreClosedError) as info:
        await store.agents.find_by_id("any")
    assert isinstance(info.value, UnavailableError)
    assert not info.value.retryable
    assert "closed" in str(info.value)


async def test_run_transaction_inside_a_transaction_is_refused(store: AsyncStore) -> None:
    async def nothing(tx: Any) -> None:
        return None

    async with store.transaction() as tx:
        with pytest.raises(VaultStoreError, match=r"inside store\.transaction"):
            await tx.run_transaction(nothing)  # type: ignore[attr-defined]
