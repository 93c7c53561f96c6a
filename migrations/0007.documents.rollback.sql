-- Remove the large documents and their chunks.

DROP TABLE document_chunks;
DROP TABLE documents;
