"""Large documents without database I/O, shared by both backends and both APIs:
checking a ``put`` before anything is written, cutting its content into chunks of
:data:`CHUNK_SIZE` bytes while taking their length and SHA-256, and checking what
is read back.

Content is never held whole: a put keeps at most one chunk of its own, a read at
most :data:`READ_BATCH` chunks.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC
from typing import Any, BinaryIO

import attrs
from bson import Int64

from . import _values
from ._entities import DocumentOwner, StoredDocument
from ._ids import new_id
from ._registry import REGISTRY
from .errors import DatabaseError, NotFoundError, ValidationError

CHUNK_SIZE = 255 * 1024
"""Bytes per stored chunk: GridFS's default, used by the PostgreSQL rows too."""
READ_BATCH = 4
"""Chunks fetched per statement when reading (about 1 MiB)."""
WRITE_BATCH = 4
"""Chunks sent per statement when writing to MongoDB (about 1 MiB)."""
DEFAULT_CONTENT_TYPE = "application/octet-stream"

Content = bytes | bytearray | memoryview | BinaryIO | Iterable[bytes]
"""What ``put`` stores: bytes, a file opened in binary mode (read in chunks of
:data:`CHUNK_SIZE`), or an iterable of bytes chunks of any size."""

_BYTES = (bytes, bytearray, memoryview)


def new_document(
    owner_type: DocumentOwner | str,
    owner_id: str,
    name: str,
    *,
    content_type: str,
    metadata: dict[str, Any] | None,
) -> StoredDocument:
    """The document a ``put`` will store, every field checked (ValidationError naming
    the field); its length and checksum are filled in by :meth:`Upload.stored`."""
    return StoredDocument(
        id=new_id(),
        owner_type=owner_type,
        owner_id=owner_id,
        name=name,
        content_type=content_type,
        length=0,
        sha256=hashlib.sha256().hexdigest(),
        metadata={} if metadata is None else metadata,
        created_at=_values.utc_now(),
    )


def owner_value(owner_type: object) -> DocumentOwner:
    """``owner_type`` as a DocumentOwner, or ValidationError."""
    member = _values.enum_member(DocumentOwner, owner_type)
    if isinstance(member, _values.Invalid):
        raise ValidationError(member.reason, field="owner_type")
    return member


def owner_not_found(document: StoredDocument) -> NotFoundError:
    """What a put for an owner that does not exist raises."""
    return NotFoundError(
        f"owner_id names no stored {document.owner_type.value}: {_values.shown(document.owner_id)}",
        entity=REGISTRY.document_owner(document.owner_type.value).cls.__name__,
        id=document.owner_id,
    )


def not_found(id: str) -> NotFoundError:
    return NotFoundError(
        f"no StoredDocument with id {_values.shown(id)}", entity="StoredDocument", id=id
    )


class Upload:
    """The content of one put, as chunks of :data:`CHUNK_SIZE` bytes (the last one
    shorter), with its length and SHA-256 taken as they pass.

    What is not content at all is refused when the Upload is made, before any
    database I/O, and so is a first chunk that is not bytes (a file opened in text
    mode); every chunk of a list or tuple is checked then too. A later chunk of a
    generator that is not bytes raises ValidationError when it is reached, and the
    put writes nothing.
    """

    def __init__(self, document: StoredDocument, data: object, *, restoring: bool = False) -> None:
        self._document = document
        self.restoring = restoring
        """A restore: the document keeps its description, which the content must match."""
        self._hash = hashlib.sha256()
        self.length = 0
        pieces = _pieces(data)
        first = next(pieces, None)  # read now, so that a bad first piece fails before I/O
        self._pieces: Iterator[Any] = pieces if first is None else _chained(first, pieces)

    def __iter__(self) -> Iterator[bytes]:
        buffer = bytearray()
        for piece in self._pieces:
            view = memoryview(piece).cast("B")
            if buffer:
                take = CHUNK_SIZE - len(buffer)
                buffer += view[:take]
                view = view[take:]
                if len(buffer) < CHUNK_SIZE:
                    continue
                yield self._measured(bytes(buffer))
                buffer.clear()
            while len(view) >= CHUNK_SIZE:
                yield self._measured(bytes(view[:CHUNK_SIZE]))
                view = view[CHUNK_SIZE:]
            buffer += view
        if buffer:
            yield self._measured(bytes(buffer))

    def _measured(self, chunk: bytes) -> bytes:
        self._hash.update(chunk)
        self.length += len(chunk)
        return chunk

    def stored(self) -> StoredDocument:
        """The document as stored, once every chunk has been written. A restored
        one keeps its own description, and its content must match the length and
        SHA-256 it gives (DatabaseError, and nothing stored, if not)."""
        if self.restoring:
            document = self._document
            digest = self._hash.hexdigest()
            if (self.length, digest) != (document.length, document.sha256):
                raise DatabaseError(
                    f"document {_values.shown(document.id)} was not restored: its content "
                    f"({self.length} bytes, SHA-256 {digest}) does not match its "
                    f"description ({document.length} bytes, SHA-256 {document.sha256})"
                )
            return document
        return attrs.evolve(
            self._document,
            length=self.length,
            sha256=self._hash.hexdigest(),
            created_at=_values.utc_now(),
        )


