-- Widgets: the throwaway entity of tests/_async/test_adding_an_entity.py, added
-- the way the README's "Adding an entity" says. Every statement a new entity needs.

-- name: insert(id, name, weight, created_at, updated_at, version)!
-- Store a new widget.
INSERT INTO widgets (id, name, weight, created_at, updated_at, version)
VALUES (:id, :name, :weight, :created_at, :updated_at, :version);

-- name: find_by_id(id)^
-- One widget by id, or no row.
SELECT * FROM widgets
WHERE id = :id;

-- name: list_after(after, limit)
-- All widgets in creation order, one page after the id :after.
SELECT * FROM widgets
WHERE id > :after
ORDER BY id
LIMIT :limit;

-- name: update(id, changed, name, weight, expected_version)<!
-- Each column named in :changed takes its new value, the others keep theirs.
UPDATE widgets SET
    version = version + 1,
    name = CASE
        WHEN 'name' = any(:changed) THEN :name
        ELSE name
    END,
    weight = CASE
        WHEN 'weight' = any(:changed) THEN :weight
        ELSE weight
    END
WHERE
    id = :id
    AND (cast(:expected_version AS integer) IS NULL OR version = :expected_version)
RETURNING *;

-- name: delete(id, expected_version)!
-- Delete one widget.
DELETE FROM widgets
WHERE
    id = :id
    AND (cast(:expected_version AS integer) IS NULL OR version = :expected_version);
