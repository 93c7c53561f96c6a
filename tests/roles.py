"""The application and migrator roles of ``vaultstore roles``, made for a test run
and dropped after it (roles are cluster-wide: each run names its own)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import psycopg
from psycopg import sql

from vaultstore.admin.roles import RoleNames, setup_roles


def as_user(url: str, user: str) -> str:
    """``url`` logging in as ``user`` instead (no password: the test servers trust
    local connections)."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return parts._replace(netloc=f"{user}@{host}").geturl()


def unique_names() -> RoleNames:
    tag = uuid.uuid4().hex[:10]
    return RoleNames(f"vaultstore_test_app_{tag}", f"vaultstore_test_migrator_{tag}")


def drop_roles(server_url: str, names: RoleNames, databases: list[str]) -> None:
    """Give back to the connecting superuser what the roles own in each of
    ``databases`` (URLs) and forget their privileges there, then drop them."""
    roles = [sql.Identifier(names.app), sql.Identifier(names.migrator)]
    for url in databases:
        with psycopg.connect(url, autocommit=True) as conn:
            exists = conn.execute(
                "SELECT count(*) FROM pg_roles WHERE rolname = any(%s)",
                [[names.app, names.migrator]],
            ).fetchone()
            if not exists or not exists[0]:
                return
            conn.execute(
                sql.SQL("REASSIGN OWNED BY {} TO CURRENT_USER").format(sql.SQL(", ").join(roles))
            )
            conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.SQL(", ").join(roles)))
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.SQL(", ").join(roles)))


@contextmanager
def app_roles(url: str) -> Iterator[RoleNames]:
    """Both roles, able to log in, set up on the database of ``url`` by
    ``vaultstore roles``; dropped afterwards, also when the block fails."""
    names = unique_names()
    try:
        setup_roles(
            url,
            names.app,
            names.migrator,
            login=True,
            passwords={"app": uuid.uuid4().hex, "migrator": uuid.uuid4().hex},
        )
        yield names
    finally:
        drop_roles(url, names, [url])
