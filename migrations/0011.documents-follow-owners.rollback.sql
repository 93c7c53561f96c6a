-- Undo 0011.documents-follow-owners: documents outlive their owners again.

DROP TRIGGER agents_delete_documents ON agents;
DROP TRIGGER credit_vaults_delete_documents ON credit_vaults;
DROP FUNCTION vaultstore_delete_owned_documents();
