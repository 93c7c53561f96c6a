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
from typing import TYPE_CHECKING

from .._documents import (
    READ_BATCH,
    ReadCheck,
    Upload,
    not_found,
    owner_not_found,
)
from .._entities import DocumentOwner, StoredDocument

if TYPE_CHECKING:
    from .postgres import PostgresExecutor


class PostgresDocuments:
    """The I/O of large documents on PostgreSQL, on ``queries/documents.sql``."""

    def __init__(self, db: PostgresExecutor) -> None:
        self._db = db
        self._q = db.queries.documents
        self.settings = db.settings

    def put(self, document: StoredDocument, upload: Upload) -> StoredDocument:
        """In one transaction: the owner locked (``lock_vault_owner`` or
        ``lock_agent_owner``), ``insert_chunk`` per chunk, then ``insert``."""
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

    def find_by_id(self, id: str) -> StoredDocument | None:
        query = self._q.find_by_id
        with self._db.cursor(StoredDocument) as cur:
            row = query(cur, id=id)
            if row is None:
                return None
            return self._db.loader(StoredDocument, query, cur)(row)

    def content(self, document: StoredDocument) -> Iterator[bytes]:
        """``read_chunks``, a few per statement, the connection returned between."""
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

    def list(
        self, owner: DocumentOwner | None, owner_id: str | None, after: str, limit: int
    ) -> list[StoredDocument]:
        """``list_by_owner``, or ``list_after`` for every document."""
        with self._db.cursor(StoredDocument) as cur:
            if owner is None:
                query = self._q.list_after
                found = query(cur, after=after, limit=limit)
            else:
                query = self._q.list_by_owner
                found = query(
                    cur, owner_type=owner.value, owner_id=owner_id, after=after, limit=limit
                )
            rows = [row for row in found]
            if not rows:
                return []
            load = self._db.loader(StoredDocument, query, cur)
        return [load(row) for row in rows]

    def count(self) -> int:
        """``count``."""
        with self._db.cursor(StoredDocument) as cur:
            rows = [row for row in self._q.count(cur)]
        return int(rows[0][0])

    def delete(self, id: str) -> int:
        """``delete``: the chunks go with the row."""
        with self._db.cursor(StoredDocument, deleting=True) as cur:
            count: int = self._q.delete(cur, id=id)
        return count

    def delete_by_owner(self, owner: DocumentOwner, owner_id: str) -> int:
        """``delete_by_owner``: the chunks go with the rows."""
        with self._db.cursor(StoredDocument, deleting=True) as cur:
            count: int = self._q.delete_by_owner(
                cur, owner_type=owner.value, owner_id=owner_id
            )
        return count
