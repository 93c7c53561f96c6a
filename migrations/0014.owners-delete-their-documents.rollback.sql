-- Undo 0014.owners-delete-their-documents: the trigger of migration 0011 again,
-- exactly as it was, deleting a vault's or agent's documents when its row is
-- deleted (deleting them again in delete() then finds none). Documents left
-- without an owner meanwhile (an owner deleted by hand) stay; see 0014.
--
-- LOCKING: CREATE TRIGGER takes a SHARE ROW EXCLUSIVE lock on credit_vaults and
-- on agents for an instant.

CREATE FUNCTION vaultstore_delete_owned_documents() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM documents
    WHERE owner_type = TG_ARGV[0] AND owner_id = OLD.id;
    RETURN OLD;
END;
$$;

CREATE TRIGGER credit_vaults_delete_documents AFTER DELETE ON credit_vaults
FOR EACH ROW EXECUTE FUNCTION vaultstore_delete_owned_documents('vault');

CREATE TRIGGER agents_delete_documents AFTER DELETE ON agents
FOR EACH ROW EXECUTE FUNCTION vaultstore_delete_owned_documents('agent');
