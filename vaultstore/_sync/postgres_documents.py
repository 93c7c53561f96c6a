# Generated from vaultstore/_async/postgres_documents.py by tools/generate_sync.py: do not edit.
"""Large documents on PostgreSQL (async source of the sync twin): a row in
``documents`` and the content in ``document_chunks``, 255 KiB per row, with the
named statements of ``queries/documents.sql``.

A put runs in one transaction: the owner is locked, the chunks are inserted one
statement each as they are read from the caller, and the document's row comes
last, with the length and SHA-256 taken on the way; a failure rolls all of it
back. A read fetches a few chunks per statement, returning the connection to the
pool between batches, so neither side ever holds the whole content.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from .._arguments import check_id
from .._documents import (
    DEFAULT_CONTENT_TYPE,
    READ_BATCH,
    Content,
    ReadCheck,
    Upload,
    new_document,
    not_found,
    owner_not_found,
    owner_value,
)
from .._entities import DocumentOwner, StoredDocument
from .._paging import Page, after_id, check_limit, id_key, make_page
from .._pipeline import runs
from .documents import DocumentReading

if TYPE_CHECKING:
    from .postgres import PostgresExecutor


class PgDocumentRepository(DocumentReading):
    """Large documents, on ``queries/documents.sql``."""

    def __init__(self, db: PostgresExecutor) -> None:
        self._db = db
        self._q = db.queries.documents

    def __repr__(self) -> str:
        return f"<{type(self).__name__} on {self._db.settings}>"

    @runs("lock_vault_owner", "lock_agent_owner", "insert_chunk", "insert")
    def put(
        self,
        owner_type: DocumentOwner | str,
        owner_id: str,
        name: str,
        data: Content,
        *,
        content_type: str = DEFAULT_CONTENT_TYPE,
        metadata: dict[str, Any] | None = None,
    ) -> StoredDocument:
        """Store a document and its content in one transaction (``lock_vault_owner``
        or ``lock_agent_owner``, ``insert_chunk`` per chunk, ``insert``)."""
        document = new_document(
            owner_type, owner_id, name, content_type=content_type, metadata=metadata
        )
        upload = Upload(document, data)
        lock_owner = (
            self._q.lock_vault_owner
            if document.owner_type is DocumentOwner.VAULT
            else self._q.lock_agent_owner
        )
        converter = self._db.converter
        with self._db.transaction() as db, db.cursor(StoredDocument) as cur:
            if lock_owner(cur, owner_id=document.owner_id) is None:
                raise owner_not_found(document)
            for n, chunk in enumerate(upload):
                self._q.insert_chunk(cur, document_id=document.id, n=n, data=chunk)
            stored = upload.stored()
            row = self._q.insert(cur, **converter.params(stored))
            return db.loader(StoredDocument, self._q.insert, cur)(row)

    @runs("find_by_id")
    def find_by_id(self, id: str) -> StoredDocument | None:
        """The document with this id, or None (``find_by_id``)."""
        query = self._q.find_by_id
        with self._db.cursor(StoredDocument) as cur:
            row = query(cur, id=check_id(id))
            if row is None:
                return None
            return self._db.loader(StoredDocument, query, cur)(row)

    def _content(self, document: StoredDocument) -> Iterator[bytes]:
        check = ReadCheck(document)
        while not check.done:
            with self._db.cursor(StoredDocument) as cur:
                rows = [
                    row
                    for row in self._q.read_chunks(
                        cur, document_id=document.id, first=check.next_n, count=READ_BATCH
                    )
                ]
            if not rows:
                if self.find_by_id(document.id) is None:
                    raise not_found(document.id)  # deleted while it was read
                raise check.damaged("a chunk is missing")
            for n, data in rows:
                yield check.check(n, data)
        check.finish()

    @runs("list_by_owner")
    def list(
        self,
        owner_type: DocumentOwner | str,
        owner_id: str,
        *,
        limit: int = 100,
        after: str | None = None,
    ) -> Page[StoredDocument]:
        """One vault's or agent's documents in creation order (``list_by_owner``)."""
        owner = owner_value(owner_type)
        owner_id = check_id(owner_id, "owner_id")
        limit = check_limit(limit)
        last_id = after_id(after)
        query = self._q.list_by_owner
        with self._db.cursor(StoredDocument) as cur:
            rows = [
                row
                for row in query(
                    cur, owner_type=owner.value, owner_id=owner_id, after=last_id, limit=limit + 1
                )
            ]
            load = self._db.loader(StoredDocument, query, cur) if rows else None
        items = [load(row) for row in rows] if load is not None else []
        return make_page(items, limit, id_key)

    @runs("delete")
    def delete(self, id: str) -> None:
        """Delete a document; its chunks go with it (``delete``)."""
        with self._db.cursor(StoredDocument, deleting=True) as cur:
            count = self._q.delete(cur, id=check_id(id))
        if count == 0:
            raise not_found(id)
