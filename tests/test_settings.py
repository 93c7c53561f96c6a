"""Configuration from the environment and from URLs, as the README's table says."""

from __future__ import annotations

import pytest
from psycopg.conninfo import conninfo_to_dict

import vaultstore
from vaultstore import PoolOptions, Settings, ValidationError, settings_from_env, settings_from_url
from vaultstore._settings import resolve_settings

# -- the environment ---------------------------------------------------------------------


def test_defaults_without_any_variable() -> None:
    settings = settings_from_env(env={})
    assert settings == Settings(
        backend="postgresql",
        dsn="host=localhost port=5432 dbname=risk_monitor user=postgres",
        database="risk_monitor",
        pool=PoolOptions(
            min_size=1, max_size=10, connect_timeout=10, idle_timeout=600, prepare_threshold=5
        ),
    )
    assert (settings.hosts, settings.user, settings.password) == (
        (("localhost", 5432),),
        "postgres",
        None,
    )
    assert settings.options == {}


def test_postgres_variables_are_read() -> None:
    settings = settings_from_env(
        env={
            "POSTGRES_HOST": "db.internal",
            "POSTGRES_PORT": "6543",
            "POSTGRES_DB": "vaults",
            "POSTGRES_USER": "monitor",
            "POSTGRES_PASSWORD": "pw",
        }
    )
    assert (settings.host, settings.port, settings.database) == ("db.internal", 6543, "vaults")
    assert (settings.user, settings.password) == ("monitor", "pw")


@pytest.mark.parametrize(
    ("value", "sslmode"),
    [
        ("true", "require"),
        ("TRUE", "require"),
        ("1", "require"),
        ("false", "disable"),
        ("0", "disable"),
        ("require", "require"),
        ("verify-full", "verify-full"),
        ("Verify-CA", "verify-ca"),
    ],
)
def test_postgres_ssl_sets_the_sslmode(value: str, sslmode: str) -> None:
    settings = settings_from_env(env={"POSTGRES_SSL": value})
    assert settings.options == {"sslmode": sslmode}
    assert f"sslmode={sslmode}" in settings.url()


@pytest.mark.parametrize("value", ["", "  "])
def test_postgres_ssl_unset_leaves_libpq_default(value: str) -> None:
    assert "sslmode" not in settings_from_env(env={"POSTGRES_SSL": value}).options


@pytest.mark.parametrize("value", ["postgresql", "postgres", "PostgreSQL", " postgresql "])
def test_database_type_postgresql(value: str) -> None:
    assert settings_from_env(env={"DATABASE_TYPE": value}).backend == "postgresql"


def test_database_type_mongodb_reads_mongo_variables() -> None:
    settings = settings_from_env(
        env={"DATABASE_TYPE": "mongodb", "MONGO_HOST": "mongo", "MONGO_DB": "risk"}
    )
    assert (settings.backend, settings.host, settings.port) == ("mongodb", "mongo", 27017)
    assert settings.database == "risk"


def test_database_url_wins_over_postgres_variables() -> None:
    settings = settings_from_env(
        env={
            "DATABASE_URL": "postgresql://app@url-host:5433/url_db?sslmode=require",
            "POSTGRES_HOST": "env-host",
            "POSTGRES_PORT": "5432",
            "POSTGRES_DB": "env_db",
            "POSTGRES_USER": "env_user",
            "POSTGRES_SSL": "false",
        }
    )
    assert (settings.host, settings.port, settings.database) == ("url-host", 5433, "url_db")
    assert settings.user == "app"
    assert settings.options == {"sslmode": "require"}


def test_database_url_wins_when_database_type_is_postgresql() -> None:
    settings = settings_from_env(
        env={
            "DATABASE_TYPE": "postgresql",
            "DATABASE_URL": "postgresql://app@url-host/url_db",
            "POSTGRES_HOST": "env-host",
        }
    )
    assert (settings.host, settings.database) == ("url-host", "url_db")


def test_database_type_contradicting_database_url_is_refused() -> None:
    with pytest.raises(ValidationError) as info:
        settings_from_env(
            env={"DATABASE_TYPE": "mongodb", "DATABASE_URL": "postgresql://app@host/db"}
        )
    assert info.value.field in {"DATABASE_TYPE", "DATABASE_URL"}


