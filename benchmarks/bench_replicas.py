"""Read replicas measured on a real primary and hot standby (embedded PostgreSQL 18,
the standby made by ``pg_basebackup``, as the tests make it), in one run:

    python benchmarks/bench_replicas.py [--seconds 2] [--rounds 3] [--threads 8]

* read throughput: 8 threads calling ``store.vaults.find_by_id`` on random vaults
  for ``--seconds``, on a store with no replica, on one with the standby as its
  replica, and raw psycopg (one connection per thread, the same statement) on
  the primary, interleaved over ``--rounds``; calls per second and each against
  the raw figure;
* read-your-writes: ``update_vault_metrics`` then ``find_by_id`` of the same vault,
  one after another, on the store with the replica: the read's latency right
  after the store's own write (it asks the primary's WAL position, waits for the
  replica to replay it, then reads), p50 and p99, against a read with no write
  before it.

Both servers share this machine's cores, so a replica here adds no CPU: the
throughput rows show the cost of routing, not the gain of a second machine.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import vaultstore  # noqa: E402
from tests.standby import primary_and_standby  # noqa: E402
from vaultstore import ChainId, LiquidationProtection, TokenAmount  # noqa: E402

VAULTS = 1000


def load(store: Any) -> list[str]:
    agent = store.agents.create(name="bench_replicas", credibility_score=700)
    ids = []
    for _ in range(VAULTS):
        vault = store.vaults.create(
            agent_id=agent.id,
            chain_id=ChainId.ETHEREUM,
            collateral=TokenAmount(token="ETH", amount=10, value_usd=20000),
            debt=TokenAmount(token="USDC", amount=10000, value_usd=10000),
            ltv=50,
            health_factor=2,
            max_ltv=70,
            liquidation_protection=LiquidationProtection(enabled=True, threshold=60, cooldown=60),
        )
        ids.append(vault.id)
    return ids


def throughput(call: Any, threads: int, seconds: float) -> float:
    """Calls per second of ``call(worker)`` from ``threads`` threads for ``seconds``."""
    counts = [0] * threads
    stop = threading.Event()
    start = threading.Barrier(threads + 1)

    def work(n: int) -> None:
        start.wait()
        while not stop.is_set():
            call(n)
            counts[n] += 1

    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    start.wait()
    began = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    for worker in workers:
        worker.join()
    return sum(counts) / (time.perf_counter() - began)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--pairs", type=int, default=1000)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as folder,
        primary_and_standby(Path(folder)) as (
            primary,
            standby,
        ),
    ):
        vaultstore.apply_migrations(primary)
        size = args.threads
        with (
            vaultstore.connect(primary, pool_size=size) as plain,
            vaultstore.connect(primary, pool_size=size, replicas=[standby.url]) as replicated,
        ):
            ids = load(plain)
            sql = "SELECT * FROM credit_vaults WHERE id = %s"
            raw = [psycopg.connect(primary, autocommit=True) for _ in range(args.threads)]
            rounds: dict[str, list[float]] = {"raw psycopg": [], "no replica": [], "replica": []}
            calls = {
                "raw psycopg": lambda n: raw[n].execute(sql, (random.choice(ids),)).fetchone(),
                "no replica": lambda n: plain.vaults.find_by_id(random.choice(ids)),
                "replica": lambda n: replicated.vaults.find_by_id(random.choice(ids)),
            }
            for _ in range(args.rounds):
                for name, call in calls.items():
                    rounds[name].append(throughput(call, args.threads, args.seconds))
            for conn in raw:
                conn.close()
            served = replicated.pool_stats()["replica_reads"]

            after, before = [], []
            for _ in range(args.pairs):
                vault_id = random.choice(ids)
                replicated.vaults.update_vault_metrics(vault_id, random.randint(10, 60), 1.5)
                began = time.perf_counter()
                replicated.vaults.find_by_id(vault_id)
                after.append(time.perf_counter() - began)
                began = time.perf_counter()
                replicated.vaults.find_by_id(random.choice(ids))
                before.append(time.perf_counter() - began)
            fallbacks = replicated.pool_stats()["replica_fallback_reads"]

    raw_rate = statistics.median(rounds["raw psycopg"])
    print(f"{args.threads} threads of find_by_id, {args.rounds} rounds of {args.seconds:g} s:")
    for name, rates in rounds.items():
        rate = statistics.median(rates)
        print(f"  {name:<12} {rate:9.0f} calls/s   {rate / raw_rate:5.2f}x raw psycopg's rate")
    print(f"  (the replica served {served} reads)")

    def quantile(values: list[float], q: float) -> float:
        return sorted(values)[min(len(values) - 1, int(q * len(values)))] * 1000

    print(f"read-your-writes, {args.pairs} write-then-read pairs on the replica store:")
    print(
        f"  read after its own write: p50 {quantile(after, 0.5):.2f} ms, "
        f"p99 {quantile(after, 0.99):.2f} ms"
    )
    print(
        f"  read with no write before: p50 {quantile(before, 0.5):.2f} ms, "
        f"p99 {quantile(before, 0.99):.2f} ms"
    )
    print(f"  reads the primary answered for want of a caught-up replica: {fallbacks}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
