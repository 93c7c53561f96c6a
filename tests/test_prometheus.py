"""The Prometheus collector (``vaultstore[prometheus]``) and ``vaultstore
metrics-server``: what a scrape holds parses with prometheus_client's own parser,
under the documented names, with the counts of a known sequence of calls."""

from __future__ import annotations

import os
import queue
import re
import subprocess
import sys
import threading
import urllib.request
from typing import IO, Any

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

import vaultstore
from vaultstore.prometheus import HEALTH_NAMES, METRIC_NAMES, StoreCollector

BOUND = 30.0  # seconds for the server to say where it listens: a hang, not a figure


@pytest.fixture(params=["postgresql", "mongodb"])
def url(request: pytest.FixtureRequest) -> str:
    return str(
        request.getfixturevalue("store_db" if request.param == "postgresql" else "clean_mongo")
    )


def scrape(registry: CollectorRegistry) -> dict[str, Any]:
    """Each sample by (name, sorted labels), from the text a scrape returns."""
    text = generate_latest(registry).decode()
    samples: dict[Any, float] = {}
    names = set()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            names.add(sample.name)
            samples[sample.name, tuple(sorted(sample.labels.items()))] = sample.value
    return {"names": names, "samples": samples, "text": text}


def sample(scraped: dict[str, Any], name: str, **labels: str) -> float:
    value: float = scraped["samples"][name, tuple(sorted(labels.items()))]
    return value


def test_a_scrape_holds_the_counts_of_a_known_sequence(url: str) -> None:
    # No cache (whatever VAULTSTORE_CACHE_URL says): a read Redis served is no statement.
    with vaultstore.connect(url, pool_size=3, cache=None) as store:
        agent = store.agents.create(name="scraped", credibility_score=10)
        for _ in range(3):
            store.agents.find_by_id(agent.id)
        with pytest.raises(vaultstore.ConflictError):
            store.agents.create(name="scraped", credibility_score=10)
        registry = CollectorRegistry()
        registry.register(StoreCollector(store, pool_name="risk"))
        scraped = scrape(registry)
        statements = store.metrics().statements
        system = store.backend
    for name in METRIC_NAMES:
        assert name in scraped["names"] or f"{name}_count" in scraped["names"], name
    find = {"db_system_name": system, "db_query_summary": "agents.find_by_id"}
    assert sample(scraped, "db_client_operation_duration_seconds_count", **find) == 3
    assert sample(scraped, "db_client_operation_duration_seconds_bucket", **find, le="+Inf") == 3
    assert sample(scraped, "db_client_operation_duration_seconds_sum", **find) == pytest.approx(
        statements["agents.find_by_id"].total_seconds
    )
    assert sample(scraped, "db_client_response_returned_rows_total", **find) == 3
    insert = {"db_system_name": system, "db_query_summary": "agents.insert"}
    assert sample(scraped, "db_client_operation_duration_seconds_count", **insert) == 2
    assert (
        sample(scraped, "db_client_operation_errors_total", **insert, error_type="ConflictError")
        == 1
    )
    pool = {"db_system_name": system, "db_client_connection_pool_name": "risk"}
    assert sample(scraped, "db_client_connection_max", **pool) == 3
    assert (
        sample(scraped, "db_client_connection_count", **pool, db_client_connection_state="used")
        == 0
    )
    # Labels are bounded: names, never the values the calls were given.
    assert agent.id not in scraped["text"]
    assert "scraped" not in scraped["text"]


def test_with_health_a_scrape_says_the_store_is_up(url: str) -> None:
    with vaultstore.connect(url) as store:
        registry = CollectorRegistry()
        registry.register(StoreCollector(store, health=True))
        scraped = scrape(registry)
        system = store.backend
    assert set(HEALTH_NAMES) <= scraped["names"]
    assert sample(scraped, "vaultstore_up", db_system_name=system) == 1
    assert sample(scraped, "vaultstore_health_status", db_system_name=system, status="healthy") == 1
    assert (
        sample(scraped, "vaultstore_health_status", db_system_name=system, status="degraded") == 0
    )
    assert sample(scraped, "vaultstore_migrations_pending", db_system_name=system) == 0


def test_the_metrics_server_serves_a_stores_health(url: str) -> None:
    command = [sys.executable, "-m", "vaultstore", "metrics-server", "--database", url]
    lines: queue.Queue[str] = queue.Queue()

    def read(stream: IO[str]) -> None:
        for line in stream:
            lines.put(line)

    with subprocess.Popen(  # a fixed argument list, no shell
        [*command, "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    ) as server:
        assert server.stdout is not None
        reader = threading.Thread(target=read, args=(server.stdout,), daemon=True)
        reader.start()
        try:
            said = lines.get(timeout=BOUND)
            where = re.search(r"http://127\.0\.0\.1:(\d+)/metrics", said)
            assert where, said
            with urllib.request.urlopen(where.group(0), timeout=BOUND) as response:
                text = response.read().decode()
        finally:
            server.terminate()
            server.wait(timeout=BOUND)
            reader.join(timeout=BOUND)
    samples = {
        (s.name, s.labels.get("status", "")): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    assert samples["vaultstore_up", ""] == 1
    assert samples["vaultstore_health_status", "healthy"] == 1
    assert ("db_client_connection_max", "") in samples
