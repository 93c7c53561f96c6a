-- Drift detection: yoyo knows a migration by its file name only, so an applied
-- migration edited afterwards would go unnoticed. migrations/post-apply.py records
-- here the SHA-256 of each applied migration's file (and of its rollback file),
-- after every `vaultstore migrate` or `yoyo apply`, and `vaultstore check` compares
-- them with the files.
-- depends:

CREATE TABLE vaultstore_migration_checksums (
    -- yoyo's migration id: the file name without .sql
    migration_id text PRIMARY KEY,
    -- of <migration_id>.sql, as bytes
    sha256 text NOT NULL,
    -- of <migration_id>.rollback.sql, or null when there was none
    rollback_sha256 text,
    -- when yoyo applied it (_yoyo_migration.applied_at_utc): a migration rolled
    -- back and applied again gets a new checksum, an edited one does not
    applied_at timestamptz NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT vaultstore_migration_checksums_sha256_check CHECK (
        sha256 ~ '^[0-9a-f]{64}$'
    ),
    CONSTRAINT vaultstore_migration_checksums_rollback_sha256_check CHECK (
        rollback_sha256 ~ '^[0-9a-f]{64}$'
    )
);
