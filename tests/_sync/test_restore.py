# Generated from tests/_async/test_restore.py by tools/generate_sync.py: do not edit.
"""Whole entities stored as they are, what ``vaultstore copy`` writes with:
``restore``, ``count`` and ``find_last`` on every repository, ``documents.restore``
and the listing of every document, on both backends (async source of
tests/_sync/test_restore.py)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import attrs
import pytest

from vaultstore import (
    Agent,
    ConflictError,
    CreditVault,
    DatabaseError,
    LiquidationProtection,
    NotFoundError,
    StoredDocument,
    TokenAmount,
    ValidationError,
)
from vaultstore._sync.contracts import Store

T0 = datetime(2025, 3, 4, 5, 6, 7, 890000, tzinfo=UTC)


def agent(n: int, **changes: object) -> Agent:
    fields: dict[str, object] = {
        "id": f"agt_{n:06d}",
        "name": f"restored-{n}",
        "credibility_score": 100 + n,
        "created_at": T0 + timedelta(seconds=n),
        "updated_at": T0 + timedelta(days=1, seconds=n),
        "version": 1 + n % 7,
    }
    fields.update(changes)
    return Agent(**fields)  # type: ignore[arg-type]


def vault(n: int, agent_id: str) -> CreditVault:
    return CreditVault(
        id=f"vlt_{n:06d}",
        agent_id=agent_id,
        chain_id=1,
        collateral=TokenAmount(
            token="ETH", amount=Decimal("12.345678901234567890"), value_usd=Decimal("24691.50")
        ),
        debt=TokenAmount(token="USDC", amount=Decimal("10000.000000"), value_usd=Decimal("10000")),
        ltv=Decimal("40.50"),
        health_factor=Decimal("2.1000"),
        max_ltv=Decimal("75"),
        liquidation_protection=LiquidationProtection(
            enabled=True, threshold=Decimal("70.0"), cooldown=60
        ),
        created_at=T0,
        updated_at=T0 + timedelta(hours=n),
        version=3,
    )


def test_restore_keeps_ids_versions_timestamps_and_every_digit(store: Store) -> None:
    agents = [agent(n) for n in range(5)]
    assert store.agents.restore(iter(agents), batch_size=2) == 5
    vaults = [vault(0, agents[0].id)]
    assert store.vaults.restore(vaults) == 1
    for expected in agents:
        assert store.agents.find_by_id(expected.id) == expected
    found = store.vaults.find_by_id("vlt_000000")
    assert found == vaults[0]
    assert found is not None
    assert str(found.collateral.amount) == "12.345678901234567890"
    assert str(found.health_factor) == "2.1000"
    assert found.version == 3
    assert found.updated_at == T0 + timedelta(hours=0)
    assert store.agents.count() == 5
    assert store.vaults.count() == 1
    last = store.agents.find_last()
    assert last is not None
    assert last.id == "agt_000004"


def test_count_and_find_last_of_nothing(store: Store) -> None:
    assert store.market_data.count() == 0
    assert store.market_data.find_last() is None
    assert store.documents.count() == 0


def test_an_id_stored_already_stores_nothing_of_the_call(store: Store) -> None:
    store.agents.restore([agent(1)])
    batch = [agent(2), agent(3), agent(1, name="another name")]
    with pytest.raises(ConflictError):
        store.agents.restore(batch, batch_size=2)  # the second batch fails
    assert store.agents.count() == 1


def test_batch_by_batch_says_how_many_were_stored(store: Store) -> None:
    store.agents.restore([agent(1)])
    batch = [agent(2), agent(3), agent(1, name="another name")]
    with pytest.raises(ConflictError) as info:
        store.agents.restore(batch, batch_size=2, atomic=False)
    assert info.value.stored == 2
    assert store.agents.count() == 3


def test_what_is_not_an_entity_of_the_repository_is_refused_before_any_io(
    store: Store,
) -> None:
    with pytest.raises(ValidationError) as info:
        store.agents.restore([agent(1), vault(1, "agt_000001")])  # type: ignore[list-item]
    assert info.value.field == "entities[1]"
    with pytest.raises(ValidationError) as info:
        store.agents.restore([attrs.asdict(agent(1))])  # type: ignore[list-item]
    assert info.value.field == "entities[0]"
    with pytest.raises(ValidationError) as info:
        store.agents.restore(agent(1))  # type: ignore[arg-type]
    assert info.value.field == "entities"
    with pytest.raises(ValidationError) as info:
        store.agents.restore([agent(1)], batch_size=0)
    assert info.value.field == "batch_size"
    assert store.agents.count() == 0


def test_a_vault_of_an_agent_that_is_not_there_is_refused(store: Store) -> None:
    with pytest.raises(NotFoundError):
        store.vaults.restore([vault(1, "agt_missing")])
    assert store.vaults.count() == 0


# -- documents ---------------------------------------------------------------------------


def described(owner_id: str, content: bytes, n: int = 0) -> StoredDocument:
    return StoredDocument(
        id=f"doc_{n:06d}",
        owner_type="agent",
        owner_id=owner_id,
        name=f"report-{n}.pdf",
        content_type="application/pdf",
        length=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        metadata={"quarter": "2025Q1", "pages": n},
        created_at=T0 + timedelta(minutes=n),
    )


def read(store: Store, id: str) -> bytes:
    return b"".join([chunk for chunk in store.documents.chunks(id)])


def test_documents_restore_keeps_their_description(store: Store) -> None:
    owner = agent(1)
    store.agents.restore([owner])
    content = bytes(range(256)) * 2_000  # two chunks
    document = described(owner.id, content)
    assert store.documents.restore(document, [content[:1000], content[1000:]]) == document
    assert store.documents.find_by_id(document.id) == document
    assert read(store, document.id) == content
    with pytest.raises(ConflictError):
        store.documents.restore(document, content)
    assert store.documents.count() == 1


def test_content_that_does_not_match_its_description_is_not_stored(
    store: Store,
) -> None:
    owner = agent(1)
    store.agents.restore([owner])
    content = b"x" * 300_000
    with pytest.raises(DatabaseError, match="does not match"):
        store.documents.restore(described(owner.id, content), content[:-1] + b"y")
    assert store.documents.count() == 0
    assert store.documents.find_by_id("doc_000000") is None
    # Nothing was left behind under its id either: the right content restores.
    store.documents.restore(described(owner.id, content), content)
    assert read(store, "doc_000000") == content


def test_every_document_is_listed_without_an_owner(store: Store) -> None:
    owners = [agent(1), agent(2)]
    store.agents.restore(owners)
    for n in range(5):
        content = b"%d" % n
        store.documents.restore(described(owners[n % 2].id, content, n), content)
    first = store.documents.list(limit=3)
    assert [d.id for d in first] == ["doc_000000", "doc_000001", "doc_000002"]
    rest = store.documents.list(limit=3, after=first.next_cursor)
    assert [d.id for d in rest] == ["doc_000003", "doc_000004"]
    assert rest.next_cursor is None
    mine = store.documents.list("agent", owners[1].id)
    assert [d.id for d in mine] == ["doc_000001", "doc_000003"]
    with pytest.raises(ValidationError) as info:
        store.documents.list("agent")
    assert info.value.field == "owner_id"
    with pytest.raises(ValidationError):
        store.documents.restore(attrs.asdict(described(owners[0].id, b"")), b"")  # type: ignore[arg-type]
