"""The tenants a database holds rows of, as the connection sees them: what
``vaultstore copy`` checks before copying, since entities do not carry their
tenant and the target's rows take the copy's."""

from __future__ import annotations

import psycopg

from .._settings import Settings
from .mongo_migrate import _database as mongo_database
from .schema import admin_connection, catalog_queries

OWNED_ROOTS = ("agents", "documents.files")
"""MongoDB: the collections whose documents name every tenant that has any (a
vault and what hangs from it belong to its agent's tenant)."""


def stored_tenants(settings: Settings) -> list[str]:
    """The tenants whose rows (documents) the database at ``settings`` holds, as
    its connection sees them, sorted."""
    if settings.backend == "mongodb":
        with mongo_database(settings) as db:
            found = {t for name in OWNED_ROOTS for t in db[name].distinct("tenant_id")}
        return sorted(str(t) for t in found)
    with admin_connection(settings) as conn:
        try:
            rows = catalog_queries("tenants").stored_tenants(conn)
        except (psycopg.errors.UndefinedColumn, psycopg.errors.UndefinedTable):
            return []  # not migrated to tenants (yet): no tenant's rows there
        return [row["tenant_id"] for row in rows]
