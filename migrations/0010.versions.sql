-- Optimistic concurrency: every entity row carries a version, 1 when stored and
-- one more on every write; a write may require the version it read
-- (expected_version), so that a concurrent change is refused, not lost.
-- depends: 0009.migration-checksums

ALTER TABLE agents
ADD COLUMN version integer NOT NULL DEFAULT 1,
ADD CONSTRAINT agents_version_check CHECK (version >= 1);

ALTER TABLE credit_vaults
ADD COLUMN version integer NOT NULL DEFAULT 1,
ADD CONSTRAINT credit_vaults_version_check CHECK (version >= 1);

ALTER TABLE risk_alerts
ADD COLUMN version integer NOT NULL DEFAULT 1,
ADD CONSTRAINT risk_alerts_version_check CHECK (version >= 1);

ALTER TABLE liquidation_events
ADD COLUMN version integer NOT NULL DEFAULT 1,
ADD CONSTRAINT liquidation_events_version_check CHECK (version >= 1);

ALTER TABLE protection_rules
ADD COLUMN version integer NOT NULL DEFAULT 1,
ADD CONSTRAINT protection_rules_version_check CHECK (version >= 1);

ALTER TABLE market_data
ADD COLUMN version integer NOT NULL DEFAULT 1,
ADD CONSTRAINT market_data_version_check CHECK (version >= 1);
