"""market_data partitioned by month (migration 0012) and ``vaultstore partitions``:
the migration and its rollback keep every row; the command makes and drops the
right partitions, idempotently, one run at a time; a price for a month without a
partition is refused, naming recorded_at; MongoDB's retention deletes the same
months; and the time-range statements read only the partitions of their range
(few rows here: pruning shows in EXPLAIN whatever the row count; 10 M rows in the
slow tier, where find_by_id must also plan on every partition's index unaided)."""

from __future__ import annotations

import itertools
import json
import shutil
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pymongo
import pytest

import vaultstore
from vaultstore._queries import load_queries
from vaultstore._sync.adapter import QueryAdapter
from vaultstore.admin.cli import main
from vaultstore.admin.partitions import (
    LOCK_KEY,
    Retention,
    add_months,
    manage_partitions,
    month_start,
    parse_retention,
)
from vaultstore.errors import ValidationError

from .databases import fresh_database, triggers_off

REPO = Path(__file__).resolve().parent.parent
MIGRATIONS = REPO / "migrations"
BEFORE = sorted(
    p.name.removesuffix(".sql")
    for p in MIGRATIONS.glob("00*.sql")
    if not p.name.endswith(".rollback.sql")
)[:11]
QUERIES = load_queries(QueryAdapter)
EXPLAIN = "EXPLAIN (FORMAT JSON) "
EXPLAIN_ANALYZE = "EXPLAIN (ANALYZE, FORMAT JSON) "
NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
COPY = "COPY market_data (id, token, chain_id, price_usd, source, recorded_at) FROM STDIN"


def partitions(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
            " WHERE i.inhparent = 'market_data'::regclass ORDER BY c.relname"
        ).fetchall()
    return [name for (name,) in rows]


def every_price(url: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT * FROM market_data ORDER BY id").fetchall()


def months(first: str, last: str) -> list[str]:
    """``market_data_YYYY_MM`` of every month from ``first`` to ``last`` (YYYY-MM)."""
    month = date.fromisoformat(first + "-01")
    end = date.fromisoformat(last + "-01")
    names = []
    while month <= end:
        names.append(f"market_data_{month:%Y_%m}")
        month = add_months(month, 1)
    return names


# -- the migration -------------------------------------------------------------------


@pytest.fixture
def before_0012(empty_url: str, tmp_path: Path) -> str:
    """The module's database migrated up to 0011, holding prices over 2025 and 2026
    in the plain market_data table."""
    folder = tmp_path / "migrations"
    folder.mkdir()
    shutil.copy2(MIGRATIONS / "post-apply.py", folder)
    for migration_id in BEFORE:
        for name in (f"{migration_id}.sql", f"{migration_id}.rollback.sql"):
            shutil.copy2(MIGRATIONS / name, folder)
    vaultstore.apply_migrations(empty_url, folder=folder)
    with psycopg.connect(empty_url) as conn:
        for n in range(60):
            at = datetime(2025, 1, 1, tzinfo=UTC) + timedelta(days=11 * n, minutes=n)
            conn.execute(
                "INSERT INTO market_data (id, token, chain_id, price_usd, source, recorded_at,"
                " version) VALUES (%s, 'ETH', 1, %s, 'f', %s, %s)",
                (f"M{n:04d}", n + 1, at, 1 + n % 3),
            )
    return empty_url


def test_the_migration_keeps_every_price(before_0012: str) -> None:
    rows = every_price(before_0012)
    # 0013 (the distribution keys), 0014, 0015 (tenants), 0016 (audit) and 0017 (the
    # change feed) follow: they keep the rows too.
    assert vaultstore.apply_migrations(before_0012) == [
        "0012.market-data-partitions",
        "0013.distribution-keys",
        "0014.owners-delete-their-documents",
        "0015.tenants",
        "0016.audit-log",
        "0017.change-feed",
    ]
    assert every_price(before_0012) == rows


def test_the_migration_makes_every_month_from_the_oldest_price_to_three_months_ahead(
    before_0012: str,
) -> None:
    vaultstore.apply_migrations(before_0012)
    this_month = month_start(datetime.now(UTC)).date()
    assert partitions(before_0012) == months("2025-01", f"{add_months(this_month, 3):%Y-%m}")


def test_the_rollback_keeps_every_price_in_a_plain_table(before_0012: str) -> None:
    rows = every_price(before_0012)
    vaultstore.apply_migrations(before_0012)
    assert vaultstore.rollback_migrations(before_0012, count=6) == [
        "0017.change-feed",
        "0016.audit-log",
        "0015.tenants",
        "0014.owners-delete-their-documents",
        "0013.distribution-keys",
        "0012.market-data-partitions",
    ]
    assert every_price(before_0012) == rows
    with psycopg.connect(before_0012) as conn:
        ((kind, key),) = conn.execute(
            "SELECT c.relkind, pg_get_constraintdef(k.oid) FROM pg_class c"
            " JOIN pg_constraint k ON k.conrelid = c.oid AND k.contype = 'p'"
            " WHERE c.relname = 'market_data'"
        ).fetchall()
    assert (kind, key) == ("r", "PRIMARY KEY (id)")
    assert partitions(before_0012) == []


def test_a_price_for_a_month_without_a_partition_is_refused_naming_recorded_at(
    clean_db: str,
) -> None:
    with vaultstore.connect(clean_db, pool_size=1) as store:
        with pytest.raises(ValidationError) as info:
            store.market_data.create(
                token="ETH", chain_id=1, price_usd=1, recorded_at=datetime(2001, 1, 1, tzinfo=UTC)
            )
        assert store.market_data.count() == 0
    assert info.value.field == "recorded_at"
    assert info.value.code == "23514"
    assert "vaultstore partitions" in str(info.value)


def test_a_price_stored_in_a_partition_is_found_by_id(clean_db: str) -> None:
    with vaultstore.connect(clean_db, pool_size=1) as store:
        stored = store.market_data.create(
            token="ETH", chain_id=1, price_usd=1, recorded_at=datetime(2025, 7, 9, tzinfo=UTC)
        )
        assert store.market_data.find_by_id(stored.id) == stored


# -- vaultstore partitions -----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "retention"),
    [
        ("90d", Retention(days=90)),
        ("6w", Retention(days=42)),
        ("13m", Retention(months=13)),
        ("2 years", Retention(months=24)),
    ],
)
def test_a_retention_is_read_in_days_weeks_months_or_years(text: str, retention: Retention) -> None:
    assert parse_retention(text) == retention


