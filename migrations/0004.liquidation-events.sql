-- Liquidation events: what was seized and repaid when a vault was liquidated on chain.
-- A vault with liquidation history cannot be deleted (ON DELETE RESTRICT).
-- depends: 0002.credit-vaults

CREATE TABLE liquidation_events (
    id text PRIMARY KEY,
    vault_id text NOT NULL,
    chain_id integer NOT NULL,
    collateral_seized_token text NOT NULL,
    collateral_seized_amount numeric NOT NULL,
    collateral_seized_value_usd numeric NOT NULL,
    debt_repaid_token text NOT NULL,
    debt_repaid_amount numeric NOT NULL,
    debt_repaid_value_usd numeric NOT NULL,
    penalty_usd numeric NOT NULL DEFAULT 0,
    ltv numeric NOT NULL,
    health_factor numeric NOT NULL,
    liquidator text NOT NULL,
    tx_hash text NOT NULL,
    occurred_at timestamptz (3) NOT NULL,
    created_at timestamptz (3) NOT NULL DEFAULT now(),
    updated_at timestamptz (3) NOT NULL DEFAULT now(),
    CONSTRAINT liquidation_events_vault_id_fkey FOREIGN KEY (vault_id)
    REFERENCES credit_vaults (id) ON DELETE RESTRICT,
    -- one transaction may liquidate several vaults, each once
    CONSTRAINT liquidation_events_tx_hash_key UNIQUE (chain_id, tx_hash, vault_id),
    CONSTRAINT liquidation_events_chain_id_check CHECK (chain_id > 0),
    CONSTRAINT liquidation_events_collateral_seized_token_check CHECK (
        length(collateral_seized_token) BETWEEN 1 AND 64
    ),
    CONSTRAINT liquidation_events_collateral_seized_amount_check CHECK (
        collateral_seized_amount >= 0
    ),
    CONSTRAINT liquidation_events_collateral_seized_value_usd_check CHECK (
        collateral_seized_value_usd >= 0
    ),
    CONSTRAINT liquidation_events_debt_repaid_token_check CHECK (
        length(debt_repaid_token) BETWEEN 1 AND 64
    ),
    CONSTRAINT liquidation_events_debt_repaid_amount_check CHECK (debt_repaid_amount >= 0),
    CONSTRAINT liquidation_events_debt_repaid_value_usd_check CHECK (
        debt_repaid_value_usd >= 0
    ),
    CONSTRAINT liquidation_events_penalty_usd_check CHECK (penalty_usd >= 0),
    CONSTRAINT liquidation_events_ltv_check CHECK (ltv >= 0),
    CONSTRAINT liquidation_events_health_factor_check CHECK (health_factor >= 0),
    CONSTRAINT liquidation_events_liquidator_check CHECK (
        length(liquidator) BETWEEN 1 AND 128
    ),
    CONSTRAINT liquidation_events_tx_hash_check CHECK (length(tx_hash) BETWEEN 1 AND 128)
);

-- find_by_vault: a vault's events over a time range, and the foreign key
CREATE INDEX liquidation_events_vault_id_occurred_at_id_idx
ON liquidation_events (vault_id, occurred_at, id);
-- find_between: every event over a time range
CREATE INDEX liquidation_events_occurred_at_id_idx ON liquidation_events (occurred_at, id);

CREATE TRIGGER liquidation_events_touch_updated_at BEFORE UPDATE ON liquidation_events
FOR EACH ROW EXECUTE FUNCTION vaultstore_touch_updated_at();
