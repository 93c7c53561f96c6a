# Generated from vaultstore/_async/adapter.py by tools/generate_sync.py: do not edit.
"""vaultstore's aiosql driver adapter for psycopg (async source of the sync twin).

aiosql's own psycopg adapters open a new cursor for every call and leave rows as
tuples or dicts. This one is handed the connection's long-lived cursor, already
set with the row factory of the repository's entity, and only executes and
fetches: one cursor per connection, rows built straight into entities.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from aiosql.adapters.pyformat import _replacer
from aiosql.types import SQLOperationType
from aiosql.utils import VAR_REF
from psycopg import Cursor


class QueryAdapter:
    """Runs aiosql's named statements on a psycopg cursor, binding on the server."""

    def process_sql(self, query_name: str, op_type: SQLOperationType, sql: str) -> str:
        """``:name`` to psycopg's ``%(name)s``."""
        return VAR_REF.sub(_replacer, sql)

    def select(
        self,
        conn: Cursor[Any],
        query_name: str,
        sql: str,
        parameters: Any,
        record_class: Any = None,
    ) -> Iterator[Any]:
        conn.execute(sql, parameters)
        for row in conn.fetchall():
            yield row

    def select_one(
        self,
        conn: Cursor[Any],
        query_name: str,
        sql: str,
        parameters: Any,
        record_class: Any = None,
    ) -> Any:
        conn.execute(sql, parameters)
        return conn.fetchone()

    def select_value(
        self, conn: Cursor[Any], query_name: str, sql: str, parameters: Any
    ) -> Any:
        conn.execute(sql, parameters)
        row = conn.fetchone()
        return None if row is None else row[0]

    @contextmanager
    def select_cursor(
        self, conn: Cursor[Any], query_name: str, sql: str, parameters: Any
    ) -> Iterator[Cursor[Any]]:
        conn.execute(sql, parameters)
        yield conn

    def insert_returning(
        self, conn: Cursor[Any], query_name: str, sql: str, parameters: Any
    ) -> Any:
        conn.execute(sql, parameters)
        return conn.fetchone()

    def insert_update_delete(
        self, conn: Cursor[Any], query_name: str, sql: str, parameters: Any
    ) -> int:
        conn.execute(sql, parameters)
        return conn.rowcount

    def insert_update_delete_many(
        self, conn: Cursor[Any], query_name: str, sql: str, parameters: Any
    ) -> int:
        conn.executemany(sql, parameters)
        return conn.rowcount

    def execute_script(self, conn: Cursor[Any], sql: str) -> str:
        conn.execute(sql)
        return conn.statusmessage or ""

    # aiosql makes awaitable query functions for an async adapter; the generated
    # sync twin has plain methods, so this is False there.
    is_aio_driver = inspect.iscoroutinefunction(select_one)
