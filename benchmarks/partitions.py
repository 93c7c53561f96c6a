"""find_by_id on market data: 24 monthly partitions (migration 0012) against the
plain table of migration 0011, the same rows in both, measured in the same run.

    python benchmarks/partitions.py --database postgresql://postgres@127.0.0.1:5432/postgres

Two databases are made on the server (and dropped): one migrated to 0011, one
migrated fully with 24 monthly partitions; each gets the same ``--rows`` prices
(COPY), spread over the 24 months, and is analyzed. Rounds alternate between them:
``store.market_data.find_by_id`` of random stored ids, and psycopg running the
same statement prepared with tuple rows (the raw cost of the 24 index probes).
Each figure is the median over the rounds of the microseconds per call.
"""

from __future__ import annotations

import argparse
import itertools
import random
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
from psycopg import sql

import vaultstore
from vaultstore._queries import load_queries
from vaultstore._sync.adapter import QueryAdapter
from vaultstore.admin.partitions import add_months, manage_partitions, month_start

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
COPY = "COPY market_data (id, token, chain_id, price_usd, source, recorded_at) FROM STDIN"
CHAINS = (1, 10, 137, 8453, 42161)
FIND_BY_ID = load_queries(QueryAdapter).market_data.find_by_id.sql


def database(server: str, name: str) -> str:
    return urlsplit(server)._replace(path="/" + name).geturl()


def lines(rows: int, first: datetime) -> Iterator[str]:
    step = timedelta(days=24 * 30) / rows
    for n in range(rows):
        at = (first + n * step).isoformat()
        yield f"B{n:010d}\tETH\t{CHAINS[n % 5]}\t{1000 + n % 97}.5\tfeed\t{at}\n"


def load(url: str, rows: int, first: datetime) -> None:
    source = lines(rows, first)
    with psycopg.connect(url, autocommit=True) as conn:
        with conn.cursor() as cur, cur.copy(COPY) as copy:
            while chunk := "".join(itertools.islice(source, 20_000)):
                copy.write(chunk)
        conn.execute("VACUUM ANALYZE market_data")


def time_store(url: str, ids: list[str]) -> float:
    with vaultstore.connect(url, pool_size=1) as store:
        for id_ in ids[:50]:
            store.market_data.find_by_id(id_)
        start = time.perf_counter()
        for id_ in ids:
            store.market_data.find_by_id(id_)
        return (time.perf_counter() - start) / len(ids) * 1e6


def time_raw(url: str, ids: list[str]) -> float:
    with psycopg.connect(url, autocommit=True) as conn, conn.cursor() as cur:
        for id_ in ids[:50]:
            cur.execute(FIND_BY_ID, {"id": id_}, prepare=True)
            cur.fetchone()
        start = time.perf_counter()
        for id_ in ids:
            cur.execute(FIND_BY_ID, {"id": id_}, prepare=True)
            cur.fetchone()
        return (time.perf_counter() - start) / len(ids) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", required=True, help="a server URL (databases are made on it)")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--calls", type=int, default=1_000)
    args = parser.parse_args()
    this_month = month_start(datetime.now(UTC)).date()
    first_month = add_months(this_month, -20)  # 24 months: 20 back, this one, 3 ahead
    first = datetime.combine(first_month, datetime.min.time(), UTC)
    names = {
        kind: f"vaultstore_parts_bench_{kind}_{uuid.uuid4().hex[:8]}" for kind in ("plain", "parts")
    }
    with psycopg.connect(args.database, autocommit=True) as conn:
        for name in names.values():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    urls = {kind: database(args.database, name) for kind, name in names.items()}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            shutil.copy2(MIGRATIONS / "post-apply.py", folder)
            for path in sorted(MIGRATIONS.glob("00*.sql")):
                if path.name < "0012":
                    shutil.copy2(path, folder)
            vaultstore.apply_migrations(urls["plain"], folder=folder)
        vaultstore.apply_migrations(urls["parts"])
        count = len(manage_partitions(urls["parts"], since=first_month, ahead=3).kept)
        for url in urls.values():
            load(url, args.rows, first)
        rng = random.Random(1)
        times: dict[str, list[float]] = {}
        for _ in range(args.rounds):
            ids = [f"B{rng.randrange(args.rows):010d}" for _ in range(args.calls)]
            for kind, url in urls.items():
                times.setdefault(f"vaultstore {kind}", []).append(time_store(url, ids))
                times.setdefault(f"raw {kind}", []).append(time_raw(url, ids))
        median = {key: statistics.median(values) for key, values in times.items()}
        print(f"{args.rows:,} prices; {count} partitions; median of {args.rounds} rounds")
        for side in ("vaultstore", "raw"):
            plain, parts = median[f"{side} plain"], median[f"{side} parts"]
            print(
                f"{side} find_by_id: plain table {plain:.0f} us, {count} partitions "
                f"{parts:.0f} us: {parts / plain:.2f}x"
            )
    finally:
        with psycopg.connect(args.database, autocommit=True) as conn:
            for name in names.values():
                conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


if __name__ == "__main__":
    main()
