"""Errors: every failure is a vaultstore error carrying the server's code, never a
driver's exception, and the password shows nowhere, not in messages, exception
chains, reprs nor logs."""

from __future__ import annotations

import contextlib
import logging
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import aiosql
import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

import vaultstore
from vaultstore import (
    ChainId,
    ConflictError,
    DatabaseError,
    LiquidationProtection,
    NotFoundError,
    Store,
    TokenAmount,
    UnavailableError,
    VaultStoreError,
)
from vaultstore._postgres import translate
from vaultstore._settings import is_secret

PASSWORD = "S3cretPw"
UNREACHABLE = f"postgresql://u:{PASSWORD}@127.0.0.1:1/db"
"""Nothing listens on port 1: the connection is refused at once."""

SERIALIZATION = aiosql.from_path(Path(__file__).parent / "sql" / "serialization.sql", "psycopg")


def exception_chain(error: BaseException) -> list[BaseException]:
    """``error`` and every exception it was raised from or while handling."""
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def everything_shown(error: BaseException) -> str:
    """All the text an error can show: str and repr of each exception in its chain,
    and the traceback as Python prints it."""
    parts = [f"{e}\n{e!r}\n{e.args!r}" for e in exception_chain(error)]
    parts.append("".join(traceback.format_exception(error)))
    return "\n".join(parts)


