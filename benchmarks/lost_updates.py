"""Lost updates, counted: writers racing on one vault, each reading it, adding 1 to
its LTV and writing it back, in three ways, on both backends.

    python benchmarks/lost_updates.py                  # embedded PostgreSQL 18 and SecantusDB
    python benchmarks/lost_updates.py --writers 16 --updates 50
    python benchmarks/lost_updates.py --database URL --mongo-uri URI

* ``plain``: ``find_by_id`` then ``update_vault_metrics``;
* ``transaction``: the same inside ``store.transaction()``;
* ``version``: the same with ``expected_version=`` inside ``store.run_transaction``;
* ``lock``: ``lock()`` then ``update_vault_metrics`` inside ``store.run_transaction``.

A call that raised is counted as failed; an update that returned but is not in the
final LTV is lost. The figures go in the README.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from typing import Any

from bench import database, mongo_database

import vaultstore
from vaultstore import ChainId, LiquidationProtection, TokenAmount


def _plain(store: Any, vault_id: str) -> None:
    current = store.vaults.find_by_id(vault_id)
    store.vaults.update_vault_metrics(vault_id, current.ltv + 1, current.health_factor)


def _transaction(store: Any, vault_id: str) -> None:
    with store.transaction() as tx:
        _plain(tx, vault_id)


def _version(store: Any, vault_id: str) -> None:
    def add_one(tx: Any) -> None:
        current = tx.vaults.find_by_id(vault_id)
        tx.vaults.update_vault_metrics(
            vault_id, current.ltv + 1, current.health_factor, expected_version=current.version
        )

    store.run_transaction(add_one, attempts=1000)


def _lock(store: Any, vault_id: str) -> None:
    def add_one(tx: Any) -> None:
        current = tx.vaults.lock(vault_id)
        tx.vaults.update_vault_metrics(vault_id, current.ltv + 1, current.health_factor)

    store.run_transaction(add_one, attempts=1000)


PATTERNS: dict[str, Callable[[Any, str], None]] = {
    "plain": _plain,
    "transaction": _transaction,
    "version": _version,
    "lock": _lock,
}


def race(url: str, pattern: str, writers: int, updates: int) -> dict[str, Any]:
    """Run ``writers`` threads of ``updates`` read-add-writes each; count what got lost."""
    step = PATTERNS[pattern]
    with vaultstore.connect(url, pool_size=writers) as store:
        agent = store.agents.create(name=f"race_{time.monotonic_ns()}", credibility_score=700)
        vault = store.vaults.create(
            agent_id=agent.id,
            chain_id=ChainId.ETHEREUM,
            collateral=TokenAmount(token="ETH", amount=10, value_usd=20000),
            debt=TokenAmount(token="USDC", amount=10000, value_usd=10000),
            ltv=0,
            health_factor=2,
            max_ltv=70,
            liquidation_protection=LiquidationProtection(threshold=60),
        )

        def writer() -> tuple[int, int]:
            done = failed = 0
            for _ in range(updates):
                try:
                    step(store, vault.id)
                    done += 1
                except vaultstore.VaultStoreError:
                    failed += 1
            return done, failed

        start = time.perf_counter()
        with ThreadPoolExecutor(writers) as pool:
            counts = [future.result() for future in [pool.submit(writer) for _ in range(writers)]]
        seconds = time.perf_counter() - start
        final = store.vaults.find_by_id(vault.id)
    assert final is not None
    done = sum(d for d, _ in counts)
    return {
        "pattern": pattern,
        "updates": writers * updates,
        "returned": done,
        "failed": sum(f for _, f in counts),
        "lost": done - int(final.ltv),
        "seconds": seconds,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", help="a PostgreSQL URL it may write to")
    parser.add_argument("--mongo-uri", help="a MongoDB database URI it may write to")
    parser.add_argument("--writers", type=int, default=16)
    parser.add_argument("--updates", type=int, default=50, help="per writer")
    parser.add_argument("--backend", choices=["postgresql", "mongodb", "both"], default="both")
    args = parser.parse_args()
    lost_when_guarded = 0
    backends: list[tuple[str, Callable[[str | None], AbstractContextManager[str]], str | None]] = [
        ("postgresql", database, args.database or os.environ.get("VAULTSTORE_BENCH_POSTGRES_URL")),
        ("mongodb", mongo_database, args.mongo_uri or os.environ.get("VAULTSTORE_BENCH_MONGO_URI")),
    ]
    for backend, open_database, given in backends:
        if args.backend not in {backend, "both"}:
            continue
        with open_database(given) as url:
            vaultstore.apply_migrations(url)
            for pattern in PATTERNS:
                row = race(url, pattern, args.writers, args.updates)
                print(
                    f"{backend:<10} {pattern:<12} {row['updates']:>5} updates: "
                    f"{row['returned']:>5} returned, {row['failed']:>4} failed, "
                    f"{row['lost']:>5} lost  ({row['seconds']:.1f} s)"
                )
                if pattern in {"version", "lock"}:
                    lost_when_guarded += row["lost"] + row["failed"]
    return 1 if lost_when_guarded else 0


if __name__ == "__main__":
    sys.exit(main())
