-- Agents: the AI agents that borrow from credit vaults, and the trigger function
-- that keeps every table's updated_at.
-- depends:

CREATE FUNCTION vaultstore_touch_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;

CREATE TABLE agents (
    id text PRIMARY KEY,
    name text NOT NULL,
    credibility_score integer NOT NULL,
    -- Kept by the database from the score; CredibilityTier.for_score() in Python agrees.
    credibility_tier text GENERATED ALWAYS AS (
        CASE
            WHEN credibility_score >= 800 THEN 'excellent'
            WHEN credibility_score >= 600 THEN 'good'
            WHEN credibility_score >= 400 THEN 'fair'
            ELSE 'poor'
        END
    ) STORED,
    created_at timestamptz (3) NOT NULL DEFAULT now(),
    updated_at timestamptz (3) NOT NULL DEFAULT now(),
    CONSTRAINT agents_name_key UNIQUE (name),
    CONSTRAINT agents_name_check CHECK (length(name) BETWEEN 1 AND 200),
    CONSTRAINT agents_credibility_score_check CHECK (credibility_score BETWEEN 0 AND 1000)
);

-- find_by_tier
CREATE INDEX agents_credibility_tier_id_idx ON agents (credibility_tier, id);

CREATE TRIGGER agents_touch_updated_at BEFORE UPDATE ON agents
FOR EACH ROW EXECUTE FUNCTION vaultstore_touch_updated_at();
