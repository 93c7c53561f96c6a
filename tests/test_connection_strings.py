"""Production connection strings, read by the drivers' own parsers and passed to them
as written: multi-host PostgreSQL URLs with ``target_session_attrs``, MongoDB seed
lists with ``replicaSet``, ``mongodb+srv://``, repeated keys, and options that our
defaults never override. On the real servers."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

import pymongo
import pytest
from psycopg.conninfo import conninfo_to_dict

import vaultstore
from vaultstore import UnavailableError, ValidationError, settings_from_url

DEAD = ("127.0.0.1", 1)  # nothing listens on port 1: refused at once


def multi_host(url: str, **query: str) -> str:
    """``url``'s server behind a host that refuses connections, as a multi-host URL."""
    params = {key: str(value) for key, value in conninfo_to_dict(url).items()}
    host, port = params.get("host", "localhost"), params.get("port", "5432")
    user, dbname = params.get("user", "postgres"), params.get("dbname", "postgres")
    extra = "&".join(f"{key}={quote(value)}" for key, value in query.items())
    if host.startswith("/"):  # a socket folder (the embedded server): in the query string
        return (
            f"postgresql://{user}@/{dbname}?host={DEAD[0]},{quote(host)}&port={DEAD[1]},{port}"
            + (f"&{extra}" if extra else "")
        )
    return f"postgresql://{user}@{DEAD[0]}:{DEAD[1]},{host}:{port}/{dbname}" + (
        f"?{extra}" if extra else ""
    )


def session_setting(store: vaultstore.Store, name: str) -> str:
    """A setting of the store's pooled sessions (read through its pool: no public
    API runs arbitrary SQL)."""
    pool = store._executor.pool  # type: ignore[attr-defined]
    with pool.connection() as conn:
        row = conn.execute("select current_setting(%s)", [name]).fetchone()
    return str(row[0])


# -- PostgreSQL -----------------------------------------------------------------------------


def test_a_multi_host_url_connects_to_the_host_that_answers(migrated_url: str) -> None:
    url = multi_host(migrated_url, target_session_attrs="read-write")
    with vaultstore.connect(url, pool_size=1, connect_timeout=5) as store:
        assert len(store.settings.hosts) == 2
        assert store.ping() > 0
        assert store.agents.find_by_name("nobody") is None


def test_target_session_attrs_reaches_libpq(migrated_url: str) -> None:
    """A primary is not read-only: libpq refuses every host, which proves the
    option went through untouched."""
    url = multi_host(migrated_url, target_session_attrs="read-only")
    with pytest.raises(UnavailableError):
        vaultstore.connect(url, pool_size=1, connect_timeout=2)


def test_the_url_s_options_win_over_vaultstore_s_defaults(migrated_url: str) -> None:
    url = (
        migrated_url
        + ("&" if "?" in migrated_url else "?")
        + (
            "application_name=risk_probe&connect_timeout=7"
            "&options=" + quote("-c statement_timeout=4321 -c lock_timeout=1234")
        )
    )
    with vaultstore.connect(url, pool_size=1, operation_timeout=30) as store:
        assert session_setting(store, "application_name") == "risk_probe"
        assert session_setting(store, "statement_timeout") == "4321ms"
        assert session_setting(store, "lock_timeout") == "1234ms"
        assert session_setting(store, "TimeZone") == "UTC"  # ours, where the URL is silent


def test_vaultstore_s_defaults_fill_what_the_url_leaves_out(migrated_url: str) -> None:
    with vaultstore.connect(migrated_url, pool_size=1, operation_timeout=2.5) as store:
        assert session_setting(store, "application_name") == "vaultstore"
        assert session_setting(store, "statement_timeout") == "2500ms"


