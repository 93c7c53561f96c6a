-- Catalog queries behind `vaultstore roles` (vaultstore/admin/roles.py): the
-- roles it sets up, and every object of vaultstore's schema it gives to the
-- migrator role and grants from the access description. Objects that belong to
-- an extension (pg_stat_statements installed in public, say) are left out: they
-- are the extension's, not vaultstore's.

-- name: owners(schema)^
-- The database the grants are for, its owner and the schema's: an application
-- role owning either could create or alter what it likes there.
SELECT
    d.datname AS database_name,
    pg_get_userbyid(d.datdba) AS database_owner,
    pg_get_userbyid(n.nspowner) AS schema_owner
FROM pg_database AS d
CROSS JOIN pg_namespace AS n
WHERE d.datname = current_database() AND n.nspname = :schema;

-- name: roles(names)
-- The roles among :names that exist, with the attributes the application role
-- must not have (superuser, BYPASSRLS) and whether they may log in.
SELECT
    rolname AS role_name,
    rolsuper AS superuser_role,
    rolbypassrls AS bypass_rls,
    rolcanlogin AS can_login
FROM pg_roles
WHERE rolname = any(:names)
ORDER BY rolname;

-- name: is_member(role, of)$
-- Whether :role is a member of :of, directly or not: an application role that is
-- a member of the migrator could act as the schema's owner.
SELECT pg_has_role(:role, :of, 'MEMBER');

-- name: relations(schema)
-- Every table, partition, view and sequence of the schema, with its owner;
-- partitions are flagged (reached through their parent, whose privileges are
-- the ones checked), and a sequence names the table whose column owns it.
SELECT
    c.relname AS relation_name,
    c.relkind AS kind,
    c.relispartition AS is_partition,
    owning.relname AS owned_by_table,
    pg_get_userbyid(c.relowner) AS owner_name
FROM pg_class AS c
INNER JOIN pg_namespace AS n ON c.relnamespace = n.oid
LEFT JOIN pg_depend AS owned_by
    ON
        c.relkind = 'S'
        AND owned_by.classid = 'pg_class'::regclass
        AND c.oid = owned_by.objid
        AND owned_by.refclassid = 'pg_class'::regclass
        AND owned_by.deptype IN ('a', 'i')
LEFT JOIN pg_class AS owning ON owned_by.refobjid = owning.oid
WHERE
    n.nspname = :schema
    AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
    AND NOT EXISTS (
        SELECT FROM pg_depend AS e
        WHERE
            e.classid = 'pg_class'::regclass
            AND c.oid = e.objid
            AND e.deptype = 'e'
    )
ORDER BY c.relispartition, c.relname;

-- name: functions(schema)
-- Every function and procedure of the schema, with its argument types as
-- ALTER FUNCTION names them, and its owner.
SELECT
    p.proname AS function_name,
    p.prokind AS kind,
    pg_get_userbyid(p.proowner) AS owner_name,
    array(
        SELECT format_type(t.type_oid, null)
        FROM unnest(p.proargtypes) WITH ORDINALITY AS t (type_oid, position)
        ORDER BY t.position
    ) AS argument_types
FROM pg_proc AS p
INNER JOIN pg_namespace AS n ON p.pronamespace = n.oid
WHERE
    n.nspname = :schema
    AND p.prokind IN ('f', 'p')
    AND NOT EXISTS (
        SELECT FROM pg_depend AS e
        WHERE
            e.classid = 'pg_proc'::regclass
            AND p.oid = e.objid
            AND e.deptype = 'e'
    )
ORDER BY p.proname, argument_types;
