# Generated from tests/_async/conftest.py by tools/generate_sync.py: do not edit.
"""The store fixture for the repository tests, async source of tests/_sync/conftest.py:
every test using it runs once on PostgreSQL and once on MongoDB (on PostgreSQL
through PgBouncer with ``pytest --pgbouncer``, see tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from vaultstore._sync.connect import connect
from vaultstore._sync.contracts import Store
from vaultstore.admin.catalog import declared_uses

DECLARED = frozenset(use.query for use in declared_uses())


@pytest.fixture(params=["postgresql", "mongodb"])
def store(request: pytest.FixtureRequest) -> Iterator[Store]:
    """An open store on an empty, migrated database of each backend. Afterwards,
    every operation the test ran must be one a repository method declares with
    ``@runs`` (what ``vaultstore queries`` and ``vaultstore check`` read)."""
    url = request.getfixturevalue("store_db" if request.param == "postgresql" else "clean_mongo")
    with connect(url, pool_size=4) as opened:
        yield opened
        undeclared = set(opened.statement_stats()) - DECLARED
        assert not undeclared, f"run but declared by no @runs: {sorted(undeclared)}"
