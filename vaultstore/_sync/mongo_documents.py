# Generated from vaultstore/_async/mongo_documents.py by tools/generate_sync.py: do not edit.
"""Large documents on MongoDB (async source of the sync twin), stored as the GridFS
bucket ``documents``: ``documents.files`` and ``documents.chunks`` laid out as the
GridFS specification says, so any GridFS client (``GridFSBucket(db, "documents")``,
``mongofiles``) reads them. vaultstore's own fields (owner, content type, SHA-256,
metadata) are under the files document's ``metadata``; the tenant's
``tenant_id`` is on the files document and on every chunk, and every query here
names it, so a document of another tenant is not there (``None``, NotFoundError).

The chunks are written and read here rather than through ``AsyncGridFSBucket``'s
streams, for three reasons measured on pymongo 4.20: its upload stream keeps up to
48 MB of chunks in memory before the first insert (a 20 MB put peaked at 74 MB);
its download stream reads in the server's default batches, up to 16 MB (a 20 MB
read peaked at 33 MB); and it refuses sessions in a transaction, which the store's
``transaction()`` hands every repository. Here a put sends a few chunks per insert
and a read fetches a few per query, and both run in the caller's session.

A put checks the owner, inserts the chunks, and inserts the files document last,
so a document is visible only once whole; if anything fails part-way, its chunks
are deleted again.

The bucket's indexes (GridFS's two, the unique ``(files_id, n)`` among them, and
the listing's) are made by ``vaultstore migrate``, step
``migrations/mongodb/0002.documents.json``, not here on first use.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Generator
from contextlib import contextmanager
from datetime import UTC
from typing import Any, TypeGuard

from bson import CodecOptions
from pymongo import ReadPreference
from pymongo.synchronous.client_session import ClientSession
from pymongo.synchronous.database import Database
from pymongo.errors import ConnectionFailure, DuplicateKeyError, OperationFailure, PyMongoError

from .. import _values
from .._audit import AUDIT_LOG, DOCUMENTS, record_document, stored_document_fields, write_change
from .._documents import (
    READ_BATCH,
    WRITE_BATCH,
    ReadCheck,
    Upload,
    from_gridfs_file,
    gridfs_file,
    not_found,
    owner_not_found,
)
from .._entities import DocumentOwner, StoredDocument
from .._registry import REGISTRY, Registry
from .._retry import retry
from .._scope import Scope
from .._settings import Settings
from ..errors import ConflictError, DatabaseError, UnavailableError, VaultStoreError

logger = logging.getLogger("vaultstore")

BUCKET = "documents"
_ATTEMPTS = 4
"""Tries of a transaction opened for one audited write of a files document."""
_CODEC_OPTIONS: CodecOptions[Any] = CodecOptions(tz_aware=True, tzinfo=UTC)


def _translate(exc: PyMongoError) -> VaultStoreError:
    """The vaultstore error for a pymongo exception (raise it ``from exc``)."""
    if isinstance(exc, DuplicateKeyError):
        return ConflictError(f"StoredDocument conflicts with a stored one: {exc}", code=exc.code)
    if isinstance(exc, ConnectionFailure):
        return UnavailableError(f"MongoDB unavailable: {exc}")
    if _transient(exc):
        return ConflictError(f"concurrent update, try again: {exc}", code=exc.code)
    return DatabaseError(f"{type(exc).__name__}: {exc}", code=getattr(exc, "code", None))


def _transient(exc: PyMongoError) -> TypeGuard[OperationFailure]:
    """A concurrent writer got in the way: running the transaction again may succeed."""
    return isinstance(exc, OperationFailure) and exc.has_error_label("TransientTransactionError")


@contextmanager
def _errors() -> Generator[None]:
    """pymongo errors raised in the block become vaultstore's."""
    try:
        yield
    except PyMongoError as exc:
        raise _translate(exc) from exc


