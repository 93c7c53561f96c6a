-- Protection rules: automated actions on a vault when their JSONB conditions hold,
-- at most once per cooldown (seconds).

-- name: insert(id, vault_id, name, conditions, actions, enabled, priority, cooldown, last_triggered_at, trigger_count, created_at, updated_at, version)!
-- Store a new rule. A second rule of the same name on a vault fails on
-- protection_rules_name_key; an unknown vault on protection_rules_vault_id_fkey.
INSERT INTO protection_rules (
    id, vault_id, name, conditions, actions, enabled, priority, cooldown,
    last_triggered_at, trigger_count, created_at, updated_at, version
) VALUES (
    :id, :vault_id, :name, :conditions, :actions, :enabled, :priority, :cooldown,
    :last_triggered_at, :trigger_count, :created_at, :updated_at, :version
);

-- name: find_by_id(id)^
-- One rule by id, or no row.
SELECT * FROM protection_rules
WHERE id = :id;

-- name: lock_by_id(id, vault_id)^
-- One row, locked against other writers until the end of the transaction
-- (store.transaction()'s repositories' lock(id)).
-- lock(id) reads the row first (find_by_id) for its vault_id, which never
-- changes: by it the lock goes to one shard on Citus (distributed by vault_id;
-- Citus takes row locks in single-shard statements only), a probe of
-- protection_rules_pkey (id, vault_id). No row: it was deleted since it was read.
SELECT * FROM protection_rules
WHERE
    id = :id
    AND vault_id = :vault_id
FOR UPDATE;

-- name: list_after(after, limit)
-- All rules in creation order, one page after the id :after.
SELECT * FROM protection_rules
WHERE id > :after
ORDER BY id
LIMIT :limit;

-- name: find_enabled_for_vault(vault_id)
-- The enabled rules of a vault, highest priority first
-- (partial index protection_rules_enabled_vault_id_priority_idx).
SELECT * FROM protection_rules
WHERE vault_id = :vault_id AND enabled
ORDER BY priority DESC, id ASC;

-- name: find_by_conditions(conditions, after, limit)
-- Rules whose conditions contain the JSON object :conditions (GIN index
-- protection_rules_conditions_idx), in creation order.
SELECT * FROM protection_rules
WHERE conditions @> :conditions AND id > :after
ORDER BY id
LIMIT :limit;

-- name: mark_triggered(id, expected_version)<!
-- Record that an enabled rule fired, unless it fired less than cooldown seconds
-- ago. No row when the rule is cooling down, disabled or unknown. now() is cut to
-- milliseconds as last_triggered_at is stored (rounded, so up to 0.5 ms ahead of
-- now()): with cooldown 0, a rule fired twice within a millisecond fires twice.
UPDATE protection_rules
SET version = version + 1, last_triggered_at = now(), trigger_count = trigger_count + 1
WHERE
    id = :id
    AND enabled
    AND (
        last_triggered_at IS NULL
        OR last_triggered_at <= cast(now() AS timestamptz (3)) - make_interval(secs => cooldown)
    )
    AND (cast(:expected_version AS integer) IS NULL OR version = :expected_version)
RETURNING *;

-- name: update(id, changed, name, conditions, actions, enabled, priority, cooldown, expected_version)<!
-- One statement: each column named in :changed (a text[]) takes its new value,
-- the others keep theirs. The CHECK constraints judge the row as a whole (the
-- rules across columns too); updated_at is set by trigger, version counts up. No
-- row: no such id, or it is not at :expected_version (when one is given).
UPDATE protection_rules SET
    version = version + 1,
    name = CASE
        WHEN 'name' = any(:changed) THEN :name
        ELSE name
    END,
    conditions = CASE
        WHEN 'conditions' = any(:changed) THEN :conditions
        ELSE conditions
    END,
    actions = CASE
        WHEN 'actions' = any(:changed) THEN :actions
        ELSE actions
    END,
    enabled = CASE
        WHEN 'enabled' = any(:changed) THEN :enabled
        ELSE enabled
    END,
    priority = CASE
        WHEN 'priority' = any(:changed) THEN :priority
        ELSE priority
    END,
    cooldown = CASE
        WHEN 'cooldown' = any(:changed) THEN :cooldown
        ELSE cooldown
    END
WHERE
    id = :id
    AND (cast(:expected_version AS integer) IS NULL OR version = :expected_version)
RETURNING *;

-- name: delete(id, expected_version)!
-- Delete one rule.
DELETE FROM protection_rules
WHERE
    id = :id
    AND (cast(:expected_version AS integer) IS NULL OR version = :expected_version);

-- Whole datasets, as `vaultstore copy` moves them between databases.

-- name: copy_in(id, vault_id, name, conditions, actions, enabled, priority, cooldown, last_triggered_at, trigger_count, created_at, updated_at, version)*!
-- Store whole rows of protection rules as they are (restore(): ids, versions and
-- timestamps kept), a batch at a time inside a transaction, pipelined. Not a
-- COPY: PostgreSQL refuses COPY FROM into a table under row-level security.
INSERT INTO protection_rules (
    id, vault_id, name, conditions, actions, enabled, priority, cooldown,
    last_triggered_at, trigger_count, created_at, updated_at, version
) VALUES (
    :id, :vault_id, :name, :conditions, :actions, :enabled, :priority, :cooldown,
    :last_triggered_at, :trigger_count, :created_at, :updated_at, :version
);

-- name: count()
-- How many protection rules are stored.
SELECT count(*) AS total FROM protection_rules;

-- name: find_last()^
-- The protection rule with the greatest id (the last one created), or no row.
SELECT * FROM protection_rules
ORDER BY id DESC
LIMIT 1;
