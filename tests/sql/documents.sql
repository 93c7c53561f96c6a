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

-- name: delete_orphans()!
-- Delete the documents whose owner row is gone (deleted by hand in SQL): the
-- statement migration 0014 and the README give DBAs, on plain PostgreSQL.
DELETE FROM documents AS d
WHERE
    (
        d.owner_type = 'vault'
        AND NOT EXISTS (
            SELECT FROM credit_vaults AS v
            WHERE v.id = d.owner_id
        )
    )
    OR (
        d.owner_type = 'agent'
        AND NOT EXISTS (
            SELECT FROM agents AS a
            WHERE a.id = d.owner_id
        )
    );

-- name: delete_vault_by_hand(id)!
-- Delete a vault's row directly, as a DBA might, without vaultstore.
DELETE FROM credit_vaults
WHERE id = :id;

-- name: owner_triggers()
-- The definitions of the triggers that deleted an owner's documents (migration
-- 0011), and of their function: none once 0014 is applied.
SELECT pg_get_triggerdef(t.oid) AS definition
FROM pg_trigger AS t
WHERE NOT t.tgisinternal AND t.tgname LIKE '%%_delete_documents'
UNION ALL
SELECT pg_get_functiondef(p.oid) AS definition
FROM pg_proc AS p
WHERE p.proname = 'vaultstore_delete_owned_documents'
ORDER BY definition;
