-- Catalog queries behind the distribution check (vaultstore/admin/distribution.py):
-- the tables of the public schema, their keys, unique indexes, foreign keys and
-- triggers, read on a migrated database to judge them by Citus's rules. Partitions
-- are left out: they carry their parent's keys, and Citus distributes them with it.

-- name: tables()
-- Every table of the public schema that is not a partition, with its kind
-- ('r' plain, 'p' partitioned).
SELECT
    c.relname AS table_name,
    c.relkind AS kind
FROM pg_class AS c
INNER JOIN pg_namespace AS n ON c.relnamespace = n.oid
WHERE
    n.nspname = 'public'
    AND c.relkind IN ('r', 'p')
    AND NOT c.relispartition
ORDER BY c.relname;

-- name: columns()
-- Every column of those tables: its type and whether it may be null (a
-- distribution column must not be, and co-located ones must share a type).
SELECT
    c.relname AS table_name,
    a.attname AS column_name,
    a.attnotnull AS not_null,
    format_type(a.atttypid, a.atttypmod) AS column_type
FROM pg_attribute AS a
INNER JOIN pg_class AS c ON a.attrelid = c.oid
INNER JOIN pg_namespace AS n ON c.relnamespace = n.oid
WHERE
    n.nspname = 'public'
    AND c.relkind IN ('r', 'p')
    AND NOT c.relispartition
    AND a.attnum > 0
    AND NOT a.attisdropped
ORDER BY c.relname, a.attnum;

-- name: unique_keys()
-- Every PRIMARY KEY, UNIQUE and EXCLUDE constraint, and every unique index that
-- backs no constraint, with its columns in key order (null for an expression).
SELECT
    c.relname AS table_name,
    coalesce(con.conname, i.relname) AS key_name,
    CASE con.contype
        WHEN 'p' THEN 'PRIMARY KEY'
        WHEN 'u' THEN 'UNIQUE'
        WHEN 'x' THEN 'EXCLUDE'
        ELSE 'UNIQUE INDEX'
    END AS key_kind,
    array(
        SELECT a.attname
        FROM unnest(ix.indkey) WITH ORDINALITY AS k (attnum, position)
        LEFT JOIN pg_attribute AS a
            ON a.attrelid = c.oid AND k.attnum = a.attnum
        WHERE k.position <= ix.indnkeyatts
        ORDER BY k.position
    ) AS key_columns
FROM pg_index AS ix
INNER JOIN pg_class AS i ON ix.indexrelid = i.oid
INNER JOIN pg_class AS c ON ix.indrelid = c.oid
INNER JOIN pg_namespace AS n ON c.relnamespace = n.oid
LEFT JOIN pg_constraint AS con
    ON ix.indexrelid = con.conindid AND con.contype IN ('p', 'u', 'x')
WHERE
    n.nspname = 'public'
    AND NOT c.relispartition
    AND (ix.indisunique OR con.contype = 'x')
ORDER BY c.relname, key_name;

-- name: foreign_keys()
-- Every foreign key: its table and columns, and the table and columns it names,
-- pairwise in order.
SELECT
    c.relname AS table_name,
    con.conname AS key_name,
    r.relname AS referenced_table,
    array(
        SELECT a.attname
        FROM unnest(con.conkey) WITH ORDINALITY AS k (attnum, position)
        INNER JOIN pg_attribute AS a ON a.attrelid = c.oid AND k.attnum = a.attnum
        ORDER BY k.position
    ) AS key_columns,
    array(
        SELECT a.attname
        FROM unnest(con.confkey) WITH ORDINALITY AS k (attnum, position)
        INNER JOIN pg_attribute AS a ON a.attrelid = r.oid AND k.attnum = a.attnum
        ORDER BY k.position
    ) AS referenced_columns
FROM pg_constraint AS con
INNER JOIN pg_class AS c ON con.conrelid = c.oid
INNER JOIN pg_class AS r ON con.confrelid = r.oid
INNER JOIN pg_namespace AS n ON c.relnamespace = n.oid
WHERE
    n.nspname = 'public'
    AND con.contype = 'f'
    AND NOT c.relispartition
    AND con.conparentid = 0
ORDER BY c.relname, con.conname;

-- name: triggers()
-- Every trigger written by a migration (not the ones PostgreSQL makes for foreign
-- keys), with the function it runs and whether it fires per row.
SELECT
    c.relname AS table_name,
    t.tgname AS trigger_name,
    p.proname AS function_name,
    (t.tgtype & 1) = 1 AS for_each_row
FROM pg_trigger AS t
INNER JOIN pg_class AS c ON t.tgrelid = c.oid
INNER JOIN pg_namespace AS n ON c.relnamespace = n.oid
INNER JOIN pg_proc AS p ON t.tgfoid = p.oid
WHERE
    n.nspname = 'public'
    AND NOT t.tgisinternal
    AND NOT c.relispartition
    AND t.tgparentid = 0
ORDER BY c.relname, t.tgname;
