"""Faults, measured: what a stopped server, a crash and killed backends do to a store
under load, on servers this script starts and stops itself (an embedded PostgreSQL 18
and a SecantusDB daemon). The README's figures come from here.

    python benchmarks/faults.py               # both backends, 3 rounds each
    python benchmarks/faults.py --rounds 5 --threads 8

Per round, 4 threads read (``agents.find_by_name``) in a loop:

* ``restart``: the server is stopped (PostgreSQL: an immediate shutdown, as in a
  crash, and a fast one, as in a planned restart; SecantusDB: killed) and started
  again. Reported: calls failed, the slowest failure once the
  outage was known (the first failure seen) and before the restart (and, apart,
  while the server was starting), and the recovery: from the server answering the
  raw driver again to the end of the first call that got through.
* ``kill``: every backend of the store is terminated (``pg_terminate_backend``, as a
  failover or an administrator would) while the threads read. Reported: reads failed.

Lost updates per concurrency pattern are ``benchmarks/lost_updates.py``'s.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import vaultstore
from tests.outages import EmbeddedPostgres, Figures, Load, SecantusDaemon, outage

KILL = Path(__file__).resolve().parent / "kill_backends.sql"


def restart(
    server: EmbeddedPostgres | SecantusDaemon, threads: int, mode: str | None = None
) -> Figures:
    stop = None
    if mode is not None and isinstance(server, EmbeddedPostgres):
        stop = lambda: server.stop(mode)  # noqa: E731 - one line reads best
    with vaultstore.connect(server.url, pool_size=threads) as store:
        return outage(server, lambda: store.agents.find_by_name("nobody"), threads, stop)


def kill_backends(server: EmbeddedPostgres, threads: int) -> int:
    """Reads failed when every backend of a store reading from ``threads`` threads
    is terminated."""
    with vaultstore.connect(server.url, pool_size=threads, min_pool_size=threads) as store:
        agent = store.agents.find_by_name("faults") or store.agents.create(
            name="faults", credibility_score=1
        )
        with Load(lambda: store.agents.find_by_id(agent.id), threads) as load:
            begin = time.monotonic()
            load.wait_for("reads", lambda o: o.error is None, 50, begin)
            killed = time.monotonic()
            with psycopg.connect(server.url, autocommit=True) as admin:
                admin.execute(KILL.read_text().encode())
            load.wait_for("reads after the kill", lambda o: True, 200, killed)
        return sum(1 for o in load.since(killed) if o.error is not None)


def _report(name: str, figures: list[Figures]) -> None:
    print(
        f"{name:<27} failed calls {statistics.median(f.failed for f in figures):>7.0f}"
        f"  slowest failure {max(f.slowest_failure_while_down for f in figures):.3f} s"
        f" (restarting {max(f.slowest_failure_restarting for f in figures):.3f} s)"
        f"  recovery median {statistics.median(f.recovery for f in figures):.3f} s"
        f" (worst {max(f.recovery for f in figures):.3f} s)"
        f"  failed a second after {sum(f.failed_after_recovery for f in figures)}"
        f"  errors {sorted(set().union(*(f.errors for f in figures)))}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        postgres = EmbeddedPostgres(Path(folder) / "pg")
        mongo = SecantusDaemon(Path(folder) / "mongo")
        try:
            vaultstore.apply_migrations(postgres.url)
            vaultstore.apply_migrations(mongo.url)
            print(f"{args.rounds} rounds, {args.threads} threads reading; connect timeout 10 s")
            for mode in ("immediate", "fast"):
                figures = [restart(postgres, args.threads, mode) for _ in range(args.rounds)]
                _report(f"postgresql, {mode} stop", figures)
            _report("mongodb, killed", [restart(mongo, args.threads) for _ in range(args.rounds)])
            killed = [kill_backends(postgres, args.threads) for _ in range(args.rounds)]
            print(f"kill every PostgreSQL backend under load: failed reads {killed}")
        finally:
            mongo.close()
            postgres.close()


if __name__ == "__main__":
    main()
