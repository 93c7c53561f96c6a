-- Protection rules: automated actions on a vault when its conditions hold, at most
-- once per cooldown. Conditions (an object) and actions (an array) are JSONB.
-- depends: 0002.credit-vaults

CREATE TABLE protection_rules (
    id text PRIMARY KEY,
    vault_id text NOT NULL,
    name text NOT NULL,
    conditions jsonb NOT NULL,
    actions jsonb NOT NULL,
    enabled boolean NOT NULL DEFAULT true,
    priority integer NOT NULL DEFAULT 0,
    cooldown integer NOT NULL DEFAULT 3600,
    last_triggered_at timestamptz (3),
    trigger_count integer NOT NULL DEFAULT 0,
    created_at timestamptz (3) NOT NULL DEFAULT now(),
    updated_at timestamptz (3) NOT NULL DEFAULT now(),
    CONSTRAINT protection_rules_vault_id_fkey FOREIGN KEY (vault_id)
    REFERENCES credit_vaults (id) ON DELETE CASCADE,
    -- also serves the foreign key
    CONSTRAINT protection_rules_name_key UNIQUE (vault_id, name),
    CONSTRAINT protection_rules_name_check CHECK (length(name) BETWEEN 1 AND 200),
    CONSTRAINT protection_rules_conditions_check CHECK (jsonb_typeof(conditions) = 'object'),
    CONSTRAINT protection_rules_actions_check CHECK (jsonb_typeof(actions) = 'array'),
    CONSTRAINT protection_rules_priority_check CHECK (priority BETWEEN 0 AND 1000),
    CONSTRAINT protection_rules_cooldown_check CHECK (cooldown >= 0),
    CONSTRAINT protection_rules_trigger_count_check CHECK (trigger_count >= 0)
);

-- find_enabled_for_vault: highest priority first
CREATE INDEX protection_rules_enabled_vault_id_priority_idx
ON protection_rules (vault_id, priority DESC, id)
WHERE enabled;
-- find_by_conditions: containment (@>) searches in the conditions
CREATE INDEX protection_rules_conditions_idx
ON protection_rules USING gin (conditions jsonb_path_ops);

CREATE TRIGGER protection_rules_touch_updated_at BEFORE UPDATE ON protection_rules
FOR EACH ROW EXECUTE FUNCTION vaultstore_touch_updated_at();