def _chained(first: object, rest: Iterator[object]) -> Iterator[object]:
    yield first
    yield from rest


def _pieces(data: object) -> Iterator[object]:
    """The pieces of ``data``, each checked to be bytes."""
    if isinstance(data, _BYTES):
        if isinstance(data, memoryview) and not data.c_contiguous:
            raise ValidationError("expected a contiguous memoryview", field="data")
        return iter((data,))
    read = getattr(data, "read", None)
    if callable(read):
        return _reads(read)
    if isinstance(data, str | Mapping) or not isinstance(data, Iterable):
        raise ValidationError(
            "expected bytes, a file opened in binary mode or an iterable of bytes, "
            f"got {type(data).__name__}",
            field="data",
        )
    if isinstance(data, Sequence):
        for i, piece in enumerate(data):
            _check_piece(piece, i)
        return iter(data)
    return _checked(data)


def _check_piece(piece: object, index: int) -> None:
    if not isinstance(piece, _BYTES):
        raise ValidationError(
            f"expected a bytes chunk, got {type(piece).__name__}", field=f"data[{index}]"
        )
    if isinstance(piece, memoryview) and not piece.c_contiguous:
        raise ValidationError("expected a contiguous memoryview", field=f"data[{index}]")


def _checked(pieces: Iterable[object]) -> Iterator[object]:
    for i, piece in enumerate(pieces):
        _check_piece(piece, i)
        yield piece


def _reads(read: Any) -> Iterator[object]:
    while True:
        piece = read(CHUNK_SIZE)
        if not isinstance(piece, _BYTES):
            raise ValidationError(
                f"the file gave {type(piece).__name__}, not bytes: open it in binary mode",
                field="data",
            )
        if not piece:
            return
        yield piece


class ReadCheck:
    """Checks the chunks of a document as they are read: numbered from 0 without a
    gap, adding up to its length, and matching its SHA-256 at the end."""

    def __init__(self, document: StoredDocument) -> None:
        self.document = document
        self.next_n = 0
        self._read = 0
        self._hash = hashlib.sha256()

    @property
    def done(self) -> bool:
        """True once every byte of the document has been read."""
        return self._read >= self.document.length

    def check(self, n: int, data: bytes) -> bytes:
        """The chunk's content, if it is the next one."""
        if n != self.next_n:
            raise self.damaged(f"expected chunk {self.next_n}, got chunk {n}")
        if not data or self._read + len(data) > self.document.length:
            raise self.damaged(f"chunk {n} does not fit the length")
        self._hash.update(data)
        self._read += len(data)
        self.next_n += 1
        return bytes(data)

    def finish(self) -> None:
        """Raise if the content read does not match the checksum stored with it."""
        if self._hash.hexdigest() != self.document.sha256:
            raise self.damaged("its content does not match its SHA-256")

    def damaged(self, reason: str) -> DatabaseError:
        return DatabaseError(
            f"stored document {_values.shown(self.document.id)} is damaged ({reason}, "
            f"{self._read} of {self.document.length} bytes read)"
        )


# -- GridFS files documents (MongoDB) ---------------------------------------------------


def gridfs_file(document: StoredDocument, tenant: str) -> dict[str, Any]:
    """The GridFS files document of a stored document: the fields of the GridFS
    specification, the tenant's (``tenant_id``, beside them, as on every chunk),
    and vaultstore's own under ``metadata``."""
    return {
        "_id": document.id,
        "tenant_id": tenant,
        "length": Int64(document.length),
        "chunkSize": CHUNK_SIZE,
        "uploadDate": document.created_at,
        "filename": document.name,
        "metadata": {
            "owner_type": document.owner_type.value,
            "owner_id": document.owner_id,
            "content_type": document.content_type,
            "sha256": document.sha256,
            "metadata": document.metadata,
        },
    }


def from_gridfs_file(file: Mapping[str, Any]) -> StoredDocument:
    """The document described by a GridFS files document that vaultstore wrote;
    DatabaseError for one it did not (a file uploaded by another GridFS client)."""
    try:
        meta = file["metadata"]
        created_at = file["uploadDate"]
        if created_at.tzinfo is None:  # a client without tz_aware codec options
            created_at = created_at.replace(tzinfo=UTC)
        return StoredDocument(
            id=file["_id"],
            owner_type=meta["owner_type"],
            owner_id=meta["owner_id"],
            name=file["filename"],
            content_type=meta["content_type"],
            length=int(file["length"]),
            sha256=meta["sha256"],
            metadata=meta.get("metadata", {}),
            created_at=created_at,
        )
    except (KeyError, TypeError, AttributeError, ValidationError) as exc:
        raise DatabaseError(
            f"GridFS file {file.get('_id')!r} was not stored by vaultstore ({exc!r})"
        ) from exc
