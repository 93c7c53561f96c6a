-- Statements the large-document tests run to look behind the repository; never used
-- by vaultstore itself.

-- name: count_documents()$
-- How many documents are stored.
SELECT count(*) FROM documents;

-- name: count_chunks()$
-- How many chunks are stored, of every document.
SELECT count(*) FROM document_chunks;

-- name: count_chunks_of(document_id)$
-- How many chunks one document has.
SELECT count(*) FROM document_chunks
WHERE document_id = :document_id;

-- name: delete_chunk(document_id, n)!
-- Damage a document by deleting one of its chunks.
DELETE FROM document_chunks
WHERE document_id = :document_id AND n = :n;
