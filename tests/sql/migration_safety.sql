-- Statements of tests/test_migration_safety.py.

-- name: index_is_valid(index_name)$
-- Whether an index is built and usable (false: left invalid by a failed
-- CREATE INDEX CONCURRENTLY); no row when there is no such index.
SELECT x.indisvalid FROM pg_index AS x
WHERE x.indexrelid = to_regclass(:index_name);
