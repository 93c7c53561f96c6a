-- A vault's or agent's stored documents are deleted by vaultstore, not by a
-- trigger: the owner's delete() (store.vaults.delete, store.agents.delete) runs
-- queries/documents.sql delete_by_owner in its own transaction, after deleting the
-- owner's row, as the MongoDB executor already did. The trigger of migration 0011
-- deleted from documents, another distributed table, which Citus refuses in a
-- trigger (it runs on the shards), so it goes: nothing is left in the way of
-- distributing the schema (vaultstore/admin/distribution.py; docs/scaling.md).
--
-- FOR A DBA: an owner row deleted by hand in SQL no longer takes its documents
-- with it. Delete them in the same transaction, as vaultstore does:
--     DELETE FROM documents WHERE owner_type = 'vault' AND owner_id = '<id>';
-- (or 'agent'); their chunks follow (ON DELETE CASCADE). Documents already left
-- without an owner are found, and deleted, on PostgreSQL before distribution by:
--     DELETE FROM documents AS d
--     WHERE (d.owner_type = 'vault' AND NOT EXISTS
--             (SELECT FROM credit_vaults AS v WHERE v.id = d.owner_id))
--         OR (d.owner_type = 'agent' AND NOT EXISTS
--             (SELECT FROM agents AS a WHERE a.id = d.owner_id));
--
-- LOCKING: DROP TRIGGER takes a SHARE ROW EXCLUSIVE lock on credit_vaults and on
-- agents for an instant (no rows are read); a delete of an owner waits for it.
-- depends: 0013.distribution-keys

DROP TRIGGER agents_delete_documents ON agents;
DROP TRIGGER credit_vaults_delete_documents ON credit_vaults;
DROP FUNCTION vaultstore_delete_owned_documents();