def test_pool_variables_are_read() -> None:
    settings = settings_from_env(
        env={
            "DATABASE_POOL_SIZE": "20",
            "DATABASE_POOL_MIN_SIZE": "2",
            "DATABASE_CONNECT_TIMEOUT": "2.5",
            "DATABASE_IDLE_TIMEOUT": "30",
            "POSTGRES_PREPARE_THRESHOLD": "0",
        }
    )
    assert settings.pool == PoolOptions(
        min_size=2, max_size=20, connect_timeout=2.5, idle_timeout=30, prepare_threshold=0
    )


def test_pool_variables_apply_with_a_database_url() -> None:
    settings = settings_from_env(
        env={"DATABASE_URL": "postgresql://app@host/db", "DATABASE_POOL_SIZE": "4"}
    )
    assert settings.pool.max_size == 4


def test_pool_size_smaller_than_the_default_minimum_lowers_the_minimum() -> None:
    assert settings_from_env(env={"DATABASE_POOL_SIZE": "1"}).pool.min_size == 1


@pytest.mark.parametrize("value", ["none", "None", "NONE"])
def test_prepare_threshold_none_never_prepares(value: str) -> None:
    settings = settings_from_env(env={"POSTGRES_PREPARE_THRESHOLD": value})
    assert settings.pool.prepare_threshold is None


@pytest.mark.parametrize(("value", "expected"), [("true", True), ("1", True), ("off", False)])
def test_transaction_pooling_is_read_from_the_environment(value: str, expected: bool) -> None:
    settings = settings_from_env(env={"POSTGRES_TRANSACTION_POOLING": value})
    assert settings.pool.transaction_pooling is expected


def test_transaction_pooling_means_no_prepared_statements_unless_asked_for() -> None:
    assert PoolOptions(transaction_pooling=True).prepare_threshold is None
    assert settings_from_env(env={"POSTGRES_TRANSACTION_POOLING": "true"}).pool == PoolOptions(
        transaction_pooling=True, prepare_threshold=None
    )
    asked = {"POSTGRES_TRANSACTION_POOLING": "true", "POSTGRES_PREPARE_THRESHOLD": "5"}
    assert settings_from_env(env=asked).pool.prepare_threshold == 5  # PgBouncer 1.21+
    url = settings_from_url("postgresql://app@pgbouncer:6432/db")
    pooled = resolve_settings(url, {}, transaction_pooling=True)
    assert (pooled.pool.transaction_pooling, pooled.pool.prepare_threshold) == (True, None)


@pytest.mark.parametrize("value", ["maybe", "2"])
def test_a_bad_transaction_pooling_names_its_variable(value: str) -> None:
    with pytest.raises(ValidationError) as info:
        settings_from_env(env={"POSTGRES_TRANSACTION_POOLING": value})
    assert info.value.field == "POSTGRES_TRANSACTION_POOLING"


def test_transaction_pooling_must_be_a_bool() -> None:
    with pytest.raises(ValidationError) as info:
        PoolOptions(transaction_pooling="yes")  # type: ignore[arg-type]
    assert info.value.field == "transaction_pooling"