class MongoDocuments:
    """The I/O of large documents in the GridFS bucket ``documents`` of
    ``database``; every operation runs in ``session`` when one is given (such as a
    transaction's)."""

    def __init__(
        self,
        database: Database[Any],
        session: ClientSession | None = None,
        settings: Settings | None = None,
        registry: Registry = REGISTRY,
    ) -> None:
        self._database = database
        self._session = session
        self._registry = registry
        self.settings = settings
        self._files = database.get_collection(f"{BUCKET}.files", codec_options=_CODEC_OPTIONS)
        self._chunks = database.get_collection(f"{BUCKET}.chunks", codec_options=_CODEC_OPTIONS)
        self._audit_log = database[AUDIT_LOG]

    def __repr__(self) -> str:
        return f"<{type(self).__name__} on {self._database.name}.{BUCKET}>"

    def _owned(self) -> dict[str, str]:
        """The filter on the scope's tenant; ValidationError on ``tenant``, before
        any I/O, when tenancy is on and the scope names none."""
        scope = Scope() if self.settings is None else self.settings.scope
        return {"tenant_id": scope.effective_tenant()}

    def _auditing(self) -> bool:
        return self.settings is None or self.settings.scope.audit

    def _record(
        self,
        operation: str,
        files: list[dict[str, Any]],
        deleted: bool,
        session: ClientSession | None,
    ) -> None:
        """The audit records of files documents inserted or deleted (``deleted``),
        one per document, named as PostgreSQL's trigger names them: the statement
        that wrote (``documents.insert``, ``documents.delete``,
        ``documents.delete_by_owner``), the columns of the documents table."""
        if not files or not self._auditing():
            return
        scope = Scope() if self.settings is None else self.settings.scope
        now = _values.utc_now()
        records = []
        for file in files:
            fields = stored_document_fields(from_gridfs_file(file))
            change = write_change(
                fields if deleted else None, None if deleted else fields, StoredDocument
            )
            assert change is not None  # an insert or a delete changes every field
            records.append(
                record_document(
                    tenant=file["tenant_id"],
                    actor=scope.actor,
                    operation=f"{BUCKET}.{operation}",
                    entity_type=DOCUMENTS,
                    change=change,
                    written_at=now,
                )
            )
        self._audit_log.insert_many(records, session=session)

    def _write_file(
        self, file: dict[str, Any], deleted: bool, session: ClientSession | None
    ) -> dict[str, Any] | None:
        """Insert ``file`` (a files document), or delete the one it filters for
        (``deleted``), with its audit record: the document inserted or deleted, or
        None if none was."""
        if deleted:
            gone: dict[str, Any] | None = self._files.find_one_and_delete(
                file, session=session
            )
            if gone is not None:
                self._record("delete", [gone], True, session)
            return gone
        self._files.insert_one(file, session=session)
        self._record("insert", [file], False, session)
        return file

    def _audited_write(self, file: dict[str, Any], deleted: bool) -> dict[str, Any] | None:
        """:meth:`_write_file` in this repository's session; else, when auditing, in a
        transaction of its own (the write and its record, all or none), run again
        when a concurrent writer gets in the way: it holds this write only."""
        if self._session is not None or not self._auditing():
            return self._write_file(file, deleted, self._session)

        def once() -> dict[str, Any] | None:
            with (
                self._database.client.start_session() as session,
                session.start_transaction(read_preference=ReadPreference.PRIMARY),
            ):
                return self._write_file(file, deleted, session)

        return retry(
            once,
            lambda exc: isinstance(exc, PyMongoError) and _transient(exc),
            attempts=_ATTEMPTS,
            what="documents",
        )

    def put(self, document: StoredDocument, upload: Upload) -> StoredDocument:
        """Store a document: its chunks a few per insert, then its files document."""
        owned = self._owned()
        owners = self._database[self._registry.document_owner(document.owner_type.value).table]
        with _errors():
            owner = owners.find_one(
                {**owned, "_id": document.owner_id}, {"_id": 1}, session=self._session
            )
        if owner is None:
            raise owner_not_found(document)
        if upload.restoring:
            self._clear_for_restore(document.id)
        try:
            with _errors():
                batch: list[dict[str, Any]] = []
                for n, chunk in enumerate(upload):
                    batch.append({**owned, "files_id": document.id, "n": n, "data": chunk})
                    if len(batch) == WRITE_BATCH:
                        self._chunks.insert_many(batch, session=self._session)
                        batch = []
                if batch:
                    self._chunks.insert_many(batch, session=self._session)
                stored = upload.stored()
                self._audited_write(gridfs_file(stored, owned["tenant_id"]), False)
        except BaseException:
            self._discard(document.id)
            raise
        return stored

    def _clear_for_restore(self, id: str) -> None:
        """Before a document is restored under its own id: ConflictError if one is
        stored with it, else delete the chunks a restore that was killed part-way
        left (a new put's fresh id can meet none). Another tenant's document with
        the id is a conflict too (ids are unique across tenants), but its chunks are
        left alone."""
        with _errors():
            if self._files.find_one({"_id": id}, {"_id": 1}, session=self._session):
                raise ConflictError(f"a document with id {_values.shown(id)} is stored already")
            self._chunks.delete_many({**self._owned(), "files_id": id}, session=self._session)

    def _discard(self, id: str) -> None:
        """Delete the chunks of a put that failed."""
        try:
            self._chunks.delete_many({**self._owned(), "files_id": id}, session=self._session)
        except PyMongoError:
            # Without a files document, no listing or read reaches these chunks.
            logger.warning("could not delete the chunks of failed document %s", id, exc_info=True)

    def find_by_id(self, id: str) -> StoredDocument | None:
        with _errors():
            file = self._files.find_one({**self._owned(), "_id": id}, session=self._session)
        return None if file is None else from_gridfs_file(file)

    def content(self, document: StoredDocument) -> Iterator[bytes]:
        check = ReadCheck(document)
        owned = self._owned()
        while not check.done:
            with _errors():
                cursor = self._chunks.find(
                    {**owned, "files_id": document.id, "n": {"$gte": check.next_n}},
                    sort=[("n", 1)],
                    limit=READ_BATCH,
                    session=self._session,
                )
                batch = cursor.to_list()
            if not batch:
                if self.find_by_id(document.id) is None:
                    raise not_found(document.id)  # deleted while it was read
                raise check.damaged("a chunk is missing")
            for chunk in batch:
                yield check.check(chunk["n"], chunk["data"])
        check.finish()

    def list(
        self, owner: DocumentOwner | None, owner_id: str | None, after: str, limit: int
    ) -> list[StoredDocument]:
        filter: dict[str, Any] = {**self._owned(), "_id": {"$gt": after}}
        if owner is not None:
            filter.update({"metadata.owner_type": owner.value, "metadata.owner_id": owner_id})
        with _errors():
            cursor = self._files.find(filter, sort=[("_id", 1)], limit=limit, session=self._session)
            files = cursor.to_list()
        return [from_gridfs_file(file) for file in files]

    def count(self) -> int:
        with _errors():
            return self._files.count_documents(self._owned(), session=self._session)

    def delete(self, id: str) -> int:
        """Delete a document's files document, then its chunks."""
        owned = self._owned()
        with _errors():
            gone = self._audited_write({**owned, "_id": id}, True)
            self._chunks.delete_many({**owned, "files_id": id}, session=self._session)
        return 0 if gone is None else 1

    def delete_by_owner(self, owner: DocumentOwner, owner_id: str) -> int:
        """Delete the files documents of one vault or agent, then their chunks (in
        the owner's transaction, with a record per document)."""
        tenant = self._owned()
        owned = {**tenant, "metadata.owner_type": owner.value, "metadata.owner_id": owner_id}
        audit = self._auditing()
        with _errors():
            cursor = self._files.find(owned, None if audit else {"_id": 1}, session=self._session)
            files = cursor.to_list()
            if not files:
                return 0
            ids = [file["_id"] for file in files]
            result = self._files.delete_many(
                {**tenant, "_id": {"$in": ids}}, session=self._session
            )
            self._record("delete_by_owner", files, True, self._session)
            self._chunks.delete_many(
                {**tenant, "files_id": {"$in": ids}}, session=self._session
            )
        return result.deleted_count
