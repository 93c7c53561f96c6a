"""A database whose schema is behind the statements says so: the error names
``vaultstore migrate`` and the pending migrations, and ``store.pending_migrations()``
lists them, on both backends."""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit

import pytest

import vaultstore
from vaultstore.errors import DatabaseError

from .test_cli import MIGRATION_IDS


def test_an_unmigrated_database_says_to_migrate(empty_url: str) -> None:
    with vaultstore.connect(empty_url) as store:
        assert store.pending_migrations() == MIGRATION_IDS
        with pytest.raises(DatabaseError) as info:
            store.agents.create(name="too_early", credibility_score=1)
    message = str(info.value)
    assert "run `vaultstore migrate`" in message
    assert f"pending: {', '.join(MIGRATION_IDS)}" in message
    assert info.value.code == "42P01"  # undefined table


def test_a_partly_migrated_database_names_what_is_pending(empty_url: str) -> None:
    vaultstore.apply_migrations(empty_url)
    with vaultstore.connect(empty_url) as store:
        store.agents.create(name="stored_before", credibility_score=1)
    vaultstore.rollback_migrations(empty_url, count=8)  # 0017 ... 0011, then 0010.versions
    with vaultstore.connect(empty_url) as store:
        assert store.pending_migrations() == [
            "0010.versions",
            "0011.documents-follow-owners",
            "0012.market-data-partitions",
            "0013.distribution-keys",
            "0014.owners-delete-their-documents",
            "0015.tenants",
            "0016.audit-log",
            "0017.change-feed",
        ]
        with pytest.raises(DatabaseError) as reading:
            store.agents.list()  # the rows lack the version column
        with pytest.raises(DatabaseError) as writing, store.transaction() as tx:
            tx.agents.create(name="too_early", credibility_score=1)
    for error in (reading.value, writing.value):
        assert "run `vaultstore migrate`; pending: 0010.versions, 0011" in str(error)


def test_a_migrated_database_has_nothing_pending(clean_db: str, clean_mongo: str) -> None:
    for url in (clean_db, clean_mongo):
        with vaultstore.connect(url) as store:
            assert store.pending_migrations() == []


def test_an_unmigrated_mongodb_database_lists_its_pending_steps(mongo_uri: str) -> None:
    uri = urlsplit(mongo_uri)._replace(path=f"/unmigrated_{uuid.uuid4().hex[:8]}").geturl()
    with vaultstore.connect(uri) as store:
        assert store.pending_migrations() == [
            "0001.collections",
            "0002.documents",
            "0003.shard-key-unique-indexes",
            "0004.tenants",
            "0005.audit-log",
            "0006.change-feed",
        ]
