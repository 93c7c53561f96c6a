"""vaultstore's tooling, apart from the runtime: migrations, the query catalogue,
``vaultstore check``, drift, the schema dump, sample data and the command line.

It imports the runtime; the runtime never imports it (tests/test_layers.py checks
the import graph), so an application that only reads and writes loads none of it.
"""

from __future__ import annotations

from .migrate import (
    applied_migrations,
    apply_migrations,
    pending_migrations,
    rollback_migrations,
)

__all__ = [
    "applied_migrations",
    "apply_migrations",
    "pending_migrations",
    "rollback_migrations",
]
