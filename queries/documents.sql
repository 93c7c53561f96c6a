-- Large documents attached to a vault or an agent: one row in documents per
-- document, its content in document_chunks, 255 KiB per row. A document is written
-- in one transaction (owner locked, chunks, then its row) and read a few chunks per
-- statement, so that no statement carries a whole document. Listings are
-- keyset-paginated on id (creation order); :after is '' for the first page.

-- name: lock_vault_owner(owner_id)$
-- The id of the vault a document is being stored for, or no row; locked (FOR KEY
-- SHARE) until the document is committed, so the vault cannot be deleted meanwhile.
SELECT id FROM credit_vaults
WHERE id = :owner_id
FOR KEY SHARE;

-- name: lock_agent_owner(owner_id)$
-- The id of the agent a document is being stored for, or no row; locked as above.
SELECT id FROM agents
WHERE id = :owner_id
FOR KEY SHARE;

-- name: insert_chunk(document_id, n, data)!
-- Store chunk n of a document, before the document's own row (the foreign key
-- document_chunks_document_id_fkey is checked at commit).
INSERT INTO document_chunks (document_id, n, data)
VALUES (:document_id, :n, :data);

-- name: insert(id, owner_type, owner_id, name, content_type, length, sha256, metadata, created_at)<!
-- Store a document's row once its chunks are written, with the length and SHA-256
-- taken while they streamed.
INSERT INTO documents (
    id, owner_type, owner_id, name, content_type, length, sha256, metadata, created_at
) VALUES (
    :id, :owner_type, :owner_id, :name, :content_type, :length, :sha256, :metadata, :created_at
)
RETURNING *;

-- name: find_by_id(id)^
-- One document by id, or no row.
SELECT * FROM documents
WHERE id = :id;

-- name: list_by_owner(owner_type, owner_id, after, limit)
-- One vault's or agent's documents in creation order, one page after the id :after
-- (index documents_owner_type_owner_id_id_idx).
SELECT * FROM documents
WHERE owner_type = :owner_type AND owner_id = :owner_id AND id > :after
ORDER BY id
LIMIT :limit;

-- name: list_after(after, limit)
-- Every document in creation order, one page after the id :after (primary key
-- documents_pkey).
SELECT * FROM documents
WHERE id > :after
ORDER BY id
LIMIT :limit;

-- name: count()
-- How many documents are stored.
SELECT count(*) AS total FROM documents;

-- name: read_chunks(document_id, first, count)
-- Up to :count chunks of a document, from chunk number :first on, in order
-- (primary key document_chunks_pkey).
SELECT
    n,
    data
FROM document_chunks
WHERE document_id = :document_id AND n >= :first
ORDER BY n
LIMIT :count;

-- name: delete(id)!
-- Delete one document; its chunks go with it (ON DELETE CASCADE).
DELETE FROM documents
WHERE id = :id;

-- name: delete_by_owner(owner_type, owner_id)!
-- Delete every document of one vault or agent, and their chunks (ON DELETE
-- CASCADE of document_chunks_document_id_fkey, co-located with documents): run
-- by the owner's delete() in its transaction, after the owner's row is deleted,
-- so that a document stored meanwhile (its put waited on the owner's lock) is
-- seen and goes too (index documents_owner_type_owner_id_id_idx). On Citus a
-- multi-shard delete: documents are distributed by id, not by owner.
DELETE FROM documents
WHERE owner_type = :owner_type AND owner_id = :owner_id;
