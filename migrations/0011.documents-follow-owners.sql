-- A document goes with the vault or agent that owns it: no foreign key can name a
-- polymorphic owner (owner_type, owner_id), so a trigger on each owner's table
-- deletes its documents (their chunks follow by document_chunks_document_id_fkey).
-- depends: 0010.versions

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
