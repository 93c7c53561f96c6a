-- Widgets: the throwaway entity of tests/_async/test_adding_an_entity.py, added
-- the way the README's "Adding an entity" says. Every statement a new entity needs.

-- name: insert(id, name, weight, created_at, updated_at)!
-- Store a new widget.
INSERT INTO widgets (id, name, weight, created_at, updated_at)
VALUES (:id, :name, :weight, :created_at, :updated_at);

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

-- name: update(id, changed, name, weight)<!
-- Each column named in :changed takes its new value, the others keep theirs.
UPDATE widgets SET
    name = CASE
        WHEN 'name' = any(:changed) THEN :name
        ELSE name
    END,
    weight = CASE
        WHEN 'weight' = any(:changed) THEN :weight
        ELSE weight
    END
WHERE id = :id
RETURNING *;

-- name: delete(id)!
-- Delete one widget.
DELETE FROM widgets
WHERE id = :id;
