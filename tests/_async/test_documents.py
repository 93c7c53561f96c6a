"""The large-document store, on PostgreSQL (through the store) and on MongoDB (the
repository on a database of its own), against real servers (async source of
tests/_sync/test_documents.py)."""

from __future__ import annotations

import hashlib
import io
import random
import tracemalloc
from collections.abc import AsyncIterator, Generator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosql
import psycopg
import pytest
from gridfs import AsyncGridFSBucket
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from vaultstore import (
    DEFAULT_TENANT,
    ChainId,
    DatabaseError,
    DocumentOwner,
    LiquidationProtection,
    NotFoundError,
    StoredDocument,
    TokenAmount,
    ValidationError,
    new_id,
)
from vaultstore._async.connect import connect
from vaultstore._async.contracts import AsyncDocumentRepository, AsyncStore
from vaultstore._async.documents import AsyncDocuments
from vaultstore._async.mongo_documents import AsyncMongoDocuments
from vaultstore._documents import CHUNK_SIZE
from vaultstore._monitoring import Monitor

from ..mongo_server import DATABASE, mongo_daemon_uri  # noqa: F401 - a fixture

SQL = aiosql.from_path(Path(__file__).parent.parent / "sql" / "documents.sql", "psycopg")
BIG = 20 * 1024 * 1024 + 12_345  # over 20 MB, and not a whole number of chunks
MEMORY_BOUND = 5 * 1024 * 1024  # a quarter of the file (measured: 1.3 to 3.2 MB)
UNKNOWN_ID = "01UNKNOWNOWNER000000000000"


def mongo_documents(database: Any, session: Any = None) -> AsyncDocuments:
    """store.documents on a bare database (owners inserted raw, no validators)."""
    return AsyncDocuments(AsyncMongoDocuments(database, session), Monitor())


class Boom(Exception):
    pass


class Backend:
    """A document repository, and what a test needs behind it: owners to attach
    documents to, and a look at what is stored."""

    name: str
    documents: AsyncDocumentRepository

    async def owner(self, kind: DocumentOwner) -> str:
        raise NotImplementedError

    async def document_count(self) -> int:
        raise NotImplementedError

    async def chunk_count(self, document_id: str | None = None) -> int:
        raise NotImplementedError

    async def delete_chunk(self, document_id: str, n: int) -> None:
        raise NotImplementedError

    def transaction(self) -> Any:
        """``async with backend.transaction() as documents``: rolled back if it raises."""
        raise NotImplementedError


class PostgresBackend(Backend):
    name = "postgresql"

    def __init__(self, store: AsyncStore, url: str) -> None:
        self.store = store
        self.documents = store.documents
        self._url = url

    async def owner(self, kind: DocumentOwner) -> str:
        agent = await self.store.agents.create(name=f"agent-{new_id()}", credibility_score=500)
        if kind is DocumentOwner.AGENT:
            return agent.id
        vault = await self.store.vaults.create(
            agent_id=agent.id,
            chain_id=ChainId.ETHEREUM,
            collateral=TokenAmount(token="ETH", amount=10, value_usd=20000),
            debt=TokenAmount(token="USDC", amount=10000, value_usd=10000),
            ltv=50,
            health_factor=2,
            max_ltv=70,
            liquidation_protection=LiquidationProtection(threshold=60),
        )
        return vault.id

    def _value(self, query: Any, **params: Any) -> int:
        with psycopg.connect(self._url) as conn:
            return int(query(conn, **params))

    async def document_count(self) -> int:
        return self._value(SQL.count_documents)

    async def chunk_count(self, document_id: str | None = None) -> int:
        if document_id is None:
            return self._value(SQL.count_chunks)
        return self._value(SQL.count_chunks_of, document_id=document_id)

    async def delete_chunk(self, document_id: str, n: int) -> None:
        with psycopg.connect(self._url) as conn:
            assert SQL.delete_chunk(conn, document_id=document_id, n=n) == 1

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncDocumentRepository]:
        async with self.store.transaction() as tx:
            yield tx.documents


