-- Stop recording migration checksums.

DROP TABLE vaultstore_migration_checksums;
