"""The operation pipeline (async source of tests/_sync/test_pipeline.py): every
repository call passes through one place, which counts it; ``store.statement_stats()``
reads the counts, the same on both backends and both APIs."""

from __future__ import annotations

import pytest

import vaultstore
from vaultstore._async.contracts import AsyncStore
from vaultstore.errors import ConflictError, NotFoundError

EXPECTED_NAMES = {
    "agents.insert",
    "agents.find_by_id",
    "agents.find_by_name",
    "agents.update",
    "agents.delete",
    "documents.delete_by_owner",  # an agent's delete takes its documents with it
}


async def test_each_call_is_counted_under_its_operation(store: AsyncStore) -> None:
    # find_by_name: a read the cache never serves (with VAULTSTORE_CACHE_URL set, a
    # find_by_id served by Redis is no statement)
    await store.agents.create(name="counted", credibility_score=10)
    for _ in range(3):
        await store.agents.find_by_name("counted")
    assert await store.agents.find_by_name("missing") is None
    stats = store.statement_stats()
    assert (stats["agents.insert"].calls, stats["agents.find_by_name"].calls) == (1, 4)
    assert stats["agents.find_by_name"].errors == 0
    assert stats["agents.find_by_name"].total_seconds > 0


async def test_a_call_that_raises_is_counted_as_an_error(store: AsyncStore) -> None:
    await store.agents.create(name="taken", credibility_score=10)
    with pytest.raises(ConflictError):
        await store.agents.create(name="taken", credibility_score=20)
    insert = store.statement_stats()["agents.insert"]
    assert (insert.calls, insert.errors) == (2, 1)


async def test_a_bad_argument_never_reaches_the_pipeline(store: AsyncStore) -> None:
    with pytest.raises(vaultstore.ValidationError):
        await store.agents.find_by_id(42)  # type: ignore[arg-type]
    assert "agents.find_by_id" not in store.statement_stats()


async def test_calls_in_a_transaction_count_for_the_store(store: AsyncStore) -> None:
    async with store.transaction() as tx:
        agent = await tx.agents.create(name="in_tx", credibility_score=10)
        await tx.agents.find_by_id(agent.id)
    stats = store.statement_stats()
    assert (stats["agents.insert"].calls, stats["agents.find_by_id"].calls) == (1, 1)


async def test_the_operations_are_named_alike_on_both_backends(store: AsyncStore) -> None:
    agent = await store.agents.create(name="named", credibility_score=10)
    await store.agents.find_by_id(agent.id)
    await store.agents.find_by_name("named")
    await store.agents.update(agent.id, credibility_score=900)
    await store.agents.delete(agent.id)
    with pytest.raises(NotFoundError):
        await store.agents.update(agent.id, credibility_score=1)
    stats = store.statement_stats()
    assert set(stats) == EXPECTED_NAMES
    assert all(isinstance(s, vaultstore.StatementStats) for s in stats.values())
    assert stats["agents.update"].calls == 2  # the second found no row: not an error
    assert stats["agents.update"].errors == 0


async def test_a_multi_step_call_counts_each_operation_it_runs(store: AsyncStore) -> None:
    with pytest.raises(NotFoundError):
        await store.alerts.acknowledge("missing")
    stats = store.statement_stats()
    assert (stats["alerts.acknowledge"].calls, stats["alerts.find_by_id"].calls) == (1, 1)


async def test_the_documents_are_counted_as_every_repository_is(store: AsyncStore) -> None:
    agent = await store.agents.create(name="with_documents", credibility_score=10)
    document = await store.documents.put("agent", agent.id, "report.txt", b"risk" * 1000)
    assert [chunk async for chunk in store.documents.chunks(document.id)] == [b"risk" * 1000]
    await store.documents.list("agent", agent.id)
    await store.documents.delete(document.id)
    stats = store.statement_stats()
    assert {
        name: stats[f"documents.{name}"].calls
        for name in ("insert", "find_by_id", "read_chunks", "list_by_owner", "delete")
    } == {"insert": 1, "find_by_id": 1, "read_chunks": 1, "list_by_owner": 1, "delete": 1}