def test_a_retention_that_is_no_duration_is_refused_naming_retain() -> None:
    with pytest.raises(ValidationError) as info:
        parse_retention("soon")
    assert info.value.field == "retain"


def test_the_cutoff_is_the_start_of_the_month_holding_now_minus_the_retention() -> None:
    assert Retention(months=13).cutoff(NOW) == datetime(2025, 11, 1, tzinfo=UTC)
    assert Retention(days=2).cutoff(NOW) == datetime(2026, 11, 1, tzinfo=UTC)


def test_partitions_makes_the_months_ahead(migrated: str) -> None:
    report = manage_partitions(migrated, ahead=6, now=datetime(2031, 5, 20, tzinfo=UTC))
    assert report.created == tuple(months("2031-05", "2031-11"))
    assert set(months("2031-05", "2031-11")) <= set(partitions(migrated))


def test_partitions_run_twice_does_nothing_the_second_time(migrated: str) -> None:
    when = datetime(2031, 5, 20, tzinfo=UTC)
    manage_partitions(migrated, ahead=2, retain="1y", now=when)
    before = partitions(migrated)
    again = manage_partitions(migrated, ahead=2, retain="1y", now=when)
    assert (again.created, again.dropped) == ((), ())
    assert partitions(migrated) == before


def test_partitions_drops_only_the_months_entirely_past_the_retention(migrated: str) -> None:
    # The test partitions span 2025-01 to 2026-12; now - 13 months is 2025-11-02.
    with psycopg.connect(migrated) as conn:
        conn.execute(
            "INSERT INTO market_data (id, token, chain_id, price_usd, source, recorded_at) VALUES"
            " ('old', 'ETH', 1, 1, 'f', '2025-10-31 23:59:59+00'),"
            " ('kept', 'ETH', 1, 1, 'f', '2025-11-01 00:00:00+00')"
        )
    report = manage_partitions(migrated, ahead=0, retain="13m", now=NOW)
    assert report.dropped == tuple(months("2025-01", "2025-10"))
    assert report.detached == report.dropped
    assert partitions(migrated)[0] == "market_data_2025_11"
    assert [row[0] for row in every_price(migrated)] == ["kept"]


def test_partitions_never_makes_a_month_past_the_retention(migrated: str) -> None:
    report = manage_partitions(migrated, since=date(2020, 1, 1), retain="13m", now=NOW)
    assert "market_data_2020_01" not in report.created
    assert "market_data_2025_10" not in partitions(migrated)


