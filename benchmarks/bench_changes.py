"""How long a committed write takes to reach a change feed, the figures behind the
README's "Change feed":

    python benchmarks/bench_changes.py --database postgresql://postgres@127.0.0.1:5432/db
    python benchmarks/bench_changes.py --database mongodb://127.0.0.1:27017/db

With no ``--database``, an embedded SecantusDB is started (for MongoDB). The
database is migrated first, and agents are written there.

``--threads`` threads (4) write agents (a create, then updates of it) while one
``store.watch("agents")`` reads in another thread; the latency of a write is from
the moment its call returned (committed) to the moment the feed delivered its
event, both read from the same monotonic clock. Two loads: ``paced`` (each
thread ``--rate`` writes a second, 100) and ``flat out`` (as fast as they go).
Prints p50, p99 and the slowest, in milliseconds.

``--cost`` (PostgreSQL, as the tables' owner) measures instead what the outbox
costs the writes: ``market_data.bulk_insert`` of 20,000 prices and 200
``agents.create``, with the feed's insert triggers on and off (``change_feed_on``
and ``change_feed_off`` in bench.sql), in alternating rounds; the ratio is the
median of the per-round ratios.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import threading
import time
from decimal import Decimal
from pathlib import Path

import aiosql
import psycopg

import vaultstore
from vaultstore import NewMarketData, Store
from vaultstore.admin.cli import embedded_mongodb

BOUND = 60.0
BENCH_SQL = aiosql.from_path(Path(__file__).parent / "bench.sql", "psycopg")


def measure(store: Store, writes: int, threads: int, rate: float | None) -> list[float]:
    """Latencies in seconds of ``writes`` writes from ``threads`` threads."""
    committed: dict[tuple[str, int], float] = {}
    arrived: dict[tuple[str, int], float] = {}
    lock = threading.Lock()
    with store.watch("agents") as feed:

        def watch() -> None:
            for event in feed:
                arrived.setdefault((event.id, event.version or 0), time.monotonic())
                if len(arrived) >= writes:
                    return

        reader = threading.Thread(target=watch, daemon=True)
        reader.start()

        def write(n: int) -> None:
            agent = store.agents.create(name=f"bench-{n}-{time.time_ns()}", credibility_score=700)
            done = time.monotonic()
            with lock:
                committed[(agent.id, agent.version)] = done
            pause = 1.0 / rate if rate else 0.0
            for i in range(writes // threads - 1):
                start = time.monotonic()
                agent = store.agents.update(agent.id, credibility_score=600 + i % 200)
                done = time.monotonic()
                with lock:
                    committed[(agent.id, agent.version)] = done
                if pause:
                    time.sleep(max(0.0, pause - (done - start)))

        writers = [threading.Thread(target=write, args=(n,)) for n in range(threads)]
        for thread in writers:
            thread.start()
        for thread in writers:
            thread.join()
        reader.join(BOUND)
    missing = set(committed) - set(arrived)
    if missing:
        print(f"  {len(missing)} writes not seen within {BOUND:g} s", file=sys.stderr)
    return [arrived[key] - at for key, at in committed.items() if key in arrived]


def report(backend: str, load: str, latencies: list[float]) -> None:
    ms = sorted(x * 1000 for x in latencies)
    cuts = statistics.quantiles(ms, n=100)
    print(
        f"{backend:<10} {load:<9} {len(ms):>6} writes  p50 {cuts[49]:6.2f} ms  "
        f"p99 {cuts[98]:6.2f} ms  max {ms[-1]:7.2f} ms"
    )


def run(url: str, writes: int, threads: int, rate: float) -> None:
    vaultstore.apply_migrations(url)
    with vaultstore.connect(url, pool_size=threads + 2) as store:
        for load, paced in (("paced", rate), ("flat out", None)):
            report(store.backend, load, measure(store, writes, threads, paced))


def cost(url: str, rounds: int) -> None:
    """The feed's triggers on against off, for a bulk insert and single creates."""
    vaultstore.apply_migrations(url)
    rng = random.Random(5)
    times: dict[tuple[str, bool], list[float]] = {}
    with (
        vaultstore.connect(url, pool_size=2) as store,
        psycopg.connect(url, autocommit=True) as conn,
    ):
        for n in range(rounds):
            for on in (n % 2 == 0, n % 2 == 1):
                (BENCH_SQL.change_feed_on if on else BENCH_SQL.change_feed_off)(conn)
                prices: list[NewMarketData] = [
                    {
                        "token": f"T{i}",
                        "chain_id": 1,
                        "price_usd": Decimal(rng.randrange(1, 10**6)) / 8,
                    }
                    for i in range(1, 20_001)
                ]
                start = time.perf_counter()
                store.market_data.bulk_insert(prices)
                times.setdefault(("bulk_insert 20,000 prices", on), []).append(
                    time.perf_counter() - start
                )
                start = time.perf_counter()
                for _ in range(200):
                    store.agents.create(name=f"cost_{time.monotonic_ns()}", credibility_score=700)
                times.setdefault(("agents.create x200", on), []).append(time.perf_counter() - start)
        BENCH_SQL.change_feed_on(conn)
    for name in ("bulk_insert 20,000 prices", "agents.create x200"):
        with_feed, without = times[name, True], times[name, False]
        ratio = statistics.median(a / b for a, b in zip(with_feed, without, strict=True))
        print(
            f"{name:<28} triggers off {statistics.median(without) * 1000:8.1f} ms   "
            f"on {statistics.median(with_feed) * 1000:8.1f} ms   ratio {ratio:4.2f}x"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", help="default: an embedded SecantusDB")
    parser.add_argument("--writes", type=int, default=2000, help="per load (default 2000)")
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--rate", type=float, default=100.0, help="writes/s per thread, paced")
    parser.add_argument(
        "--cost", action="store_true", help="PostgreSQL: what the triggers cost the writes"
    )
    parser.add_argument("--rounds", type=int, default=6, help="with --cost (default 6)")
    args = parser.parse_args()
    if args.cost:
        if not args.database:
            parser.error("--cost needs --database (a PostgreSQL database, as its owner)")
        cost(args.database, args.rounds)
        return 0
    if args.database:
        run(args.database, args.writes, args.threads, args.rate)
        return 0
    with tempfile.TemporaryDirectory() as tmp, embedded_mongodb(Path(tmp) / "data") as url:
        run(url, args.writes, args.threads, args.rate)
    return 0


if __name__ == "__main__":
    sys.exit(main())
