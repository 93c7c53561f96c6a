"""Write the sync twins of the async sources, as pymongo and psycopg do: the
library (vaultstore/_async -> vaultstore/_sync) and its tests (tests/_async ->
tests/_sync), so neither the API nor its tests can drift apart.

    python tools/generate_sync.py          # regenerate
    python tools/generate_sync.py --check  # exit 1 if a generated file is stale

unasync drops ``async``/``await`` and renames tokens; on top of its table, every
name starting with ``Async`` loses the prefix (AsyncConnectionPool becomes
ConnectionPool, AsyncVaultRepository becomes VaultRepository).
"""

from __future__ import annotations

import argparse
import difflib
import sys
import tempfile
from pathlib import Path

import unasync

ROOT = Path(__file__).resolve().parent.parent
PAIRS = [
    (ROOT / "vaultstore" / "_async", ROOT / "vaultstore" / "_sync"),
    (ROOT / "tests" / "_async", ROOT / "tests" / "_sync"),
]
REPLACEMENTS = {
    "aiter": "iter",
    "anext": "next",
    "aclose": "close",
    "AbstractAsyncContextManager": "AbstractContextManager",
    "__aenter__": "__enter__",
    "__aexit__": "__exit__",
    "_async": "_sync",
    "asynchronous": "synchronous",  # pymongo.asynchronous.* -> pymongo.synchronous.*
    "asleep": "sleep",  # vaultstore._retry: await asleep(s) -> sleep(s)
    "awithin": "within",  # vaultstore._retry: a task -> a thread
    "aretry": "retry",  # vaultstore._retry: await aretry(work, ...) -> retry(work, ...)
    "aredis_client": "redis_client",  # vaultstore._cache: redis.asyncio -> redis
}
HEADER = "# Generated from {source} by tools/generate_sync.py: do not edit.\n"


class _Rule(unasync.Rule):  # type: ignore[misc]
    def _unasync_name(self, name: str) -> str:
        if name in self.token_replacements:
            return str(self.token_replacements[name])
        if len(name) > 5 and name.startswith("Async") and name[5].isupper():
            return name[5:]
        return name


def generate(source: Path, target: Path) -> list[Path]:
    """Write the sync twin of every module in ``source`` into ``target``."""
    rule = _Rule(str(source), str(target), additional_replacements=REPLACEMENTS)
    written = []
    for path in sorted(source.glob("*.py")):
        rule._unasync_file(str(path))
        out = target / path.name
        header = HEADER.format(source=path.relative_to(ROOT).as_posix())
        out.write_text(header + out.read_text())
        written.append(out)
    return written


def stale_files() -> list[str]:
    """Differences between the generated folders and what generate() writes now."""
    problems = []
    with tempfile.TemporaryDirectory() as tmp:
        for source, target in PAIRS:
            fresh = Path(tmp) / source.parent.name / "_sync"
            fresh.mkdir(parents=True)
            generate(source, fresh)
            shown = target.relative_to(ROOT).as_posix()
            expected = {p.name for p in fresh.glob("*.py")}
            actual = {p.name for p in target.glob("*.py")}
            for name in sorted(actual - expected):
                problems.append(f"{shown}/{name} has no async source")
            for name in sorted(expected):
                new = (fresh / name).read_text()
                old = (target / name).read_text() if (target / name).exists() else ""
                if new != old:
                    diff = difflib.unified_diff(
                        old.splitlines(True),
                        new.splitlines(True),
                        f"{shown}/{name}",
                        f"generated {shown}/{name}",
                    )
                    problems.append("".join(diff))
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if a generated file is stale")
    args = parser.parse_args()
    if args.check:
        problems = stale_files()
        for problem in problems:
            print(problem)
        if problems:
            print("generated code is stale: run python tools/generate_sync.py", file=sys.stderr)
        return 1 if problems else 0
    for source, target in PAIRS:
        target.mkdir(exist_ok=True)
        for path in generate(source, target):
            print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
