"""Throwaway databases on the test server, for tests that need a database of their
own: one with no schema at all, where the migrations are what is tested."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any
from urllib.parse import urlsplit

import psycopg
from psycopg import sql

from vaultstore.admin.partitions import create_partitions, months_between

TEST_MONTHS = (date(2025, 1, 1), date(2026, 12, 1))
"""The months of the fixed dates the tests store prices at (T0 ...)."""


def database_url(server_url: str, name: str) -> str:
    """``server_url`` naming the database ``name`` instead (TCP or socket URLs alike)."""
    return urlsplit(server_url)._replace(path="/" + name).geturl()


def yoyo_url(url: str) -> str:
    """``url`` as yoyo's command line wants it: ``postgresql://`` means psycopg2 to yoyo."""
    return urlsplit(url)._replace(scheme="postgresql+psycopg").geturl()


@contextmanager
def fresh_database(server_url: str) -> Iterator[str]:
    """Create an empty database with a unique name on ``server_url``'s server, yield
    its URL, and drop it afterwards (closing what is still connected to it)."""
    name = f"vaultstore_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield database_url(server_url, name)
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


def triggers_off(conn: psycopg.Connection[Any]) -> bool:
    """Make ``conn``'s session write rows as ``pg_restore --disable-triggers`` does:
    no trigger fires, so a backfill of millions of rows, or the emptying of the
    tables between tests, writes no audit row and no change-feed row per row (it
    is no change to follow) and checks no foreign key. Only a superuser may: for
    another role nothing changes, and False says so."""
    try:
        conn.execute("SET session_replication_role = replica")
    except psycopg.errors.InsufficientPrivilege:
        return False
    return True


def empty_public_schema(url: str) -> str:
    """Drop everything in the public schema of ``url`` (vaultstore's tables and yoyo's
    history alike), so that the database is as new; return ``url``."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")
    return url


def with_test_partitions(url: str) -> str:
    """``url``, its market_data partitioned for :data:`TEST_MONTHS` too, beside the
    months from this one on that migration 0012 made."""
    create_partitions(url, months_between(*TEST_MONTHS))
    return url
