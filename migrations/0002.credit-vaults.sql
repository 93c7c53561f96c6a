-- Credit vaults: an agent's collateral and debt on one chain, with its risk metrics
-- (LTV and max LTV in percent, health factor) and liquidation protection settings.
-- depends: 0001.agents

CREATE TABLE credit_vaults (
    id text PRIMARY KEY,
    agent_id text NOT NULL,
    chain_id integer NOT NULL,
    collateral_token text NOT NULL,
    collateral_amount numeric NOT NULL,
    collateral_value_usd numeric NOT NULL,
    debt_token text NOT NULL,
    debt_amount numeric NOT NULL,
    debt_value_usd numeric NOT NULL,
    ltv numeric NOT NULL,
    health_factor numeric NOT NULL,
    max_ltv numeric NOT NULL,
    liquidation_protection_enabled boolean NOT NULL DEFAULT false,
    liquidation_protection_threshold numeric NOT NULL,
    liquidation_protection_cooldown integer NOT NULL DEFAULT 3600,
    status text NOT NULL DEFAULT 'active',
    created_at timestamptz (3) NOT NULL DEFAULT now(),
    updated_at timestamptz (3) NOT NULL DEFAULT now(),
    CONSTRAINT credit_vaults_agent_id_fkey FOREIGN KEY (agent_id)
    REFERENCES agents (id) ON DELETE RESTRICT,
    CONSTRAINT credit_vaults_chain_id_check CHECK (chain_id > 0),
    CONSTRAINT credit_vaults_collateral_token_check CHECK (
        length(collateral_token) BETWEEN 1 AND 64
    ),
    CONSTRAINT credit_vaults_collateral_amount_check CHECK (collateral_amount >= 0),
    CONSTRAINT credit_vaults_collateral_value_usd_check CHECK (collateral_value_usd >= 0),
    CONSTRAINT credit_vaults_debt_token_check CHECK (length(debt_token) BETWEEN 1 AND 64),
    CONSTRAINT credit_vaults_debt_amount_check CHECK (debt_amount >= 0),
    CONSTRAINT credit_vaults_debt_value_usd_check CHECK (debt_value_usd >= 0),
    -- LTV may pass 100 when a vault is under water; max LTV may not.
    CONSTRAINT credit_vaults_ltv_check CHECK (ltv >= 0),
    CONSTRAINT credit_vaults_health_factor_check CHECK (health_factor >= 0),
    CONSTRAINT credit_vaults_max_ltv_check CHECK (max_ltv > 0 AND max_ltv <= 100),
    CONSTRAINT credit_vaults_liquidation_protection_threshold_check CHECK (
        liquidation_protection_threshold > 0
        AND liquidation_protection_threshold <= max_ltv
    ),
    CONSTRAINT credit_vaults_liquidation_protection_cooldown_check CHECK (
        liquidation_protection_cooldown >= 0
    ),
    CONSTRAINT credit_vaults_status_check CHECK (
        status IN ('active', 'at_risk', 'liquidating', 'liquidated', 'closed')
    )
);

-- find_by_agent_id, and the foreign key from agents
CREATE INDEX credit_vaults_agent_id_id_idx ON credit_vaults (agent_id, id);
-- find_by_chain_id
CREATE INDEX credit_vaults_chain_id_id_idx ON credit_vaults (chain_id, id);
-- find_high_risk_vaults: LTV at or above a threshold, riskiest first
CREATE INDEX credit_vaults_ltv_id_idx ON credit_vaults (ltv, id);

CREATE TRIGGER credit_vaults_touch_updated_at BEFORE UPDATE ON credit_vaults
FOR EACH ROW EXECUTE FUNCTION vaultstore_touch_updated_at();