def test_pgoptions_and_a_service_file_win_over_vaultstore_s_defaults(
    migrated_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What libpq takes from elsewhere than the string (PGOPTIONS, a service file)
    is the user's too: vaultstore's session defaults give way to it."""
    services = tmp_path / "pg_service.conf"
    services.write_text("[risk]\napplication_name=from_service\noptions=-c lock_timeout=2345\n")
    monkeypatch.setenv("PGSERVICEFILE", str(services))
    monkeypatch.setenv("PGOPTIONS", "-c statement_timeout=4321")
    url = migrated_url + ("&" if "?" in migrated_url else "?") + "service=risk"
    with vaultstore.connect(url, pool_size=1, operation_timeout=30) as store:
        assert session_setting(store, "application_name") == "from_service"
        assert session_setting(store, "lock_timeout") == "2345ms"
    monkeypatch.delenv("PGSERVICEFILE")
    with vaultstore.connect(migrated_url, pool_size=1, operation_timeout=30) as store:
        assert session_setting(store, "statement_timeout") == "4321ms"  # PGOPTIONS'
        assert session_setting(store, "TimeZone") == "UTC"


def test_hostaddr_lists_are_hosts_too() -> None:
    settings = settings_from_url("postgresql:///db?hostaddr=10.0.0.1,10.0.0.2&port=5432,5433")
    assert settings.hosts == (("10.0.0.1", 5432), ("10.0.0.2", 5433))


def test_libpq_key_value_strings_are_accepted(migrated_url: str) -> None:
    params = conninfo_to_dict(migrated_url)
    conninfo = " ".join(f"{key}='{value}'" for key, value in params.items())
    with vaultstore.connect(conninfo, pool_size=1) as store:
        assert store.settings.backend == "postgresql"
        assert store.ping() > 0


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://u@h1:5432,h2:99999/db",
        "postgresql://u@h1,h2/db?port=1,2,3",
        "postgresql://u@h1/db?port=five",
        "postgresql://u@host/db?not_a_libpq_option=1",
    ],
)
def test_a_malformed_postgresql_url_is_refused_by_libpq_s_rules(url: str) -> None:
    with pytest.raises(ValidationError) as info:
        settings_from_url(url)
    assert info.value.field == "url"


def test_multi_host_settings_from_the_environment() -> None:
    settings = vaultstore.settings_from_env(
        env={"POSTGRES_HOST": "h1,h2", "POSTGRES_PORT": "5432,5433", "POSTGRES_SSL": "verify-full"}
    )
    assert settings.hosts == (("h1", 5432), ("h2", 5433))
    assert settings.options["sslmode"] == "verify-full"


def test_the_recommended_tls_settings_reach_libpq() -> None:
    settings = vaultstore.settings_from_env(
        env={"POSTGRES_SSL": "verify-full", "POSTGRES_SSL_ROOT_CERT": "/etc/ssl/rds.pem"}
    )
    params = conninfo_to_dict(settings.dsn)
    assert (params["sslmode"], params["sslrootcert"]) == ("verify-full", "/etc/ssl/rds.pem")


# -- MongoDB --------------------------------------------------------------------------------


def replica_set_name(uri: str) -> str:
    client: pymongo.MongoClient[Any] = pymongo.MongoClient(uri, serverSelectionTimeoutMS=5000)
    try:
        hello = client.admin.command("hello")
    finally:
        client.close()
    name = hello.get("setName")
    if not name:
        pytest.skip("the test server is not a replica set")
    return str(name)


def seed_list(uri: str, **query: str) -> str:
    """``uri``'s server named twice, by address and by name (the seed list of a
    one-node replica set), with ``query`` options."""
    parsed = pymongo.uri_parser.parse_uri(uri)
    host, port = parsed["nodelist"][0]
    alias = "localhost" if host == "127.0.0.1" else host
    extra = "&".join(f"{key}={value}" for key, value in query.items())
    return f"mongodb://127.0.0.1:{port},{alias}:{port}/{parsed['database']}?{extra}"


def test_a_replica_set_seed_list_connects(migrated_mongo: str) -> None:
    name = replica_set_name(migrated_mongo)
    uri = seed_list(migrated_mongo, replicaSet=name)
    with vaultstore.connect(uri, pool_size=2) as store:
        assert len(store.settings.hosts) == 2
        assert store.settings.options["replicaSet"] == name
        assert store.ping() > 0
        assert store.agents.find_by_name("nobody") is None


def test_a_wrong_replica_set_name_is_unavailable_not_a_crash(migrated_mongo: str) -> None:
    uri = seed_list(migrated_mongo, replicaSet="not_this_one")
    with pytest.raises(UnavailableError):
        vaultstore.connect(uri, connect_timeout=1)


def test_repeated_keys_and_the_uri_s_pool_options_reach_pymongo(migrated_mongo: str) -> None:
    uri = seed_list(
        migrated_mongo,
        readPreference="secondaryPreferred",
        readPreferenceTags="dc:ny",
        appName="risk_probe",
        maxPoolSize="3",
    )
    uri += "&readPreferenceTags="  # repeated: the fallback to any member
    with vaultstore.connect(uri, pool_size=8) as store:
        assert store.settings.options["readPreferenceTags"] == [{"dc": "ny"}, {}]
        client = store._executor.client  # type: ignore[attr-defined]
        assert list(client.options.read_preference.tag_sets) == [{"dc": "ny"}, {}]
        assert client.options.pool_options.metadata["application"]["name"] == "risk_probe"
        assert store.pool_stats()["pool_max"] == 3  # the URI's, not pool_size=8
        assert store.agents.find_by_name("nobody") is None


def test_a_seed_list_uri_is_read_without_resolving_it() -> None:
    settings = settings_from_url("mongodb+srv://app:pw@cluster0.example.net/risk?retryWrites=true")
    assert settings.hosts == (("cluster0.example.net", None),)
    assert settings.database == "risk"
    assert str(settings) == "mongodb+srv://app:***@cluster0.example.net/risk?retryWrites=true"


def test_seed_list_options_are_kept() -> None:
    settings = settings_from_url(
        "mongodb+srv://app:pw@cluster0.example.net/risk?srvServiceName=custom&srvMaxHosts=2"
    )
    assert settings.options["srvServiceName"] == "custom"
    assert settings.dsn.endswith("srvServiceName=custom&srvMaxHosts=2")


def test_a_seed_list_whose_dns_records_are_missing_is_unavailable() -> None:
    with pytest.raises(UnavailableError) as info:
        vaultstore.connect("mongodb+srv://app:S3cretPw@no-such-cluster.invalid/risk")
    assert "S3cretPw" not in str(info.value)


@pytest.mark.parametrize(
    "uri",
    [
        "mongodb://h1:27017,h2:port/db",
        "mongodb://h1/db?replicaSet=rs0&w=-5",
        "mongodb://h1/db?tls=true&ssl=false",
        "mongodb://h1/db?tlsCAFile=/no/such/ca.pem",
    ],
)
def test_a_malformed_mongodb_uri_is_refused_by_pymongo_s_rules(uri: str) -> None:
    with pytest.raises(ValidationError) as info:
        settings_from_url(uri)
    assert info.value.field == "url"


def test_mongo_tls_settings_from_the_environment(tmp_path: Any) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("not checked until a TLS connection is made\n")
    settings = vaultstore.settings_from_env(
        env={
            "DATABASE_TYPE": "mongodb",
            "MONGO_HOST": "m1,m2:27018",
            "MONGO_REPLICA_SET": "rs0",
            "MONGO_TLS": "true",
            "MONGO_TLS_CA_FILE": str(ca),
        }
    )
    assert settings.hosts == (("m1", 27017), ("m2", 27018))
    assert settings.options["tls"] is True
    assert settings.options["tlsCAFile"] == str(ca)
    assert settings.options["replicaSet"] == "rs0"


def test_a_missing_mongo_tls_ca_file_names_its_variable() -> None:
    with pytest.raises(ValidationError) as info:
        vaultstore.settings_from_env(
            env={"DATABASE_TYPE": "mongodb", "MONGO_TLS": "1", "MONGO_TLS_CA_FILE": "/no/ca.pem"}
        )
    assert info.value.field == "MONGO_TLS_CA_FILE"