@pytest.mark.parametrize(
    ("url", "env", "field"),
    [
        ("postgresql://app@pgbouncer:6432/db?options=-c%20statement_timeout%3D5", {}, "options"),
        ("postgresql://app@pgbouncer:6432/db", {"PGOPTIONS": "-c lock_timeout=5"}, "PGOPTIONS"),
    ],
)
def test_startup_options_are_refused_behind_a_transaction_pooler_before_any_io(
    url: str, env: dict[str, str], field: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PgBouncer refuses them, or with ignore_startup_parameters drops them: what
    they set would not hold, so the store says so rather than run without it."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError) as info:
        vaultstore.connect(url, transaction_pooling=True)  # pgbouncer:6432 is never tried
    assert info.value.field == field
    assert "5" not in info.value.message  # quotes nothing of them


def test_keyword_overrides_win_over_pool_variables() -> None:
    settings = settings_from_env(
        env={"DATABASE_POOL_SIZE": "3", "POSTGRES_PREPARE_THRESHOLD": "7"},
        max_size=5,
        prepare_threshold=None,
    )
    assert (settings.pool.max_size, settings.pool.prepare_threshold) == (5, None)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DATABASE_TYPE", "mysql"),
        ("DATABASE_URL", "mysql://u@host/db"),
        ("DATABASE_URL", "postgresql://u@host:99999/db"),
        ("POSTGRES_PORT", "five"),
        ("POSTGRES_PORT", "0"),
        ("POSTGRES_PORT", "-1"),
        ("POSTGRES_PORT", "70000"),
        ("POSTGRES_SSL", "maybe"),
        ("POSTGRES_PREPARE_THRESHOLD", "often"),
        ("POSTGRES_PREPARE_THRESHOLD", "-1"),
        ("DATABASE_POOL_SIZE", "many"),
        ("DATABASE_POOL_SIZE", "3.5"),
        ("DATABASE_POOL_SIZE", "0"),
        ("DATABASE_POOL_MIN_SIZE", "x"),
        ("DATABASE_POOL_MIN_SIZE", "-1"),
        ("DATABASE_POOL_MIN_SIZE", "11"),  # above the default pool size of 10
        ("DATABASE_CONNECT_TIMEOUT", "soon"),
        ("DATABASE_CONNECT_TIMEOUT", "0"),
        ("DATABASE_CONNECT_TIMEOUT", "-1"),
        ("DATABASE_CONNECT_TIMEOUT", "nan"),
        ("DATABASE_CONNECT_TIMEOUT", "inf"),
        ("DATABASE_IDLE_TIMEOUT", "later"),
        ("DATABASE_IDLE_TIMEOUT", "0"),
        ("DATABASE_IDLE_TIMEOUT", "nan"),
    ],
)
def test_bad_value_is_refused_naming_its_variable(variable: str, value: str) -> None:
    with pytest.raises(ValidationError) as info:
        settings_from_env(env={variable: value})
    assert info.value.field == variable


# -- URLs ----------------------------------------------------------------------------------


def test_url_parts_are_read() -> None:
    settings = settings_from_url("postgresql://app:p%40ss@db.internal:6543/vaults?sslmode=require")
    assert settings.backend == "postgresql"
    assert (settings.user, settings.password) == ("app", "p@ss")
    assert (settings.host, settings.port, settings.database) == ("db.internal", 6543, "vaults")
    assert settings.options == {"sslmode": "require"}


@pytest.mark.parametrize("scheme", ["postgresql", "postgres", "postgresql+psycopg", "POSTGRESQL"])
def test_postgresql_url_schemes(scheme: str) -> None:
    assert settings_from_url(f"{scheme}://app@host/db").backend == "postgresql"


@pytest.mark.parametrize(
    "url",
    ["mysql://app@host/db", "sqlite:///vaults.db", "host/db", "", "http://host/db"],
)
def test_unknown_url_scheme_is_refused(url: str) -> None:
    with pytest.raises(ValidationError) as info:
        settings_from_url(url)
    assert info.value.field == "url"


def test_url_with_port_out_of_range_is_refused() -> None:
    with pytest.raises(ValidationError) as info:
        settings_from_url("postgresql://app@host:65536/db")
    assert info.value.field == "url"


def test_url_without_database_leaves_it_to_libpq() -> None:
    settings = settings_from_url("postgresql://app@host")
    assert settings.database == ""
    assert "dbname" not in settings.options


def test_socket_folder_url_round_trips() -> None:
    settings = settings_from_url("postgresql://postgres:@/db?host=/tmp/x")
    assert settings.url() == "postgresql://postgres@/db?host=/tmp/x"
    assert settings_from_url(settings.url()).hosts == settings.hosts == (("/tmp/x", None),)


def test_percent_encoded_socket_folder_is_read_as_a_host() -> None:
    settings = settings_from_url("postgresql://postgres@%2Ftmp%2FPg%20Sock/db")
    assert settings.host == "/tmp/Pg Sock"
    assert settings_from_url(settings.url()).url() == settings.url()


