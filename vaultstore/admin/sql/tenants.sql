-- What vaultstore copy asks of a PostgreSQL source before it copies.

-- name: stored_tenants()
-- The tenants whose rows this connection sees: every agent's (a vault and what
-- hangs from it belong to its agent's tenant) and every document's. A superuser,
-- whom row-level security does not stop, sees every tenant's.
SELECT tenant_id FROM agents
UNION
SELECT tenant_id FROM documents
ORDER BY tenant_id;
