"""vaultstore's aiosql driver adapter for psycopg (async source of the sync twin).

aiosql's own psycopg adapters open a new cursor for every call and leave rows as
tuples or dicts. This one is handed the connection's long-lived cursor, already
set with the row factory of the repository's entity, and only executes and
fetches: one cursor per connection, rows built straight into entities.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiosql.adapters.pyformat import _replacer
from aiosql.types import SQLOperationType
from aiosql.utils import VAR_REF
from psycopg import AsyncCursor


class AsyncQueryAdapter:
    """Runs aiosql's named statements on a psycopg cursor, binding on the server."""

    def process_sql(self, query_name: str, op_type: SQLOperationType, sql: str) -> str:
        """``:name`` to psycopg's ``%(name)s``."""
        return VAR_REF.sub(_replacer, sql)

    async def select(
        self,
        conn: AsyncCursor[Any],
        query_name: str,
        sql: str,
        parameters: Any,
        record_class: Any = None,
    ) -> AsyncIterator[Any]:
        await conn.execute(sql, parameters)
        for row in await conn.fetchall():
            yield row

    async def select_one(
        self,
        conn: AsyncCursor[Any],
        query_name: str,
        sql: str,
        parameters: Any,
        record_class: Any = None,
    ) -> Any:
        await conn.execute(sql, parameters)
        return await conn.fetchone()

    async def select_value(
        self, conn: AsyncCursor[Any], query_name: str, sql: str, parameters: Any
    ) -> Any:
        await conn.execute(sql, parameters)
        row = await conn.fetchone()
        return None if row is None else row[0]

    @asynccontextmanager
    async def select_cursor(
        self, conn: AsyncCursor[Any], query_name: str, sql: str, parameters: Any
    ) -> AsyncIterator[AsyncCursor[Any]]:
        await conn.execute(sql, parameters)
        yield conn

    async def insert_returning(
        self, conn: AsyncCursor[Any], query_name: str, sql: str, parameters: Any
    ) -> Any:
        await conn.execute(sql, parameters)
        return await conn.fetchone()

    async def insert_update_delete(
        self, conn: AsyncCursor[Any], query_name: str, sql: str, parameters: Any
    ) -> int:
        await conn.execute(sql, parameters)
        return conn.rowcount

    async def insert_update_delete_many(
        self, conn: AsyncCursor[Any], query_name: str, sql: str, parameters: Any
    ) -> int:
        await conn.executemany(sql, parameters)
        return conn.rowcount

    async def execute_script(self, conn: AsyncCursor[Any], sql: str) -> str:
        await conn.execute(sql)
        return conn.statusmessage or ""

    # aiosql makes awaitable query functions for an async adapter; the generated
    # sync twin has plain methods, so this is False there.
    is_aio_driver = inspect.iscoroutinefunction(select_one)