def test_socket_folder_from_postgres_host_round_trips() -> None:
    settings = settings_from_env(env={"POSTGRES_HOST": "/var/run/postgresql"})
    url = settings.url()
    assert "host=/var/run/postgresql" in url
    assert settings_from_url(url).url() == url


def test_password_with_reserved_characters_reaches_libpq_intact() -> None:
    settings = settings_from_env(env={"POSTGRES_PASSWORD": "p@ss:w/rd?#% 'q'"})
    assert settings.password == "p@ss:w/rd?#% 'q'"
    assert conninfo_to_dict(settings.dsn)["password"] == "p@ss:w/rd?#% 'q'"


def test_ipv6_host_round_trips() -> None:
    settings = settings_from_url("postgresql://app@[::1]:5433/db")
    assert (settings.host, settings.port) == ("::1", 5433)
    assert settings.url() == "postgresql://app@[::1]:5433/db"


# -- connect() with pool options -------------------------------------------------------------


def test_connect_with_pool_size_and_no_prepared_statements(migrated_url: str) -> None:
    with vaultstore.connect(migrated_url, pool_size=3, prepare_threshold=None) as store:
        for _ in range(8):  # more than the default threshold of 5
            store.agents.find_by_name("nobody")
        assert store.pool_stats()["pool_max"] == 3
        settings = store.settings
        assert settings.pool.prepare_threshold is None


def test_connect_reads_the_pool_size_from_the_environment(migrated_url: str) -> None:
    env = {"DATABASE_URL": migrated_url, "DATABASE_POOL_SIZE": "2"}
    with vaultstore.connect(env=env) as store:
        assert store.pool_stats()["pool_max"] == 2


def test_connect_refuses_a_bad_pool_size_before_connecting() -> None:
    with pytest.raises(ValidationError):
        vaultstore.connect("postgresql://u@127.0.0.1:1/db", pool_size=0)


def test_monitoring_is_on_with_no_slow_log_by_default() -> None:
    monitoring = resolve_settings("postgresql://h/db", {}).monitoring
    assert (monitoring.metrics, monitoring.slow_ms, monitoring.slow_seconds) == (True, None, None)


@pytest.mark.parametrize(
    ("env", "metrics", "slow_ms"),
    [
        ({"VAULTSTORE_METRICS": "false"}, False, None),
        ({"VAULTSTORE_METRICS": "on", "VAULTSTORE_SLOW_MS": "250"}, True, 250.0),
        ({"VAULTSTORE_SLOW_MS": "0.5"}, True, 0.5),
    ],
)
def test_the_environment_sets_monitoring(
    env: dict[str, str], metrics: bool, slow_ms: float | None
) -> None:
    monitoring = resolve_settings("mongodb://h/db", env).monitoring
    assert (monitoring.metrics, monitoring.slow_ms) == (metrics, slow_ms)


def test_keywords_override_the_environments_monitoring() -> None:
    env = {"VAULTSTORE_METRICS": "false", "VAULTSTORE_SLOW_MS": "100"}
    monitoring = resolve_settings("postgresql://h/db", env, metrics=True, slow_ms=None).monitoring
    assert (monitoring.metrics, monitoring.slow_ms) == (True, None)
    assert resolve_settings("postgresql://h/db", env).monitoring.slow_seconds == 0.1


@pytest.mark.parametrize(
    ("env", "keywords", "field"),
    [
        ({"VAULTSTORE_METRICS": "sometimes"}, {}, "VAULTSTORE_METRICS"),
        ({"VAULTSTORE_SLOW_MS": "fast"}, {}, "VAULTSTORE_SLOW_MS"),
        ({"VAULTSTORE_SLOW_MS": "-1"}, {}, "VAULTSTORE_SLOW_MS"),
        ({"VAULTSTORE_SLOW_MS": "nan"}, {}, "VAULTSTORE_SLOW_MS"),
        ({}, {"slow_ms": "100"}, "slow_ms"),
        ({}, {"metrics": 1}, "metrics"),
    ],
)
def test_bad_monitoring_settings_are_refused_naming_where_they_came_from(
    env: dict[str, str], keywords: dict[str, object], field: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        resolve_settings("postgresql://h/db", env, **keywords)  # type: ignore[arg-type]
    assert refused.value.field == field
