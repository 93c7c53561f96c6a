"""What both document repositories read the same way (async source of the sync
twin): a backend supplies ``find_by_id`` and ``_content``, the chunks of a known
document; looking it up, streaming and downloading are written once here. (The
operations ``@runs`` names are PostgreSQL's statements; MongoDB reads GridFS.)"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import BinaryIO

from .._documents import not_found
from .._entities import StoredDocument
from .._pipeline import runs


class AsyncDocumentReading:
    """``chunks`` and ``download`` on top of a backend's ``find_by_id`` and ``_content``."""

    async def find_by_id(self, id: str) -> StoredDocument | None:
        raise NotImplementedError

    def _content(self, document: StoredDocument) -> AsyncIterator[bytes]:
        raise NotImplementedError

    async def _existing(self, id: str) -> StoredDocument:
        document = await self.find_by_id(id)
        if document is None:
            raise not_found(id)
        return document

    @runs("find_by_id", "read_chunks")
    async def chunks(self, id: str) -> AsyncIterator[bytes]:
        """The content of a document, chunk by chunk, a few chunks per query;
        NotFoundError for an unknown id."""
        document = await self._existing(id)
        async for chunk in self._content(document):
            yield chunk

    @runs("find_by_id", "read_chunks")
    async def download(self, id: str, destination: BinaryIO) -> StoredDocument:
        """Write a document's content to ``destination``, chunk by chunk."""
        document = await self._existing(id)
        async for chunk in self._content(document):
            destination.write(chunk)
        return document
