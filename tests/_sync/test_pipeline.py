# Generated from tests/_async/test_pipeline.py by tools/generate_sync.py: do not edit.
"""The operation pipeline (async source of tests/_sync/test_pipeline.py): every
repository call passes through one place, which counts it; ``store.statement_stats()``
reads the counts, the same on both backends and both APIs."""

from __future__ import annotations

import pytest

import vaultstore
from vaultstore._sync.contracts import Store
from vaultstore.errors import ConflictError, NotFoundError

EXPECTED_NAMES = {
    "agents.insert",
    "agents.find_by_id",
    "agents.find_by_name",
    "agents.update",
    "agents.delete",
    "documents.delete_by_owner",  # an agent's delete takes its documents with it
}


def test_each_call_is_counted_under_its_operation(store: Store) -> None:
    # find_by_name: a read the cache never serves (with VAULTSTORE_CACHE_URL set, a
    # find_by_id served by Redis is no statement)
    store.agents.create(name="counted", credibility_score=10)
    for _ in range(3):
        store.agents.find_by_name("counted")
    assert store.agents.find_by_name("missing") is None
    stats = store.statement_stats()
    assert (stats["agents.insert"].calls, stats["agents.find_by_name"].calls) == (1, 4)
    assert stats["agents.find_by_name"].errors == 0
    assert stats["agents.find_by_name"].total_seconds > 0


def test_a_call_that_raises_is_counted_as_an_error(store: Store) -> None:
    store.agents.create(name="taken", credibility_score=10)
    with pytest.raises(ConflictError):
        store.agents.create(name="taken", credibility_score=20)
    insert = store.statement_stats()["agents.insert"]
    assert (insert.calls, insert.errors) == (2, 1)


def test_a_bad_argument_never_reaches_the_pipeline(store: Store) -> None:
    with pytest.raises(vaultstore.ValidationError):
        store.agents.find_by_id(42)  # type: ignore[arg-type]
    assert "agents.find_by_id" not in store.statement_stats()


def test_calls_in_a_transaction_count_for_the_store(store: Store) -> None:
    with store.transaction() as tx:
        agent = tx.agents.create(name="in_tx", credibility_score=10)
        tx.agents.find_by_id(agent.id)
    stats = store.statement_stats()
    assert (stats["agents.insert"].calls, stats["agents.find_by_id"].calls) == (1, 1)


def test_the_operations_are_named_alike_on_both_backends(store: Store) -> None:
    agent = store.agents.create(name="named", credibility_score=10)
    store.agents.find_by_id(agent.id)
    store.agents.find_by_name("named")
    store.agents.update(agent.id, credibility_score=900)
    store.agents.delete(agent.id)
    with pytest.raises(NotFoundError):
        store.agents.update(agent.id, credibility_score=1)
    stats = store.statement_stats()
    assert set(stats) == EXPECTED_NAMES
    assert all(isinstance(s, vaultstore.StatementStats) for s in stats.values())
    assert stats["agents.update"].calls == 2  # the second found no row: not an error
    assert stats["agents.update"].errors == 0


def test_a_multi_step_call_counts_each_operation_it_runs(store: Store) -> None:
    with pytest.raises(NotFoundError):
        store.alerts.acknowledge("missing")
    stats = store.statement_stats()
    assert (stats["alerts.acknowledge"].calls, stats["alerts.find_by_id"].calls) == (1, 1)


def test_the_documents_are_counted_as_every_repository_is(store: Store) -> None:
    agent = store.agents.create(name="with_documents", credibility_score=10)
    document = store.documents.put("agent", agent.id, "report.txt", b"risk" * 1000)
    assert [chunk for chunk in store.documents.chunks(document.id)] == [b"risk" * 1000]
    store.documents.list("agent", agent.id)
    store.documents.delete(document.id)
    stats = store.statement_stats()
    assert {
        name: stats[f"documents.{name}"].calls
        for name in ("insert", "find_by_id", "read_chunks", "list_by_owner", "delete")
    } == {"insert": 1, "find_by_id": 1, "read_chunks": 1, "list_by_owner": 1, "delete": 1}
