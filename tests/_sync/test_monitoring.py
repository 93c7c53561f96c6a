# Generated from tests/_async/test_monitoring.py by tools/generate_sync.py: do not edit.
"""What every call reports (async source of tests/_sync/test_monitoring.py):
``store.metrics()`` per statement and for the pool, and the slow-statement log,
the same on both backends."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

import vaultstore
from vaultstore._sync.connect import connect
from vaultstore._sync.contracts import Store
from vaultstore._monitoring import DURATION_BUCKETS
from vaultstore._resources import queries_dir

SECRET_NAME = "agent-named-like-a-customer"


@pytest.fixture(params=["postgresql", "mongodb"])
def url(request: pytest.FixtureRequest) -> str:
    """An empty, migrated database of each backend."""
    return str(
        request.getfixturevalue("store_db" if request.param == "postgresql" else "clean_mongo")
    )


@pytest.fixture
def slow_store(url: str) -> Iterator[Store]:
    """A store that finds every call slow (``slow_ms=0``)."""
    with connect(url, pool_size=4, slow_ms=0) as opened:
        yield opened


def declared_line(store: Store, entity: str, name: str) -> str:
    """``queries/agents.sql:12``: where the statement is declared, read off the file."""
    if store.backend == "postgresql":
        path, pattern = queries_dir() / f"{entity}.sql", rf"^--\s*name\s*:\s*{name}\b"
    else:
        path, pattern = queries_dir() / f"{entity}.mongodb.json", rf'^  "{name}"\s*:'
    text = Path(path).read_text()
    found = re.search(pattern, text, re.MULTILINE)
    assert found is not None
    return f"queries/{path.name}:{text.count(chr(10), 0, found.start()) + 1}"


def test_metrics_count_a_known_sequence_of_calls(store: Store) -> None:
    agents = [store.agents.create(name=f"a{i}", credibility_score=10) for i in range(3)]
    for agent in agents:
        assert store.agents.find_by_id(agent.id) is not None
    assert store.agents.find_by_id("missing") is None
    with pytest.raises(vaultstore.ConflictError):
        store.agents.create(name="a0", credibility_score=10)
    page = store.agents.list(limit=10)
    assert len(page) == 3
    metrics = store.metrics()
    assert metrics.backend == store.backend
    insert = metrics.statements["agents.insert"]
    assert (insert.calls, dict(insert.errors), insert.rows) == (4, {"ConflictError": 1}, 3)
    find = metrics.statements["agents.find_by_id"]
    assert (find.calls, find.error_count, find.rows) == (4, 0, 3)
    listed = metrics.statements["agents.list_after"]
    assert (listed.calls, listed.rows) == (1, 3)
    for statement in metrics.statements.values():
        bounds = [bound for bound, _ in statement.buckets]
        counts = [count for _, count in statement.buckets]
        assert bounds == [*DURATION_BUCKETS, float("inf")]
        assert counts == sorted(counts)  # cumulative
        assert counts[-1] == statement.calls
        assert statement.total_seconds > 0
        # the histogram places the mean: some call took at most it, not all took less
        below = next(count for bound, count in statement.buckets if bound >= statement.mean_seconds)
        assert below >= 1


def test_statement_stats_read_the_same_counts(store: Store) -> None:
    store.agents.create(name="one", credibility_score=10)
    with pytest.raises(vaultstore.ConflictError):
        store.agents.create(name="one", credibility_score=10)
    stats = store.statement_stats()["agents.insert"]
    metrics = store.metrics().statements["agents.insert"]
    assert (stats.calls, stats.errors, stats.total_seconds) == (
        metrics.calls,
        metrics.error_count,
        metrics.total_seconds,
    )


def test_pool_metrics_have_the_same_names_on_both_backends(store: Store) -> None:
    store.agents.create(name="pooled", credibility_score=10)
    for _ in range(5):
        store.agents.find_by_name("pooled")
    pool = store.metrics().pool
    assert pool.max == 4
    assert 1 <= pool.open <= pool.max
    assert (pool.in_use, pool.waiting) == (0, 0)
    assert pool.idle == pool.open
    assert pool.requests >= 6
    assert (pool.request_errors, pool.connect_errors) == (0, 0)
    assert pool.wait_seconds >= 0


def test_metrics_off_count_nothing(url: str) -> None:
    with connect(url, metrics=False) as store:
        store.agents.create(name="uncounted", credibility_score=10)
        store.agents.find_by_name("uncounted")
        assert store.metrics().statements == {}
        assert store.statement_stats() == {}
        assert store.metrics().pool.requests >= 1


def test_a_slow_call_logs_one_line_naming_its_statement_and_file(
    slow_store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="vaultstore")
    agent = slow_store.agents.create(name=SECRET_NAME, credibility_score=10)
    caplog.clear()
    slow_store.agents.find_by_name(SECRET_NAME)
    (record,) = caplog.records
    assert record.levelno == logging.WARNING
    where = declared_line(slow_store, "agents", "find_by_name")
    assert (record.statement, record.location, record.rows) == (  # type: ignore[attr-defined]
        "agents.find_by_name",
        where,
        1,
    )
    assert record.backend == slow_store.backend  # type: ignore[attr-defined]
    assert record.duration_ms >= 0  # type: ignore[attr-defined]
    message = record.getMessage()
    assert "agents.find_by_name" in message
    assert where in message
    assert SECRET_NAME not in message
    assert SECRET_NAME not in repr(vars(record))
    assert agent.id not in message


def test_a_slow_call_that_raises_says_what_it_raised(
    slow_store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    slow_store.agents.create(name="taken", credibility_score=10)
    caplog.set_level(logging.WARNING, logger="vaultstore")
    caplog.clear()
    with pytest.raises(vaultstore.ConflictError):
        slow_store.agents.create(name="taken", credibility_score=10)
    (record,) = caplog.records
    assert (record.statement, record.error) == ("agents.insert", "ConflictError")  # type: ignore[attr-defined]
    assert "raised ConflictError" in record.getMessage()


def test_at_debug_the_parameters_are_shown_cut(
    slow_store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="vaultstore")
    long_name = "n" * 500
    slow_store.agents.find_by_name(long_name)
    (record,) = [
        r for r in caplog.records if getattr(r, "statement", None) == "agents.find_by_name"
    ]
    shown = record.parameters  # type: ignore[attr-defined]
    assert shown["name"].startswith("'nnn")
    assert "(502 characters)" in shown["name"]
    assert long_name not in record.getMessage()


def test_below_the_threshold_nothing_is_logged(
    url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="vaultstore")
    with connect(url, slow_ms=60_000) as store:
        caplog.clear()
        store.agents.create(name="quick", credibility_score=10)
        store.agents.find_by_name("quick")
    assert not [r for r in caplog.records if hasattr(r, "statement")]


def test_the_documents_calls_are_measured_and_logged(
    slow_store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    agent = slow_store.agents.create(name="with_documents", credibility_score=10)
    caplog.set_level(logging.WARNING, logger="vaultstore")
    caplog.clear()
    document = slow_store.documents.put("agent", agent.id, "r.txt", b"x" * 10)
    chunks = [chunk for chunk in slow_store.documents.chunks(document.id)]
    assert chunks == [b"x" * 10]
    logged = [r.statement for r in caplog.records]  # type: ignore[attr-defined]
    assert logged == ["documents.insert", "documents.find_by_id", "documents.read_chunks"]
    statements = slow_store.metrics().statements
    assert statements["documents.read_chunks"].rows == 1
    assert statements["documents.insert"].rows == 1
