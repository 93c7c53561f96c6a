"""market_data.bulk_insert at scale, in bounded memory: a generator of 1,000,000
prices is stored a batch at a time, by a process of its own, and two measures of
its memory stay far below what the records would take if they were held at once:
the peak resident memory (the kernel's VmHWM, which starts anew at exec, unlike
getrusage's ru_maxrss, which would count the forked test runner), and the peak of
what Python allocated during the call (tracemalloc, started just before it).
PostgreSQL only: SecantusDB slows down as a transaction grows (20,000 documents
take about a minute there)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

RECORDS = 1_000_000
PEAK_MB = 250
"""The interpreter, psycopg, pymongo, cattrs and a batch of 10,000 take about 100
MiB; the million entities at once would take well over 1 GiB."""
TRACED_PEAK_MB = 16
"""What bulk_insert allocates at most at one time, by tracemalloc: the rows of one
chunk of 1,024 records and psycopg's COPY buffers, about 1.3 MiB measured for
20,000 records as for 100,000 (2026-12-02); the million records' dicts alone
would take some 330 MiB."""

PROGRAM = """
import sys
import tracemalloc
from datetime import UTC, datetime, timedelta
import vaultstore

T0 = datetime(2026, 1, 1, tzinfo=UTC)
count = int(sys.argv[2])
prices = (
    {
        "token": f"T{n % 97}",
        "chain_id": 1,
        "price_usd": f"{1000 + n % 1000}.{n % 100:02d}",
        "source": "at-scale",
        "recorded_at": T0 + timedelta(seconds=n),
    }
    for n in range(count)
)
with vaultstore.connect(sys.argv[1], pool_size=1) as store:
    tracemalloc.start()
    print(store.market_data.bulk_insert(prices))
    print(tracemalloc.get_traced_memory()[1])
    tracemalloc.stop()
    latest = store.market_data.latest_price(f"T{(count - 1) % 97}", 1)
    print(latest.recorded_at == T0 + timedelta(seconds=count - 1))
with open("/proc/self/status") as status:
    print(next(line.split()[1] for line in status if line.startswith("VmHWM:")))
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads Linux's /proc")
def test_a_million_prices_in_bounded_memory(clean_db: str) -> None:
    result = subprocess.run(  # a fixed argument list, no shell
        [sys.executable, "-c", PROGRAM, clean_db, str(RECORDS)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    count, traced_bytes, latest_ok, peak_kib = result.stdout.split()
    assert (count, latest_ok) == (str(RECORDS), "True")
    peak_mb = int(peak_kib) / 1024
    traced_mb = int(traced_bytes) / 2**20
    print(
        f"{RECORDS} prices, peak resident memory {peak_mb:.0f} MiB, "
        f"peak allocated by bulk_insert (tracemalloc) {traced_mb:.1f} MiB"
    )
    assert peak_mb < PEAK_MB
    assert traced_mb < TRACED_PEAK_MB
