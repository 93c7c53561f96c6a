-- What tests/test_registry.py compares the registry with.

-- name: foreign_keys()
-- Every foreign key of the public schema: its table, column, the table it names
-- and what deleting a named row does (r restrict, a no action, c cascade). A key
-- of a tenant's rows is (tenant_id, column): its last column is the reference.
SELECT
    src.relname AS table_name,
    att.attname AS column_name,
    dst.relname AS referenced_table,
    con.confdeltype AS on_delete
FROM pg_constraint AS con
INNER JOIN pg_class AS src ON con.conrelid = src.oid
INNER JOIN pg_class AS dst ON con.confrelid = dst.oid
INNER JOIN pg_attribute AS att
    ON
        con.conrelid = att.attrelid
        AND att.attnum = con.conkey[array_length(con.conkey, 1)]
INNER JOIN pg_namespace AS nsp ON src.relnamespace = nsp.oid
WHERE con.contype = 'f' AND nsp.nspname = 'public'
ORDER BY table_name, column_name;

-- name: tables()
-- The tables of the public schema, but the migration tools' own.
SELECT c.relname AS table_name
FROM pg_class AS c
INNER JOIN pg_namespace AS n ON c.relnamespace = n.oid
WHERE
    c.relkind IN ('r', 'p')
    AND n.nspname = 'public'
    AND c.relname NOT LIKE '\_yoyo%%'
    AND c.relname NOT LIKE 'yoyo%%'
    AND c.relname != 'vaultstore_migration_checksums'
    AND NOT c.relispartition
ORDER BY table_name;

-- name: row_security()
-- Each table of the public schema but the migration tools' own and the
-- partitions: whether row-level security is on and forced, its policies, and
-- whether it has a tenant_id.
SELECT
    c.relname AS table_name,
    c.relrowsecurity AS enabled,
    c.relforcerowsecurity AS forced,
    (
        SELECT count(*) FROM pg_policy AS p
        WHERE p.polrelid = c.oid
    ) AS policies,
    exists(
        SELECT 1 FROM pg_attribute AS a
        WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
    ) AS has_tenant_id
FROM pg_class AS c
INNER JOIN pg_namespace AS n ON c.relnamespace = n.oid
WHERE
    c.relkind IN ('r', 'p')
    AND n.nspname = 'public'
    AND c.relname NOT LIKE '\_yoyo%%'
    AND c.relname NOT LIKE 'yoyo%%'
    AND c.relname != 'vaultstore_migration_checksums'
    AND NOT c.relispartition
ORDER BY table_name;
