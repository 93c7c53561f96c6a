"""The query files, loaded: every ``queries/<entity>.sql`` by aiosql, with a
comment naming file, line and statement put at the start of each statement, and
every ``queries/<entity>.mongodb.json``, its MongoDB twin.

Parsed once per folder: the result holds no state, and parsing is most of the
time :func:`vaultstore.connect` takes.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path, PurePosixPath
from types import SimpleNamespace

import aiosql
from aiosql.query_loader import QueryLoader
from aiosql.types import QueryDatum

from ._mongo_operations import MongoOperation, parse_operations
from ._resources import queries_dir

MONGODB_SUFFIX = ".mongodb.json"

# A string, a quoted identifier, a line comment, or a block comment (not an
# optimizer hint, which aiosql keeps): strings and line comments are matched only
# so that a "/*" inside them is not taken for a comment.
_BLOCK_COMMENT = re.compile(
    r"'(?:''|[^'])*'"
    r'|"(?:""|[^"])+"'
    r"|--[^\n]*"
    r"|(?P<block>/\*(?!\+).*?\*/)",
    re.DOTALL,
)
# What a statement comment may contain: nothing that could end the comment, or
# that psycopg or aiosql would read as a placeholder.
_UNSAFE = re.compile(r"[^\w./:-]")


def _blank_block_comments(text: str) -> str:
    """``text`` with each ``/* ... */`` comment replaced by the line breaks it held.
    aiosql drops these comments before it counts lines, so a comment spanning lines
    would shift the line of every later statement."""

    def blank(match: re.Match[str]) -> str:
        return "\n" * match.group().count("\n") if match.group("block") else match.group()

    return _BLOCK_COMMENT.sub(blank, text)


def file_label(path: Path | str) -> str:
    """``/anywhere/queries/vaults.sql`` -> ``queries/vaults.sql``: the same from a
    checkout and from an installed wheel."""
    pure = PurePosixPath(Path(path).as_posix())
    return f"{pure.parent.name}/{pure.name}" if pure.parent.name else pure.name


def trace_comment(path: Path | str, line: int, name: str) -> str:
    """The comment that starts a statement: ``/* vaultstore queries/vaults.sql:28
    vaults.find_by_id */``, so that pg_stat_activity, the server log and
    pg_stat_statements name the file to open."""
    where = _UNSAFE.sub("_", f"{file_label(path)}:{line}")
    what = _UNSAFE.sub("_", f"{PurePosixPath(Path(path).as_posix()).stem}.{name}")
    return f"/* vaultstore {where} {what} */"


class StatementLoader(QueryLoader):
    """aiosql's loader, with each statement's line number pointing at its
    ``-- name:`` header even below a multi-line ``/* */`` comment."""

    def load_query_data_from_sql(
        self, sql: str, ns_parts: list[str], fname: Path | str = "<unknown>"
    ) -> list[QueryDatum]:
        return super().load_query_data_from_sql(_blank_block_comments(sql), ns_parts, fname)


class TracingLoader(StatementLoader):
    """The loader vaultstore gives aiosql: every statement starts with the comment of
    :func:`trace_comment`, added after the adapter has rewritten the placeholders, so
    prepared statements and ``.sql`` carry it too."""

    def load_query_data_from_sql(
        self, sql: str, ns_parts: list[str], fname: Path | str = "<unknown>"
    ) -> list[QueryDatum]:
        return [
            datum._replace(
                sql=f"{trace_comment(fname, datum.floc[1], datum.query_name)}\n{datum.sql}"
            )
            for datum in super().load_query_data_from_sql(sql, ns_parts, fname)
        ]


def load_queries(adapter: type, folder: Path | None = None) -> SimpleNamespace:
    """Every query file loaded by aiosql, one namespace per file: the statements of
    ``queries/vaults.sql`` are ``.vaults.find_by_id`` and so on. (aiosql itself
    would merge the files of a folder into one namespace, where names collide.)
    Each statement starts with a comment naming its file, line and name,
    ``/* vaultstore queries/vaults.sql:28 vaults.find_by_id */``, for the DBAs."""
    return _load_queries(adapter, (folder or queries_dir()).resolve())


@functools.cache
def _load_queries(adapter: type, folder: Path) -> SimpleNamespace:
    return SimpleNamespace(
        **{
            path.stem: aiosql.from_path(path, adapter, loader_cls=TracingLoader)
            for path in sorted(folder.glob("*.sql"))
        }
    )


def mongodb_file(name: str, folder: Path | None = None) -> Path:
    """``queries/<name>.mongodb.json``."""
    return (folder or queries_dir()) / f"{name}{MONGODB_SUFFIX}"


def load_mongodb_operations(folder: Path | None = None) -> dict[str, dict[str, MongoOperation]]:
    """Every ``queries/<entity>.mongodb.json``, by entity name then operation name."""
    return _load_mongodb_operations((folder or queries_dir()).resolve())


@functools.cache
def _load_mongodb_operations(folder: Path) -> dict[str, dict[str, MongoOperation]]:
    return {
        path.name.removesuffix(MONGODB_SUFFIX): parse_operations(
            json.loads(path.read_text()), file_label(path)
        )
        for path in sorted(folder.glob(f"*{MONGODB_SUFFIX}"))
    }


_SQL_HEADER = re.compile(r"^--\s*name\s*:\s*(\w+)", re.MULTILINE)
_JSON_OPERATION = re.compile(r'^  "(\w+)"\s*:\s*\{', re.MULTILINE)


def statement_location(folder: Path | None, backend: str, key: str) -> str:
    """Where operation ``key`` (``vaults.find_by_id``) is declared for ``backend``:
    ``queries/vaults.sql:28`` (the line of its ``-- name:`` header) or
    ``queries/vaults.mongodb.json:12``; the file alone when the line is not found."""
    entity, _, name = key.partition(".")
    suffix = ".sql" if backend == "postgresql" else MONGODB_SUFFIX
    path = (folder or queries_dir()).resolve() / f"{entity}{suffix}"
    if not path.exists():  # MongoDB's documents: GridFS, no declared operations
        return "vaultstore (no query file)"
    line = _declared_lines(path).get(name)
    return f"{file_label(path)}:{line}" if line else file_label(path)


@functools.cache
def _declared_lines(path: Path) -> dict[str, int]:
    try:
        text = path.read_text()
    except OSError:
        return {}
    pattern = _SQL_HEADER if path.suffix == ".sql" else _JSON_OPERATION
    return {m.group(1): text.count("\n", 0, m.start()) + 1 for m in pattern.finditer(text)}
