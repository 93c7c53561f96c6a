-- Agents: the AI agents that borrow from credit vaults.
-- Every statement returns whole rows (SELECT *, RETURNING *): vaultstore maps
-- columns to entity fields by name. Listings are keyset-paginated on id, which
-- sorts by creation time; :after is '' for the first page.

-- name: insert(id, name, credibility_score, created_at, updated_at, version)!
-- Store a new agent; the database derives credibility_tier from the score.
INSERT INTO agents (id, name, credibility_score, created_at, updated_at, version)
VALUES (:id, :name, :credibility_score, :created_at, :updated_at, :version);

-- name: find_by_id(id)^
-- One agent by id, or no row.
SELECT * FROM agents
WHERE id = :id;

-- name: find_by_name(name)^
-- One agent by its unique name, or no row.
SELECT * FROM agents
WHERE name = :name;

-- name: lock_by_id(id)^
-- One row, locked against other writers until the end of the transaction
-- (store.transaction()'s repositories' lock(id)).
SELECT * FROM agents
WHERE id = :id
FOR UPDATE;

-- name: list_after(after, limit)
-- All agents in creation order, one page after the id :after.
SELECT * FROM agents
WHERE id > :after
ORDER BY id
LIMIT :limit;

-- name: find_by_tier(tier, after, limit)
-- Agents of one credibility tier, in creation order, one page after :after.
SELECT * FROM agents
WHERE credibility_tier = :tier AND id > :after
ORDER BY id
LIMIT :limit;

-- name: update(id, changed, name, credibility_score, expected_version)<!
-- One statement: each column named in :changed (a text[]) takes its new value,
-- the others keep theirs. The CHECK constraints judge the row as a whole (the
-- rules across columns too); updated_at is set by trigger, version counts up. No
-- row: no such id, or it is not at :expected_version (when one is given).
UPDATE agents SET
    version = version + 1,
    name = CASE
        WHEN 'name' = any(:changed) THEN :name
        ELSE name
    END,
    credibility_score = CASE
        WHEN 'credibility_score' = any(:changed) THEN :credibility_score
        ELSE credibility_score
    END
WHERE
    id = :id
    AND (cast(:expected_version AS integer) IS NULL OR version = :expected_version)
RETURNING *;

-- name: delete(id, expected_version)!
-- Delete one agent; refused while it has vaults.
DELETE FROM agents
WHERE
    id = :id
    AND (cast(:expected_version AS integer) IS NULL OR version = :expected_version);

-- Whole datasets, as `vaultstore copy` moves them between databases.

-- name: copy_in(id, name, credibility_score, created_at, updated_at, version)*!
-- Store whole rows of agents as they are (restore(): ids, versions and
-- timestamps kept), a batch at a time inside a transaction, pipelined. Not a
-- COPY: PostgreSQL refuses COPY FROM into a table under row-level security.
INSERT INTO agents (
    id, name, credibility_score, created_at, updated_at, version
) VALUES (
    :id, :name, :credibility_score, :created_at, :updated_at, :version
);

-- name: count()
-- How many agents are stored.
SELECT count(*) AS total FROM agents;

-- name: find_last()^
-- The agent with the greatest id (the last one created), or no row.
SELECT * FROM agents
ORDER BY id DESC
LIMIT 1;