class MongoBackend(Backend):
    name = "mongodb"

    def __init__(self, client: AsyncMongoClient[Any], database: AsyncDatabase[Any]) -> None:
        self.client = client
        self.database = database
        self.documents = mongo_documents(database)

    async def owner(self, kind: DocumentOwner) -> str:
        id = new_id()
        collection = "credit_vaults" if kind is DocumentOwner.VAULT else "agents"
        # The tenant the repository acts for: it finds owners of its tenant only.
        await self.database[collection].insert_one({"_id": id, "tenant_id": DEFAULT_TENANT})
        return id

    async def document_count(self) -> int:
        return await self.database["documents.files"].count_documents({})

    async def chunk_count(self, document_id: str | None = None) -> int:
        query = {} if document_id is None else {"files_id": document_id}
        return await self.database["documents.chunks"].count_documents(query)

    async def delete_chunk(self, document_id: str, n: int) -> None:
        result = await self.database["documents.chunks"].delete_one(
            {"files_id": document_id, "n": n}
        )
        assert result.deleted_count == 1

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncDocumentRepository]:
        async with self.client.start_session() as session, await session.start_transaction():
            yield mongo_documents(self.database, session)


@asynccontextmanager
async def empty_mongo_database(uri: str) -> AsyncIterator[AsyncDatabase[Any]]:
    """The MongoDB test database, with no documents and no owners."""
    client: AsyncMongoClient[Any] = AsyncMongoClient(uri)
    try:
        database = client[DATABASE]
        for name in ("documents.files", "documents.chunks", "agents", "credit_vaults"):
            await database[name].delete_many({})
        yield database
    finally:
        await client.close()


@pytest.fixture
async def mongo_database(mongo_daemon_uri: str) -> AsyncIterator[AsyncDatabase[Any]]:  # noqa: F811
    async with empty_mongo_database(mongo_daemon_uri) as database:
        yield database


@pytest.fixture(params=["postgresql", "mongodb"])
async def backend(request: pytest.FixtureRequest) -> AsyncIterator[Backend]:
    if request.param == "postgresql":
        url = request.getfixturevalue("clean_db")  # the tests' own checks: directly
        async with await connect(request.getfixturevalue("store_db"), pool_size=4) as store:
            yield PostgresBackend(store, url)
    else:
        uri = request.getfixturevalue("mongo_daemon_uri")
        async with empty_mongo_database(uri) as database:
            yield MongoBackend(database.client, database)


