# Generated from tests/_async/conftest.py by tools/generate_sync.py: do not edit.
"""The store fixture for the repository tests, async source of tests/_sync/conftest.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from vaultstore._sync.connect import connect
from vaultstore._sync.contracts import Store


@pytest.fixture
def store(clean_db: str) -> Iterator[Store]:
    """An open store on an empty, migrated database."""
    with connect(clean_db, pool_size=4) as opened:
        yield opened
