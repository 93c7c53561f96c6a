-- Risk alerts raised on vaults. An alert is open until resolved; acknowledging it
-- records who saw it without closing it.
-- depends: 0002.credit-vaults

CREATE TABLE risk_alerts (
    id text PRIMARY KEY,
    vault_id text NOT NULL,
    alert_type text NOT NULL,
    severity text NOT NULL,
    message text NOT NULL,
    status text NOT NULL DEFAULT 'open',
    acknowledged_at timestamptz (3),
    resolved_at timestamptz (3),
    created_at timestamptz (3) NOT NULL DEFAULT now(),
    updated_at timestamptz (3) NOT NULL DEFAULT now(),
    CONSTRAINT risk_alerts_vault_id_fkey FOREIGN KEY (vault_id)
    REFERENCES credit_vaults (id) ON DELETE CASCADE,
    CONSTRAINT risk_alerts_alert_type_check CHECK (
        alert_type IN (
            'ltv_warning', 'ltv_critical', 'health_factor_low',
            'liquidation_risk', 'price_drop', 'protection_triggered'
        )
    ),
    CONSTRAINT risk_alerts_severity_check CHECK (
        severity IN ('low', 'medium', 'high', 'critical')
    ),
    CONSTRAINT risk_alerts_message_check CHECK (length(message) BETWEEN 1 AND 2000),
    CONSTRAINT risk_alerts_status_check CHECK (
        status IN ('open', 'acknowledged', 'resolved')
    ),
    CONSTRAINT risk_alerts_resolved_at_check CHECK (
        (status = 'resolved') = (resolved_at IS NOT NULL)
    ),
    CONSTRAINT risk_alerts_acknowledged_at_check CHECK (
        status != 'acknowledged' OR acknowledged_at IS NOT NULL
    )
);

-- find_by_vault, and the foreign key from credit_vaults
CREATE INDEX risk_alerts_vault_id_id_idx ON risk_alerts (vault_id, id);
-- find_open_by_vault: only unresolved alerts are indexed
CREATE INDEX risk_alerts_open_vault_id_id_idx ON risk_alerts (vault_id, id)
WHERE status != 'resolved';
-- find_open_by_severity
CREATE INDEX risk_alerts_open_severity_id_idx ON risk_alerts (severity, id)
WHERE status != 'resolved';

CREATE TRIGGER risk_alerts_touch_updated_at BEFORE UPDATE ON risk_alerts
FOR EACH ROW EXECUTE FUNCTION vaultstore_touch_updated_at();
