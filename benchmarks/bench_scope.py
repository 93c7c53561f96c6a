"""What setting the tenant for each statement would cost, the figures behind the
README's "How the tenant reaches the server":

    python benchmarks/bench_scope.py --database postgresql://postgres@127.0.0.1:5432/db

``find_by_id`` of one vault (queries/vaults.sql, a migrated database holding at
least one vault), 2,000 calls, best of 3, three ways on one connection:

* ``prepared``: the statement alone, prepared (what vaultstore sends when the
  connection already holds the store's tenant in its session);
* ``one query``: ``health.set_call_scope`` (tenant, actor and timeout local to the
  transaction) and the statement in one simple-protocol query, parameters bound
  on the client (what vaultstore sends behind a transaction pooler);
* ``pipeline``: the two as prepared statements in a psycopg pipeline.
"""

from __future__ import annotations

import argparse
import sys
import timeit
from typing import Any

import psycopg
from psycopg import ClientCursor

from vaultstore._async.adapter import AsyncQueryAdapter
from vaultstore._queries import load_queries

CALLS = 2000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", required=True)
    args = parser.parse_args()
    queries = load_queries(AsyncQueryAdapter)
    by_id, scope = queries.vaults.find_by_id.sql, queries.health.set_call_scope.sql
    scope_params = {"milliseconds": 30000, "tenant": "default", "actor": "bench"}
    with psycopg.connect(args.database, autocommit=True) as conn:
        cur, client = conn.cursor(), ClientCursor(conn)
        cur.execute(queries.vaults.list_after.sql, {"after": "", "limit": 1})
        row = cur.fetchone()
        if row is None:
            print("no vault in this database: load some first (vaultstore demo)")
            return 2
        params: dict[str, Any] = {"id": row[0]}

        def prepared() -> None:
            cur.execute(by_id, params, prepare=True)
            cur.fetchone()

        def one_query() -> None:
            client.execute(scope + "\n" + by_id, {**scope_params, **params})
            client.nextset()
            client.fetchone()

        def pipeline() -> None:
            with conn.pipeline():
                cur.execute(scope, scope_params, prepare=True)
                cur.execute(by_id, params, prepare=True)
            cur.fetchone()

        times = {
            f.__name__: min(timeit.repeat(f, number=CALLS, repeat=3)) / CALLS * 1e6
            for f in (prepared, one_query, pipeline)
        }
    for name, micros in times.items():
        print(f"{name:<10} {micros:7.1f} us   {micros / times['prepared']:5.2f}x prepared")
    return 0


if __name__ == "__main__":
    sys.exit(main())
