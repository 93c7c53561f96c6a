"""Large documents, written once for every backend (async source of the sync twin):
``store.documents`` checks its arguments before any I/O, counts each call in the
store's statistics as every repository call is counted, and leaves to a backend
(:mod:`.postgres_documents`, :mod:`.mongo_documents`) only the I/O: storing a
checked document with its content, reading it back in chunks, listing, deleting."""

from __future__ import annotations

from collections.abc import AsyncIterator
from time import perf_counter
from typing import Any, BinaryIO, Protocol, TypeVar

from .._arguments import check_id
from .._documents import DEFAULT_CONTENT_TYPE, Content, Upload, new_document, not_found, owner_value
from .._entities import DocumentOwner, StoredDocument
from .._monitoring import Monitor
from .._paging import Page, after_id, check_limit, id_key, make_page
from .._pipeline import AsyncCall, runs
from .._settings import Settings
from ..errors import ValidationError

T = TypeVar("T")


class AsyncDocumentBackend(Protocol):
    """The I/O of one backend's document store."""

    @property
    def settings(self) -> Settings | None: ...

    async def put(self, document: StoredDocument, upload: Upload) -> StoredDocument: ...
    async def find_by_id(self, id: str) -> StoredDocument | None: ...
    def content(self, document: StoredDocument) -> AsyncIterator[bytes]: ...
    async def list(
        self, owner: DocumentOwner | None, owner_id: str | None, after: str, limit: int
    ) -> list[StoredDocument]: ...
    async def count(self) -> int: ...
    async def delete(self, id: str) -> int: ...
    async def delete_by_owner(self, owner: DocumentOwner, owner_id: str) -> int: ...


class AsyncDocuments:
    """Large documents (risk reports, audit snapshots) attached to a vault or an
    agent: ``store.documents``. Content is streamed in chunks, never held whole."""

    def __init__(self, backend: AsyncDocumentBackend, monitor: Monitor) -> None:
        self._backend = backend
        self._monitor = monitor

    def __repr__(self) -> str:
        return f"<{type(self).__name__} on {self._backend.settings}>"

    async def _run(self, name: str, call: AsyncCall[T], *args: Any) -> T:
        """Run one backend call, counted as ``documents.<name>``."""
        monitor = self._monitor
        counter = monitor.counter(f"documents.{name}", "documents")
        with monitor.span(counter) as span:
            start = perf_counter()
            try:
                result = await call(*args)
            except BaseException as exc:
                monitor.failed(counter, perf_counter() - start, exc, {}, span)
                raise
            monitor.done(counter, perf_counter() - start, result, {}, span)
        return result

    @runs("lock_vault_owner", "lock_agent_owner", "insert_chunk", "insert")
    async def put(
        self,
        owner_type: DocumentOwner | str,
        owner_id: str,
        name: str,
        data: Content,
        *,
        content_type: str = DEFAULT_CONTENT_TYPE,
        metadata: dict[str, Any] | None = None,
    ) -> StoredDocument:
        """Store ``data`` (bytes, a file opened in binary mode, or an iterable of
        bytes chunks), taking its length and SHA-256 as it streams. All or nothing:
        a failure part-way leaves no document and no chunk. ValidationError before
        any I/O for bad arguments; NotFoundError if the owner does not exist."""
        document = new_document(
            owner_type, owner_id, name, content_type=content_type, metadata=metadata
        )
        return await self._run("insert", self._backend.put, document, Upload(document, data))

    @runs("lock_vault_owner", "lock_agent_owner", "insert_chunk", "insert")
    async def restore(self, document: StoredDocument, data: Content) -> StoredDocument:
        """Store a document exactly as described, its id and creation time kept
        (what ``vaultstore copy`` writes with): ``data`` must match its length and
        SHA-256, else DatabaseError and nothing is stored. All or nothing, as ``put``."""
        if type(document) is not StoredDocument:
            raise ValidationError(
                f"expected a StoredDocument, got {type(document).__name__}", field="document"
            )
        upload = Upload(document, data, restoring=True)
        return await self._run("insert", self._backend.put, document, upload)

    @runs("count")
    async def count(self) -> int:
        """How many documents are stored."""
        return await self._run("count", self._backend.count)

    @runs("find_by_id")
    async def find_by_id(self, id: str) -> StoredDocument | None:
        """The document with this id, or None."""
        return await self._run("find_by_id", self._backend.find_by_id, check_id(id))

    async def _existing(self, id: str) -> StoredDocument:
        document = await self.find_by_id(id)
        if document is None:
            raise not_found(id)
        return document

    async def _content(self, document: StoredDocument) -> AsyncIterator[bytes]:
        """The chunks, the whole read counted as one ``documents.read_chunks``."""
        start = perf_counter()
        chunks = 0
        try:
            async for chunk in self._backend.content(document):
                chunks += 1
                yield chunk
        except GeneratorExit:  # the caller stopped reading: not an error
            self._monitor.add("documents.read_chunks", perf_counter() - start, chunks)
            raise
        except BaseException as exc:
            self._monitor.add("documents.read_chunks", perf_counter() - start, error=exc)
            raise
        self._monitor.add("documents.read_chunks", perf_counter() - start, chunks)

    @runs("find_by_id", "read_chunks")
    async def chunks(self, id: str) -> AsyncIterator[bytes]:
        """The content, chunk by chunk, a few chunks per query (NotFoundError for an
        unknown id; DatabaseError if what is read does not match the stored length
        and SHA-256)."""
        document = await self._existing(id)
        async for chunk in self._content(document):
            yield chunk

    @runs("find_by_id", "read_chunks")
    async def download(self, id: str, destination: BinaryIO) -> StoredDocument:
        """Write the content to ``destination``, chunk by chunk; return the document."""
        document = await self._existing(id)
        async for chunk in self._content(document):
            destination.write(chunk)
        return document

    @runs("list_by_owner", "list_after")
    async def list(
        self,
        owner_type: DocumentOwner | str | None = None,
        owner_id: str | None = None,
        *,
        limit: int = 100,
        after: str | None = None,
    ) -> Page[StoredDocument]:
        """The documents of one vault or agent in creation order (``list_by_owner``);
        with no owner, every document (``list_after``)."""
        if (owner_type is None) != (owner_id is None):
            raise ValidationError(
                "give both owner_type and owner_id, or neither (every document)",
                field="owner_id" if owner_id is None else "owner_type",
            )
        owner = None if owner_type is None else owner_value(owner_type)
        owner_id = None if owner_id is None else check_id(owner_id, "owner_id")
        limit = check_limit(limit)
        last_id = after_id(after)
        found: list[StoredDocument] = await self._run(
            "list_after" if owner is None else "list_by_owner",
            self._backend.list,
            owner,
            owner_id,
            last_id,
            limit + 1,
        )
        return make_page(found, limit, id_key)

    @runs("delete")
    async def delete(self, id: str) -> None:
        """Delete a document and its chunks; NotFoundError if there is none."""
        if await self._run("delete", self._backend.delete, check_id(id)) == 0:
            raise not_found(id)

    async def _delete_by_owner(self, owner_type: str, owner_id: str) -> int:
        """Delete every document of a vault or agent, with their chunks: what the
        owner's ``delete()`` runs in its transaction (``delete_by_owner``)."""
        owner = owner_value(owner_type)
        return await self._run("delete_by_owner", self._backend.delete_by_owner, owner, owner_id)
