-- Catalog queries behind `vaultstore schema`: the schema the migrations produce,
-- read from PostgreSQL's catalogs (not pg_dump, whose version must match the
-- server's), each list in a stable order. Catalog names are of type name, which
-- sorts in the "C" collation, so the order does not depend on the database's
-- locale. yoyo's own tables are left out: they hold migration history, not schema;
-- so are partitions (market_data's months), which `vaultstore partitions` makes and
-- drops as time passes: the partitioned table shows its key, its partitions are data.

-- name: qualify_names#
-- Qualify every name outside pg_catalog in the definitions printed below
-- (public.agents, public.vaultstore_touch_updated_at()), whatever the caller's
-- search_path, as pg_dump does; for the rest of the session.
SELECT set_config('search_path', 'pg_catalog', false);

-- name: extensions(schema)
-- Extensions installed in the schema (names only: versions differ between servers).
SELECT quote_ident(e.extname) AS extension_name
FROM pg_extension AS e
INNER JOIN pg_namespace AS n ON e.extnamespace = n.oid
WHERE n.nspname = :schema
ORDER BY e.extname;

-- name: enum_types(schema)
-- Enum types with their labels in order.
SELECT
    quote_ident(n.nspname) || '.' || quote_ident(t.typname) AS type_name,
    string_agg(quote_literal(e.enumlabel), ', ' ORDER BY e.enumsortorder) AS labels
FROM pg_type AS t
INNER JOIN pg_namespace AS n ON t.typnamespace = n.oid
INNER JOIN pg_enum AS e ON t.oid = e.enumtypid
WHERE n.nspname = :schema
GROUP BY n.nspname, t.typname
ORDER BY t.typname;

-- name: functions(schema)
-- Functions and procedures (not those of extensions), as CREATE OR REPLACE;
-- overloads in the byte order of their argument lists.
SELECT pg_get_functiondef(p.oid) AS definition
FROM pg_proc AS p
INNER JOIN pg_namespace AS n ON p.pronamespace = n.oid
WHERE
    n.nspname = :schema
    AND p.prokind IN ('f', 'p')
    AND NOT EXISTS (
        SELECT FROM pg_depend AS d
        WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
    )
ORDER BY
    p.proname,
    convert_to(pg_get_function_identity_arguments(p.oid), 'UTF8');

-- name: sequences(schema)
-- Sequences other than those behind identity columns.
SELECT
    s.seqincrement,
    s.seqmin,
    s.seqmax,
    s.seqstart,
    s.seqcache,
    s.seqcycle,
    quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS sequence_name,
    format_type(s.seqtypid, null) AS data_type
FROM pg_sequence AS s
INNER JOIN pg_class AS c ON s.seqrelid = c.oid
INNER JOIN pg_namespace AS n ON c.relnamespace = n.oid
WHERE
    n.nspname = :schema
    AND NOT EXISTS (
        SELECT FROM pg_depend AS d
        WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'i'
    )
ORDER BY c.relname;

-- name: columns(schema)
-- Every column of every table, tables by name, columns in their order (the order
-- SELECT * returns them in): type, collation when not the type's default,
-- default or generation expression, identity and NOT NULL; and the partition key
-- of a partitioned table.
SELECT
    a.attnotnull,
    a.attgenerated,
    a.attidentity,
    quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS table_name,
    quote_ident(a.attname) AS column_name,
    format_type(a.atttypid, a.atttypmod) AS data_type,
    pg_get_expr(ad.adbin, ad.adrelid) AS default_or_generated,
    CASE
        WHEN a.attcollation <> t.typcollation THEN quote_ident(co.collname)
    END AS collation_name,
    CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END AS partition_key
FROM pg_class AS c
INNER JOIN pg_namespace AS n ON c.relnamespace = n.oid
INNER JOIN pg_attribute AS a ON c.oid = a.attrelid
INNER JOIN pg_type AS t ON a.atttypid = t.oid
LEFT JOIN pg_attrdef AS ad ON a.attrelid = ad.adrelid AND a.attnum = ad.adnum
LEFT JOIN pg_collation AS co ON a.attcollation = co.oid
WHERE
    n.nspname = :schema
    AND c.relkind IN ('r', 'p')
    AND NOT c.relispartition
    AND c.relname NOT IN ('_yoyo_log', '_yoyo_migration', '_yoyo_version', 'yoyo_lock')
    AND a.attnum > 0
    AND NOT a.attisdropped
ORDER BY c.relname, a.attnum;

-- name: constraints(schema)
-- Table constraints by table: primary key, unique and exclusion constraints, then
-- checks and foreign keys, each by name. PostgreSQL 18 also lists NOT NULL as
-- constraints (contype 'n'); they are shown on their columns instead, as before.
SELECT
    k.contype,
    quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS table_name,
    quote_ident(k.conname) AS constraint_name,
    pg_get_constraintdef(k.oid) AS definition
FROM pg_constraint AS k
INNER JOIN pg_class AS c ON k.conrelid = c.oid
INNER JOIN pg_namespace AS n ON c.relnamespace = n.oid
WHERE
    n.nspname = :schema
    AND k.contype <> 'n'
    AND NOT c.relispartition
    AND c.relname NOT IN ('_yoyo_log', '_yoyo_migration', '_yoyo_version', 'yoyo_lock')
ORDER BY
    c.relname,
    CASE k.contype WHEN 'p' THEN 0 WHEN 'u' THEN 1 WHEN 'x' THEN 2 ELSE 3 END,
    k.conname;

-- name: views(schema)
-- Views and materialized views with their queries.
SELECT
    c.relkind,
    quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS view_name,
    pg_get_viewdef(c.oid) AS definition
FROM pg_class AS c
INNER JOIN pg_namespace AS n ON c.relnamespace = n.oid
WHERE n.nspname = :schema AND c.relkind IN ('v', 'm')
ORDER BY c.relname;

-- name: indexes(schema)
-- Indexes other than those of primary key, unique and exclusion constraints
-- (shown with their constraint), by table and name; indisvalid is false for an
-- index left behind by a failed CREATE INDEX CONCURRENTLY.
SELECT
    x.indisvalid,
    pg_get_indexdef(x.indexrelid) AS definition
FROM pg_index AS x
INNER JOIN pg_class AS i ON x.indexrelid = i.oid
INNER JOIN pg_class AS t ON x.indrelid = t.oid
INNER JOIN pg_namespace AS n ON t.relnamespace = n.oid
WHERE
    n.nspname = :schema
    AND t.relname NOT IN ('_yoyo_log', '_yoyo_migration', '_yoyo_version', 'yoyo_lock')
    AND NOT t.relispartition
    AND NOT EXISTS (
        SELECT FROM pg_constraint AS k
        WHERE
            k.conindid = x.indexrelid
            AND k.conrelid = x.indrelid
            AND k.contype IN ('p', 'u', 'x')
    )
ORDER BY t.relname, i.relname;

-- name: triggers(schema)
-- Triggers written by the migrations (not those PostgreSQL makes for foreign keys).
SELECT pg_get_triggerdef(g.oid) AS definition
FROM pg_trigger AS g
INNER JOIN pg_class AS c ON g.tgrelid = c.oid
INNER JOIN pg_namespace AS n ON c.relnamespace = n.oid
WHERE n.nspname = :schema AND NOT g.tgisinternal AND NOT c.relispartition
ORDER BY c.relname, g.tgname;