@pytest.fixture(scope="module")
def big_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A file of BIG random bytes (the same every run), and its SHA-256."""
    content = random.Random(20_261_125).randbytes(BIG)
    path = tmp_path_factory.mktemp("documents") / "risk-report.bin"
    path.write_bytes(content)
    return path, hashlib.sha256(content).hexdigest()


async def read_all(documents: AsyncDocumentRepository, id: str) -> bytes:
    return b"".join([chunk async for chunk in documents.chunks(id)])


# -- large files --------------------------------------------------------------------------


async def test_a_20_mb_file_streams_in_and_out_in_bounded_memory(
    backend: Backend, big_file: tuple[Path, str]
) -> None:
    path, sha256 = big_file
    vault_id = await backend.owner(DocumentOwner.VAULT)
    digest = hashlib.sha256()
    sizes = []
    tracemalloc.start()
    try:
        with path.open("rb") as source:
            stored = await backend.documents.put(
                DocumentOwner.VAULT, vault_id, "risk-report.bin", source
            )
        put_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        async for chunk in backend.documents.chunks(stored.id):
            digest.update(chunk)
            sizes.append(len(chunk))
        read_peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert stored.length == BIG
    assert stored.sha256 == sha256
    assert digest.hexdigest() == sha256
    assert sum(sizes) == BIG
    assert set(sizes[:-1]) == {CHUNK_SIZE}
    assert put_peak < MEMORY_BOUND, f"put peaked at {put_peak} bytes"
    assert read_peak < MEMORY_BOUND, f"chunks() peaked at {read_peak} bytes"
    assert await backend.chunk_count(stored.id) == len(sizes)


async def test_a_20_mb_file_downloads_to_a_file(
    backend: Backend, big_file: tuple[Path, str], tmp_path: Path
) -> None:
    path, sha256 = big_file
    agent_id = await backend.owner(DocumentOwner.AGENT)
    with path.open("rb") as source:
        stored = await backend.documents.put(
            DocumentOwner.AGENT, agent_id, "audit.bin", source, content_type="application/zip"
        )
    target = tmp_path / "downloaded.bin"
    with target.open("wb") as destination:
        downloaded = await backend.documents.download(stored.id, destination)
    assert downloaded == stored
    assert target.stat().st_size == BIG
    digest = hashlib.sha256()
    with target.open("rb") as copy:
        for block in iter(lambda: copy.read(1 << 20), b""):
            digest.update(block)
    assert digest.hexdigest() == sha256


# -- put and read back ----------------------------------------------------------------------


async def test_put_from_bytes_round_trips(backend: Backend) -> None:
    agent_id = await backend.owner(DocumentOwner.AGENT)
    data = b"LTV 82% on vault 7; health factor 1.05\n" * 1000
    stored = await backend.documents.put(
        "agent",
        agent_id,
        "snapshot.txt",
        data,
        content_type="text/plain",
        metadata={"period": "2026-11", "pages": 3},
    )
    assert stored.owner_type is DocumentOwner.AGENT
    assert stored.owner_id == agent_id
    assert stored.length == len(data)
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert stored.metadata == {"period": "2026-11", "pages": 3}
    assert stored.created_at.microsecond % 1000 == 0
    assert await backend.documents.find_by_id(stored.id) == stored
    assert await read_all(backend.documents, stored.id) == data


async def test_put_from_an_iterable_of_uneven_chunks_stores_fixed_size_chunks(
    backend: Backend,
) -> None:
    vault_id = await backend.owner(DocumentOwner.VAULT)
    sizes = [1, CHUNK_SIZE + 7, 3, 2 * CHUNK_SIZE, 0, 500]
    rng = random.Random(7)
    pieces = [rng.randbytes(size) for size in sizes]

    def generate() -> Generator[bytes]:
        yield from pieces

    stored = await backend.documents.put(DocumentOwner.VAULT, vault_id, "parts.bin", generate())
    content = b"".join(pieces)
    assert stored.length == len(content)
    assert stored.sha256 == hashlib.sha256(content).hexdigest()
    read = [chunk async for chunk in backend.documents.chunks(stored.id)]
    assert b"".join(read) == content
    assert [len(chunk) for chunk in read[:-1]] == [CHUNK_SIZE] * (len(read) - 1)
    assert await backend.chunk_count(stored.id) == len(read) == 4


async def test_an_empty_document_has_no_chunks(backend: Backend) -> None:
    vault_id = await backend.owner(DocumentOwner.VAULT)
    stored = await backend.documents.put(DocumentOwner.VAULT, vault_id, "empty", b"")
    assert stored.length == 0
    assert stored.sha256 == hashlib.sha256(b"").hexdigest()
    assert await read_all(backend.documents, stored.id) == b""
    assert await backend.chunk_count(stored.id) == 0


async def test_find_by_id_of_an_unknown_id_is_none(backend: Backend) -> None:
    assert await backend.documents.find_by_id(UNKNOWN_ID) is None


# -- refused puts ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(DocumentOwner))
async def test_put_for_an_unknown_owner_is_not_found_and_stores_nothing(
    backend: Backend, kind: DocumentOwner
) -> None:
    with pytest.raises(NotFoundError) as info:
        await backend.documents.put(kind, UNKNOWN_ID, "report.pdf", b"x" * (CHUNK_SIZE + 1))
    assert info.value.id == UNKNOWN_ID
    assert "owner_id" in str(info.value)
    assert await backend.document_count() == 0
    assert await backend.chunk_count() == 0


async def test_put_for_an_owner_of_the_other_kind_is_not_found(backend: Backend) -> None:
    vault_id = await backend.owner(DocumentOwner.VAULT)
    with pytest.raises(NotFoundError):
        await backend.documents.put(DocumentOwner.AGENT, vault_id, "report.pdf", b"x")
    assert await backend.document_count() == 0


class Fresh:
    """An argument made anew for each test (a file or an iterator is used up)."""

    def __init__(self, make: Any) -> None:
        self.make = make

    def __repr__(self) -> str:
        return "fresh"


@pytest.mark.parametrize(
    ("field", "arguments"),
    [
        ("owner_type", {"owner_type": "bank"}),
        ("owner_type", {"owner_type": None}),
        ("owner_id", {"owner_id": ""}),
        ("owner_id", {"owner_id": 42}),
        ("name", {"name": ""}),
        ("name", {"name": "x" * 256}),
        ("name", {"name": "nul\x00"}),
        ("content_type", {"content_type": ""}),
        ("metadata", {"metadata": ["not", "an", "object"]}),
        ("metadata", {"metadata": {"$where": "1"}}),
        ("metadata.when", {"metadata": {"when": float("nan")}}),
        ("data", {"data": "text, not bytes"}),
        ("data", {"data": 12}),
        ("data", {"data": {"a": b"x"}}),
        ("data", {"data": Fresh(lambda: io.StringIO("a file opened in text mode"))}),
        ("data[1]", {"data": [b"fine", "text"]}),
        ("data[0]", {"data": ("text",)}),
        ("data[0]", {"data": Fresh(lambda: iter([3]))}),
    ],
    ids=lambda v: v if isinstance(v, str) else "-".join(map(str, v)),
)
async def test_bad_input_is_refused_before_any_io(
    backend: Backend, field: str, arguments: dict[str, Any]
) -> None:
    # The owner does not exist: had the owner been looked up, this would be a
    # NotFoundError, so a ValidationError shows nothing was sent.
    call: dict[str, Any] = {
        "owner_type": DocumentOwner.VAULT,
        "owner_id": UNKNOWN_ID,
        "name": "report.pdf",
        "data": b"content",
        **{k: v.make() if isinstance(v, Fresh) else v for k, v in arguments.items()},
    }
    with pytest.raises(ValidationError) as info:
        await backend.documents.put(
            call.pop("owner_type"), call.pop("owner_id"), call.pop("name"), call.pop("data"), **call
        )
    assert info.value.field == field
    assert await backend.document_count() == 0


async def test_a_bad_chunk_part_way_fails_and_stores_nothing(backend: Backend) -> None:
    vault_id = await backend.owner(DocumentOwner.VAULT)

    def generate() -> Generator[Any]:
        yield b"a" * (3 * CHUNK_SIZE)  # three chunks written before the bad one
        yield "text"

    with pytest.raises(ValidationError) as info:
        await backend.documents.put(DocumentOwner.VAULT, vault_id, "bad.bin", generate())
    assert info.value.field == "data[1]"
    assert await backend.document_count() == 0
    assert await backend.chunk_count() == 0


async def test_a_failure_part_way_leaves_nothing_behind(backend: Backend) -> None:
    vault_id = await backend.owner(DocumentOwner.VAULT)
    sent = 0

    def generate() -> Generator[bytes]:
        nonlocal sent
        for _ in range(6):
            sent += 1
            yield b"b" * CHUNK_SIZE
        raise Boom

    with pytest.raises(Boom):
        await backend.documents.put(DocumentOwner.VAULT, vault_id, "broken.bin", generate())
    assert sent == 6
    assert await backend.document_count() == 0
    assert await backend.chunk_count() == 0
    assert list(await backend.documents.list(DocumentOwner.VAULT, vault_id)) == []


# -- transactions ---------------------------------------------------------------------------


async def test_a_put_in_a_transaction_is_committed_with_it(backend: Backend) -> None:
    vault_id = await backend.owner(DocumentOwner.VAULT)
    data = b"c" * (2 * CHUNK_SIZE + 1)
    async with backend.transaction() as documents:
        stored = await documents.put(DocumentOwner.VAULT, vault_id, "in-tx.bin", data)
    assert await backend.documents.find_by_id(stored.id) == stored
    assert await read_all(backend.documents, stored.id) == data


async def test_a_put_in_a_transaction_that_fails_is_rolled_back(backend: Backend) -> None:
    vault_id = await backend.owner(DocumentOwner.VAULT)
    with pytest.raises(Boom):
        async with backend.transaction() as documents:
            await documents.put(DocumentOwner.VAULT, vault_id, "in-tx.bin", b"d" * CHUNK_SIZE * 2)
            raise Boom
    assert await backend.document_count() == 0
    assert await backend.chunk_count() == 0


# -- listing --------------------------------------------------------------------------------


async def test_list_pages_through_one_owners_documents_in_creation_order(
    backend: Backend,
) -> None:
    vault_id = await backend.owner(DocumentOwner.VAULT)
    agent_id = await backend.owner(DocumentOwner.AGENT)
    mine = [
        await backend.documents.put(DocumentOwner.VAULT, vault_id, f"report-{i}.txt", b"%d" % i)
        for i in range(5)
    ]
    theirs = await backend.documents.put(DocumentOwner.AGENT, agent_id, "other.txt", b"x")

    first = await backend.documents.list(DocumentOwner.VAULT, vault_id, limit=2)
    second = await backend.documents.list("vault", vault_id, limit=2, after=first.next_cursor)
    third = await backend.documents.list("vault", vault_id, limit=2, after=second.next_cursor)
    assert [d.name for d in first] == ["report-0.txt", "report-1.txt"]
    assert [d.name for d in second] == ["report-2.txt", "report-3.txt"]
    assert [d.name for d in third] == ["report-4.txt"]
    assert third.next_cursor is None
    assert [*first, *second, *third] == mine
    assert list(await backend.documents.list(DocumentOwner.AGENT, agent_id)) == [theirs]
    assert list(await backend.documents.list(DocumentOwner.AGENT, vault_id)) == []


@pytest.mark.parametrize(
    ("field", "arguments"),
    [
        ("owner_type", {"owner_type": "bank"}),
        ("owner_id", {"owner_id": 7}),
        ("limit", {"limit": 0}),
        ("after", {"after": "not a cursor"}),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
async def test_list_refuses_bad_arguments(
    backend: Backend, field: str, arguments: dict[str, Any]
) -> None:
    call: dict[str, Any] = {"owner_type": "vault", "owner_id": UNKNOWN_ID, **arguments}
    with pytest.raises(ValidationError) as info:
        await backend.documents.list(call.pop("owner_type"), call.pop("owner_id"), **call)
    assert info.value.field == field


# -- delete and damage ----------------------------------------------------------------------


async def test_delete_removes_the_document_and_its_chunks(backend: Backend) -> None:
    vault_id = await backend.owner(DocumentOwner.VAULT)
    kept = await backend.documents.put(DocumentOwner.VAULT, vault_id, "kept.bin", b"k")
    stored = await backend.documents.put(
        DocumentOwner.VAULT, vault_id, "gone.bin", b"g" * (2 * CHUNK_SIZE + 10)
    )
    assert await backend.chunk_count(stored.id) == 3
    await backend.documents.delete(stored.id)
    assert await backend.documents.find_by_id(stored.id) is None
    assert await backend.chunk_count(stored.id) == 0
    assert list(await backend.documents.list(DocumentOwner.VAULT, vault_id)) == [kept]
    assert await read_all(backend.documents, kept.id) == b"k"


async def test_unknown_ids_are_not_found(backend: Backend) -> None:
    with pytest.raises(NotFoundError):
        await backend.documents.delete(UNKNOWN_ID)
    with pytest.raises(NotFoundError):
        await read_all(backend.documents, UNKNOWN_ID)
    with pytest.raises(NotFoundError):
        await backend.documents.download(UNKNOWN_ID, io.BytesIO())


async def test_a_document_with_a_missing_chunk_is_reported_damaged(backend: Backend) -> None:
    vault_id = await backend.owner(DocumentOwner.VAULT)
    stored = await backend.documents.put(
        DocumentOwner.VAULT, vault_id, "damaged.bin", b"e" * (3 * CHUNK_SIZE)
    )
    await backend.delete_chunk(stored.id, 1)
    with pytest.raises(DatabaseError, match="damaged"):
        await read_all(backend.documents, stored.id)


# -- MongoDB: a GridFS bucket ---------------------------------------------------------------


async def test_mongodb_documents_are_a_gridfs_bucket(mongo_database: AsyncDatabase[Any]) -> None:
    await mongo_database["agents"].insert_one({"_id": "agent-1", "tenant_id": DEFAULT_TENANT})
    documents = mongo_documents(mongo_database)
    data = random.Random(3).randbytes(3 * CHUNK_SIZE + 99)
    stored = await documents.put("agent", "agent-1", "report.pdf", data, metadata={"v": 1})

    bucket = AsyncGridFSBucket(mongo_database, "documents")
    stream = await bucket.open_download_stream(stored.id)
    assert await stream.read() == data
    assert stream.filename == "report.pdf"
    assert stream.length == len(data)
    assert stream.chunk_size == CHUNK_SIZE
    assert stream.metadata == {
        "owner_type": "agent",
        "owner_id": "agent-1",
        "content_type": "application/octet-stream",
        "sha256": stored.sha256,
        "metadata": {"v": 1},
    }
    assert isinstance(stored, StoredDocument)