def test_a_dry_run_says_what_it_would_do_and_does_nothing(migrated: str) -> None:
    before = partitions(migrated)
    report = manage_partitions(migrated, ahead=2, retain="13m", dry_run=True, now=NOW)
    assert report.dropped == tuple(months("2025-01", "2025-10"))
    assert report.lines()[0] == "would be detached and dropped market_data_2025_01"
    assert partitions(migrated) == before


def test_a_run_while_another_holds_the_lock_does_nothing(migrated: str) -> None:
    before = partitions(migrated)
    with psycopg.connect(migrated, autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
        report = manage_partitions(migrated, ahead=0, retain="13m", now=NOW)
    assert report.busy
    assert partitions(migrated) == before


def test_a_detach_left_pending_is_finalized_and_dropped(migrated: str) -> None:
    with psycopg.connect(migrated, autocommit=True) as conn:
        conn.execute("ALTER TABLE market_data DETACH PARTITION market_data_2025_01 CONCURRENTLY")
        conn.execute("ALTER TABLE market_data DETACH PARTITION market_data_2025_02")
    report = manage_partitions(migrated, ahead=0, retain="13m", now=NOW)
    assert "market_data_2025_02" in report.dropped
    with psycopg.connect(migrated) as conn:
        assert conn.execute("SELECT to_regclass('market_data_2025_02')").fetchone() == (None,)


def test_the_command_prints_what_it_made(migrated: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["partitions", "--database", migrated, "--since", "2024-12"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "created market_data_2024_12"


def test_the_command_refuses_a_bad_month(migrated: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["partitions", "--database", migrated, "--since", "last year"])
    assert exited.value.code == 2


def test_on_mongodb_retention_deletes_the_prices_of_the_months_past_it(
    clean_mongo: str,
) -> None:
    with vaultstore.connect(clean_mongo) as store:
        for at in ("2025-10-31T23:59:59+00:00", "2025-11-01T00:00:00+00:00"):
            store.market_data.create(
                token="ETH", chain_id=1, price_usd=1, recorded_at=datetime.fromisoformat(at)
            )
    dry = manage_partitions(clean_mongo, retain="13m", dry_run=True, now=NOW)
    report = manage_partitions(clean_mongo, retain="13m", now=NOW)
    assert (dry.deleted, report.deleted) == (1, 1)
    assert report.cutoff == datetime(2025, 11, 1, tzinfo=UTC)
    client: pymongo.MongoClient[Any] = pymongo.MongoClient(clean_mongo, tz_aware=True)
    try:
        left = [d["recorded_at"] for d in client.get_default_database().market_data.find()]
    finally:
        client.close()
    assert left == [datetime(2025, 11, 1, tzinfo=UTC)]


# -- plans: pruning ------------------------------------------------------------------

TOKENS, CHAINS = ("ETH", "WBTC"), (1, 8453)


def scans(plan: dict[str, Any], executed_only: bool = False) -> list[tuple[str, str]]:
    """(node type, relation) of every scan in a plan; with ``executed_only``, those
    EXPLAIN ANALYZE shows ran (not "never executed")."""
    found = []
    if "Relation Name" in plan and (not executed_only or plan.get("Actual Loops", 0) > 0):
        found.append((plan["Node Type"], plan["Relation Name"]))
    for child in plan.get("Plans", ()):
        found += scans(child, executed_only)
    return found


def load_prices(url: str, per_series_per_month: int) -> list[str]:
    """24 monthly partitions (20 months back to 3 ahead) holding, in each month,
    ``per_series_per_month`` prices of each of 2 tokens on 2 chains spread over its
    first 28 days, loaded with COPY and analyzed; their names, oldest first."""
    this_month = month_start(datetime.now(UTC)).date()
    first = add_months(this_month, -20)
    manage_partitions(url, since=first, ahead=3)
    names = partitions(url)
    assert len(names) == 24
    step = timedelta(days=28) / per_series_per_month

    def lines() -> Iterator[str]:
        n = 0
        for m in range(24):
            start = datetime.combine(add_months(first, m), datetime.min.time(), UTC)
            for i in range(per_series_per_month):
                at = (start + i * step).isoformat()
                for token, chain in itertools.product(TOKENS, CHAINS):
                    yield f"M{n:010d}\t{token}\t{chain}\t{1000 + i % 97}.5\tfeed\t{at}\n"
                    n += 1

    rows = lines()
    with psycopg.connect(url, autocommit=True) as conn:
        # A backfill: no audit row per price (migration 0016's triggers stand aside),
        # and none of the change feed's either when the role may stop triggers.
        conn.execute("SELECT set_config('vaultstore.audit', 'off', false)")
        triggers_off(conn)
        with conn.cursor() as cur, cur.copy(COPY) as copy:
            while chunk := "".join(itertools.islice(rows, 20_000)):
                copy.write(chunk)
        conn.execute("ANALYZE market_data")
    return names


def month_of(names: list[str], index: int) -> datetime:
    year, month = names[index].removeprefix("market_data_").split("_")
    return datetime(int(year), int(month), 1, tzinfo=UTC)


def plan_of(url: str, name: str, params: dict[str, Any], explain: str = EXPLAIN) -> Any:
    with psycopg.connect(url) as conn:
        if explain == "no seqscan":
            conn.execute("SET enable_seqscan = off")
            explain = EXPLAIN
        ((plan,),) = conn.execute(
            explain + getattr(QUERIES.market_data, name).sql, params
        ).fetchall()
    return plan[0]["Plan"]


def history_params(names: list[str]) -> dict[str, Any]:
    """Ten days across the end of the 5th month and the start of the 6th."""
    since = month_of(names, 5) - timedelta(days=5)
    return {
        "token": "WBTC",
        "chain_id": 8453,
        "after_at": since,
        "after_id": "",
        "until": since + timedelta(days=10),
        "limit": 101,
    }


def check_history_reads_the_months_of_its_range(url: str, names: list[str]) -> None:
    plan = plan_of(url, "history", history_params(names))
    assert {relation for _, relation in scans(plan)} == {names[4], names[5]}, json.dumps(plan)


def check_latest_price_reads_the_newest_month_only(url: str, names: list[str]) -> None:
    plan = plan_of(url, "latest_price", {"token": "ETH", "chain_id": 1}, EXPLAIN_ANALYZE)
    assert [relation for _, relation in scans(plan, executed_only=True)] == [names[-1]], json.dumps(
        plan
    )


def index_scans_by_partition(url: str, names: list[str], explain: str) -> list[tuple[str, str]]:
    plan = plan_of(url, "find_by_id", {"id": "M0000012345"}, explain)
    return sorted((relation, node) for node, relation in scans(plan))


@pytest.fixture(scope="module")
def few_prices(postgres_url: str) -> Iterator[tuple[str, list[str]]]:
    with fresh_database(postgres_url) as url:
        vaultstore.apply_migrations(url)
        yield url, load_prices(url, per_series_per_month=10)


def test_history_reads_only_the_partitions_of_its_range(
    few_prices: tuple[str, list[str]],
) -> None:
    check_history_reads_the_months_of_its_range(*few_prices)


def test_latest_price_reads_only_the_newest_partition(few_prices: tuple[str, list[str]]) -> None:
    check_latest_price_reads_the_newest_month_only(*few_prices)


def test_find_by_id_has_an_index_on_every_partition(few_prices: tuple[str, list[str]]) -> None:
    # Few rows: a sequential scan would be cheaper, so it is turned off to show
    # that every partition has an index to look an id up in.
    url, names = few_prices
    found = index_scans_by_partition(url, names, "no seqscan")
    assert [relation for relation, _ in found] == names
    assert {node for _, node in found} <= {"Index Scan", "Index Only Scan", "Bitmap Heap Scan"}


@pytest.fixture(scope="module")
def ten_million_prices(postgres_url: str) -> Iterator[tuple[str, list[str]]]:
    with fresh_database(postgres_url) as url:
        vaultstore.apply_migrations(url)
        # 24 months x 4 series x 104,167 = 10,000,032 rows
        yield url, load_prices(url, per_series_per_month=104_167)


@pytest.mark.slow
def test_history_reads_only_the_partitions_of_its_range_in_10m_prices(
    ten_million_prices: tuple[str, list[str]],
) -> None:
    check_history_reads_the_months_of_its_range(*ten_million_prices)


@pytest.mark.slow
def test_latest_price_reads_only_the_newest_partition_in_10m_prices(
    ten_million_prices: tuple[str, list[str]],
) -> None:
    check_latest_price_reads_the_newest_month_only(*ten_million_prices)


@pytest.mark.slow
def test_find_by_id_plans_an_index_scan_on_every_partition_in_10m_prices(
    ten_million_prices: tuple[str, list[str]],
) -> None:
    url, names = ten_million_prices
    found = index_scans_by_partition(url, names, EXPLAIN)
    assert [relation for relation, _ in found] == names
    assert {node for _, node in found} <= {"Index Scan", "Index Only Scan"}
