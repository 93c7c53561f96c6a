"""The store fixture for the repository tests, async source of tests/_sync/conftest.py."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from vaultstore._async.connect import connect
from vaultstore._async.contracts import AsyncStore


@pytest.fixture
async def store(clean_db: str) -> AsyncIterator[AsyncStore]:
    """An open store on an empty, migrated database."""
    async with await connect(clean_db, pool_size=4) as opened:
        yield opened