def logged_text(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(
        f"{r.name} {r.getMessage()} {r.args!r} {r.exc_text or ''}" for r in caplog.records
    )


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Every record of vaultstore and psycopg (and psycopg.pool), down to DEBUG."""
    caplog.set_level(logging.DEBUG, logger="vaultstore")
    caplog.set_level(logging.DEBUG, logger="psycopg")
    return caplog


def assert_translated(error: BaseException) -> None:
    assert isinstance(error, VaultStoreError)
    assert not isinstance(error, psycopg.Error)


@pytest.fixture
def store(clean_db: str) -> Iterator[Store]:
    with vaultstore.connect(clean_db, pool_size=2) as opened:
        yield opened


def terminate_store_connections(url: str) -> None:
    """Have the server close every vaultstore connection to the database of ``url``."""
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND application_name = 'vaultstore'"
            " AND pid <> pg_backend_pid()"
        )


def create_vault(store: Store, agent_id: str) -> vaultstore.CreditVault:
    return store.vaults.create(
        agent_id=agent_id,
        chain_id=ChainId.ETHEREUM,
        collateral=TokenAmount(token="ETH", amount=10, value_usd=20000),
        debt=TokenAmount(token="USDC", amount=10000, value_usd=10000),
        ltv=50,
        health_factor=2,
        max_ltv=70,
        liquidation_protection=LiquidationProtection(threshold=60),
    )


# -- an unreachable server -------------------------------------------------------------


def test_unreachable_server_raises_unavailable_error() -> None:
    with pytest.raises(UnavailableError) as info:
        vaultstore.connect(UNREACHABLE, connect_timeout=1)
    assert_translated(info.value)


def test_unreachable_server_error_never_shows_the_password() -> None:
    with pytest.raises(UnavailableError) as info:
        vaultstore.connect(UNREACHABLE, connect_timeout=1)
    shown = everything_shown(info.value)
    assert "127.0.0.1" in shown  # says where it failed
    assert PASSWORD not in shown


def test_unreachable_server_logs_never_show_the_password(
    debug_logs: pytest.LogCaptureFixture,
) -> None:
    with pytest.raises(UnavailableError):
        vaultstore.connect(UNREACHABLE, connect_timeout=1)
    assert PASSWORD not in logged_text(debug_logs)
    assert PASSWORD not in debug_logs.text


def test_migrating_an_unreachable_server_never_shows_the_password() -> None:
    with pytest.raises(UnavailableError) as info:
        vaultstore.apply_migrations(UNREACHABLE)
    assert PASSWORD not in everything_shown(info.value)


@pytest.mark.parametrize(
    "url",
    [
        pytest.param(UNREACHABLE, id="in-userinfo"),
        pytest.param("postgresql://u:S3cret%40Pw%2F@127.0.0.1:1/db", id="percent-encoded"),
        pytest.param(f"postgresql://u@127.0.0.1:1/db?password={PASSWORD}", id="in-query-string"),
    ],
)
def test_settings_never_show_the_password(url: str) -> None:
    settings = vaultstore.settings_from_url(url)
    shown = f"{settings!r}\n{settings}\n{settings.url()}"
    assert "S3cret" not in shown


def test_settings_from_the_environment_never_show_the_password() -> None:
    settings = vaultstore.settings_from_env(env={"POSTGRES_PASSWORD": PASSWORD})
    assert settings.password == PASSWORD
    assert PASSWORD not in f"{settings!r}\n{settings}"


def test_password_in_the_query_string_never_shows_in_a_connection_error() -> None:
    url = f"postgresql://u@127.0.0.1:1/db?password={PASSWORD}"
    with pytest.raises(UnavailableError) as info:
        vaultstore.connect(url, connect_timeout=1)
    assert PASSWORD not in everything_shown(info.value)


# -- every secret-bearing parameter, not only the password ------------------------------

SECRET_URLS = [
    pytest.param(f"postgresql://u:{PASSWORD}@127.0.0.1:1/db", id="pg-password"),
    pytest.param(f"postgresql://u@127.0.0.1:1/db?sslpassword={PASSWORD}", id="pg-sslpassword"),
    pytest.param(f"host=127.0.0.1 port=1 user=u password='{PASSWORD}'", id="pg-key-value"),
    pytest.param(
        f"postgresql://u@127.0.0.1:1,127.0.0.1:2/db?password={PASSWORD}"
        "&target_session_attrs=read-write",
        id="pg-multi-host",
    ),
    pytest.param(f"postgresql://admin:{PASSWORD}/db", id="pg-malformed-no-host"),
    pytest.param("postgresql://u:S3cret@Pw@127.0.0.1:1/db", id="pg-malformed-bare-at"),
    pytest.param(f"postgresql://u:{PASSWORD}/x@127.0.0.1:1/db", id="pg-malformed-slash"),
    pytest.param(f"mongodb://u:{PASSWORD}@127.0.0.1:1/db", id="mongo-password"),
    pytest.param(
        f"mongodb://127.0.0.1:1/db?authMechanism=MONGODB-AWS&authMechanismProperties={PASSWORD}",
        id="mongo-malformed-property",
    ),
    pytest.param(
        f"mongodb://u:pw@127.0.0.1:1/db?tls=true&tlsCertificateKeyFilePassword={PASSWORD}",
        id="mongo-tls-key-password",
    ),
    pytest.param(
        "mongodb://AKIAEXAMPLE:pw@127.0.0.1:1,127.0.0.1:2/db?authMechanism=MONGODB-AWS"
        f"&authMechanismProperties=AWS_SESSION_TOKEN:{PASSWORD}&replicaSet=rs0",
        id="mongo-aws-session-token",
    ),
]


def url_id(url: str) -> str:
    return next(str(p.id) for p in SECRET_URLS if p.values[0] == url)


@pytest.mark.parametrize("url", SECRET_URLS)
def test_no_secret_parameter_shows_in_settings(url: str) -> None:
    if "malformed" in url_id(url):  # refused, and says nothing of it
        with pytest.raises(vaultstore.ValidationError) as info:
            vaultstore.settings_from_url(url)
        assert "S3cret" not in everything_shown(info.value)
        return
    settings = vaultstore.settings_from_url(url)
    assert PASSWORD in settings.dsn  # it is there, to reach the driver
    assert PASSWORD not in f"{settings!r}\n{settings}\n{settings.url()}"
    assert "***" in str(settings)


@pytest.mark.parametrize("url", SECRET_URLS)
def test_no_secret_parameter_shows_in_errors_or_logs(
    url: str, caplog: pytest.LogCaptureFixture
) -> None:
    for name in ("vaultstore", "psycopg", "pymongo"):
        caplog.set_level(logging.DEBUG, logger=name)
    with pytest.raises(VaultStoreError) as info:
        vaultstore.connect(url, connect_timeout=1)
    assert isinstance(info.value, UnavailableError | vaultstore.ValidationError)
    assert "S3cret" not in everything_shown(info.value)
    assert "S3cret" not in logged_text(caplog)


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("sslpassword", True),
        ("sslkey", True),
        ("tlsCertificateKeyFilePassword", True),
        ("authMechanismProperties", True),
        ("aws_session_token", True),
        ("client_secret", True),
        ("sslmode", False),
        ("keepalives", False),
        ("replicaSet", False),
    ],
)
def test_options_named_like_a_password_key_or_token_are_secret(name: str, secret: bool) -> None:
    assert is_secret(name) is secret


def test_a_key_file_path_is_hidden_too() -> None:
    settings = vaultstore.settings_from_url("postgresql://u@h/db?sslkey=/etc/app/client.key")
    assert "client.key" not in str(settings)
    assert "sslkey=***" in str(settings)


# -- a password against the real server (it trusts local connections) ---------------------


@pytest.fixture
def url_with_password(migrated_url: str) -> str:
    params = conninfo_to_dict(vaultstore.settings_from_url(migrated_url).dsn)
    params.setdefault("user", "postgres")
    return make_conninfo("", **{**params, "password": PASSWORD})


def test_store_with_a_password_connects(url_with_password: str) -> None:
    with vaultstore.connect(url_with_password, pool_size=1) as store:
        assert store.ping() > 0
        settings = store.settings
        assert settings.password == PASSWORD


def test_store_never_shows_its_password(url_with_password: str) -> None:
    with vaultstore.connect(url_with_password, pool_size=1) as store:
        settings = store.settings
        shown = [repr(store), str(settings), repr(settings), repr(store.agents)]
    assert [PASSWORD in text for text in shown] == [False] * len(shown)


def test_store_logs_never_show_its_password(
    url_with_password: str, debug_logs: pytest.LogCaptureFixture
) -> None:
    with vaultstore.connect(url_with_password, pool_size=1) as store:
        store.agents.list()
    assert any(r.name.startswith("vaultstore") for r in debug_logs.records)
    assert PASSWORD not in logged_text(debug_logs)


# -- driver errors are translated, keeping the SQLSTATE and the cause -------------------------


def test_duplicate_is_a_conflict_with_sqlstate_23505(store: Store) -> None:
    store.agents.create(name="twin", credibility_score=1)
    with pytest.raises(ConflictError) as info:
        store.agents.create(name="twin", credibility_score=2)
    assert_translated(info.value)
    assert info.value.code == "23505"
    assert isinstance(info.value.__cause__, psycopg.errors.UniqueViolation)


def test_reference_to_a_missing_row_is_not_found_with_sqlstate_23503(store: Store) -> None:
    with pytest.raises(NotFoundError) as info:
        create_vault(store, "01UNKNOWNAGENT000000000000")
    assert_translated(info.value)
    assert info.value.code == "23503"
    assert isinstance(info.value.__cause__, psycopg.errors.ForeignKeyViolation)


def test_deleting_a_referenced_row_is_a_conflict_with_an_integrity_sqlstate(
    store: Store,
) -> None:
    agent = store.agents.create(name="owner", credibility_score=1)
    create_vault(store, agent.id)
    with pytest.raises(ConflictError) as info:
        store.agents.delete(agent.id)
    assert_translated(info.value)
    assert str(info.value.code).startswith("23")  # integrity constraint violation
    assert isinstance(info.value.__cause__, psycopg.errors.IntegrityError)


def test_statement_after_a_failed_one_in_a_transaction_is_a_database_error(
    store: Store,
) -> None:
    # Ending the aborted transaction may report the rollback too: not under test here.
    with contextlib.suppress(VaultStoreError), store.transaction() as tx:
        tx.agents.create(name="twin", credibility_score=1)
        with pytest.raises(ConflictError):
            tx.agents.create(name="twin", credibility_score=1)
        with pytest.raises(DatabaseError) as info:
            tx.agents.list()
    assert_translated(info.value)
    assert info.value.code == "25P02"  # in_failed_sql_transaction


def test_closed_store_is_unavailable(clean_db: str) -> None:
    store = vaultstore.connect(clean_db, pool_size=1)
    store.close()
    with pytest.raises(UnavailableError) as info:
        store.agents.list()
    assert_translated(info.value)


def test_no_free_connection_in_time_is_unavailable(clean_db: str) -> None:
    store = vaultstore.connect(clean_db, pool_size=1, connect_timeout=0.2)
    with store, store.transaction() as tx:
        tx.agents.list()  # holds the only connection
        with pytest.raises(UnavailableError) as info:
            store.agents.list()
    assert_translated(info.value)


def test_a_write_on_a_connection_the_server_closed_keeps_its_sqlstate(
    clean_db: str,
) -> None:
    with vaultstore.connect(clean_db, pool_size=1) as store:
        store.agents.list()
        terminate_store_connections(clean_db)
        with pytest.raises(UnavailableError) as info:
            store.agents.create(name="lost", credibility_score=1)
    assert_translated(info.value)
    assert info.value.code == "57P01"  # admin_shutdown


def test_a_read_on_a_killed_connection_runs_again_on_a_fresh_one(clean_db: str) -> None:
    with vaultstore.connect(clean_db, pool_size=2, min_pool_size=2) as store:
        agent = store.agents.create(name="kept", credibility_score=1)
        terminate_store_connections(clean_db)
        assert store.agents.find_by_id(agent.id) == agent
        assert store.statement_stats()["agents.find_by_id"].errors == 0


def test_a_write_on_a_killed_connection_has_an_unknown_outcome(clean_db: str) -> None:
    """In autocommit the write may have committed before the connection died:
    vaultstore cannot tell, so it says so and never calls it retryable."""
    with vaultstore.connect(clean_db, pool_size=1) as store:
        store.agents.list()
        terminate_store_connections(clean_db)
        with pytest.raises(vaultstore.CommitUnknownError) as info:
            store.agents.create(name="maybe", credibility_score=1)
    assert isinstance(info.value, UnavailableError)
    assert not info.value.retryable
    assert "may or may not" in str(info.value)


def test_no_read_fails_when_every_backend_is_killed_under_load(clean_db: str) -> None:
    """4 threads read; once each has read a while, every backend of the store is
    terminated; every thread reads on, and not one read fails."""
    threads, before, after = 4, 20, 60
    with vaultstore.connect(clean_db, pool_size=threads, min_pool_size=threads) as store:
        agent = store.agents.create(name="under_load", credibility_score=1)
        warmed = [threading.Event() for _ in range(threads)]
        killed = threading.Event()
        failures: list[BaseException] = []

        def reader(ready: threading.Event) -> int:
            done = 0
            for n in range(before + after):
                if n == before:
                    ready.set()
                    assert killed.wait(timeout=30)
                try:
                    assert store.agents.find_by_id(agent.id) == agent
                    done += 1
                except vaultstore.VaultStoreError as exc:
                    failures.append(exc)
            return done

        with ThreadPoolExecutor(threads) as pool:
            results = [pool.submit(reader, event) for event in warmed]
            assert all(event.wait(timeout=30) for event in warmed)
            terminate_store_connections(clean_db)
            killed.set()
            reads = sum(result.result(timeout=60) for result in results)
    assert failures == []
    assert reads == threads * (before + after)


ROLES = aiosql.from_path(Path(__file__).parent / "sql" / "roles.sql", "psycopg")


@pytest.fixture
def limited_url(clean_db: str) -> Iterator[str]:
    """clean_db as a role that may hold 2 connections (trust authentication)."""
    with psycopg.connect(clean_db, autocommit=True) as admin:
        if ROLES.limited_role_exists(admin):
            ROLES.disown_limited_role(admin)
            ROLES.drop_limited_role(admin)
        ROLES.create_limited_role(admin)
        ROLES.grant_limited_role(admin)
    params = conninfo_to_dict(clean_db)
    yield make_conninfo("", **{**params, "user": "vaultstore_limited"})
    with psycopg.connect(clean_db, autocommit=True) as admin:
        terminate_store_connections(clean_db)
        ROLES.disown_limited_role(admin)
        ROLES.drop_limited_role(admin)


def test_a_server_refusing_more_connections_is_not_an_outage(
    limited_url: str, clean_db: str
) -> None:
    """One of the store's 2 connections is killed and its slot taken at once: the
    read that finds it dead tries the server, which refuses a third connection
    ("too many connections"). That is a server that answers, not one that is
    down: the read runs again on the other pooled connection, and so do the next."""
    with vaultstore.connect(limited_url, pool_size=2, min_pool_size=2) as store:
        agent = store.agents.create(name="limited", credibility_score=1)
        with psycopg.connect(clean_db, autocommit=True) as admin:
            pids = [row[0] for row in ROLES.limited_role_sessions(admin)]
            assert len(pids) == 2
            assert ROLES.terminate(admin, pid=pids[0])
            deadline = time.monotonic() + 10
            while ROLES.session_count(admin, pid=pids[0]) and time.monotonic() < deadline:
                pass  # its slot is free once it is gone
        with psycopg.connect(limited_url) as slot_taker:  # the freed slot, taken
            failures = []
            for _ in range(20):
                try:
                    assert store.agents.find_by_id(agent.id) == agent
                except VaultStoreError as exc:
                    failures.append(type(exc).__name__)
            assert slot_taker.execute("SELECT 1").fetchone() == (1,)
    assert failures == []


def test_store_recovers_after_the_server_closed_its_connection(clean_db: str) -> None:
    with vaultstore.connect(clean_db, pool_size=1) as store:
        agent = store.agents.create(name="survivor", credibility_score=1)
        terminate_store_connections(clean_db)
        assert store.agents.list() == [agent]
        assert store.agents.find_by_id(agent.id) == agent


def test_a_dead_pooled_connection_prints_nothing_on_stderr(clean_db: str) -> None:
    """psycopg_pool warns about each dead connection it finds; an application that
    configured no logging does not get those warnings on stderr."""
    program = f"""
import psycopg, vaultstore
with vaultstore.connect({clean_db!r}, pool_size=2, min_pool_size=2) as store:
    store.agents.list()
    with psycopg.connect({clean_db!r}, autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND application_name = 'vaultstore'"
            " AND pid <> pg_backend_pid()"
        )
    for _ in range(5):
        store.agents.list()
"""
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stderr == ""


def test_a_serialization_failure_is_a_retryable_concurrent_update(clean_db: str) -> None:
    """Write skew between two SERIALIZABLE transactions, on the server: the one that
    commits second fails with 40001, which vaultstore says to retry."""
    with psycopg.connect(clean_db) as first, psycopg.connect(clean_db) as second:
        for conn in (first, second):
            conn.isolation_level = psycopg.IsolationLevel.SERIALIZABLE
            SERIALIZATION.count_agents(conn)
        SERIALIZATION.insert_agent(first, id="s1")
        SERIALIZATION.insert_agent(second, id="s2")
        first.commit()
        with pytest.raises(psycopg.errors.SerializationFailure) as raised:
            second.commit()
    error = translate(raised.value, settings=vaultstore.settings_from_url(clean_db))
    assert isinstance(error, vaultstore.errors.ConcurrentUpdateError)
    assert (error.retryable, error.code) == (True, "40001")


def test_a_duplicate_is_a_permanent_conflict(store: Store) -> None:
    store.agents.create(name="once", credibility_score=1)
    with pytest.raises(ConflictError) as info:
        store.agents.create(name="once", credibility_score=1)
    assert not isinstance(info.value, vaultstore.errors.ConcurrentUpdateError)
    assert info.value.retryable is False
