"""Record the SHA-256 of every applied migration, for drift detection.

yoyo knows a migration by its file name only, so an applied migration edited
afterwards would go unnoticed. yoyo runs this post-apply migration after every
`yoyo apply` or `vaultstore migrate` that applied something (its name, starting
with "post-apply", is what makes it one). It stores, in
vaultstore_migration_checksums (migration 0009), the SHA-256 of each applied
migration's file and of its rollback file, read from this folder, and
`vaultstore check` compares them with the files later.

A checksum is taken when yoyo applies the migration and kept until yoyo applies it
again (after a rollback): editing an applied file changes nothing here, so the
edit shows up as drift instead of being recorded as the new truth.

It uses yoyo's connection (psycopg 3 or psycopg2) and needs nothing but the
standard library, so the `yoyo` command line runs it without vaultstore installed.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from yoyo import step

HERE = Path(__file__).resolve().parent

# Nothing to record into until migration 0009 has created the table.
TABLE_EXISTS = "SELECT to_regclass('vaultstore_migration_checksums') IS NOT NULL"

# Forget the checksums of migrations rolled back since the last apply.
FORGET_ROLLED_BACK = """
DELETE FROM vaultstore_migration_checksums AS c
WHERE NOT EXISTS (SELECT FROM _yoyo_migration AS m WHERE m.migration_id = c.migration_id)
"""

APPLIED = "SELECT migration_id FROM _yoyo_migration"

# Record a migration's checksums unless they were recorded for this very
# application (same applied_at): a migration applied again gets new checksums.
RECORD = """
INSERT INTO vaultstore_migration_checksums (migration_id, sha256, rollback_sha256, applied_at)
SELECT m.migration_id, %s, %s, m.applied_at_utc AT TIME ZONE 'UTC'
FROM _yoyo_migration AS m
WHERE m.migration_id = %s
ON CONFLICT (migration_id) DO UPDATE
SET
    sha256 = excluded.sha256,
    rollback_sha256 = excluded.rollback_sha256,
    applied_at = excluded.applied_at,
    recorded_at = now()
WHERE vaultstore_migration_checksums.applied_at IS DISTINCT FROM excluded.applied_at
"""


def sha256(path: Path) -> str | None:
    """The SHA-256 of a file's bytes, or None when there is no such file."""
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None


def record_checksums(conn: Any) -> None:
    cursor = conn.cursor()
    cursor.execute(TABLE_EXISTS)
    if not cursor.fetchone()[0]:
        return
    cursor.execute(FORGET_ROLLED_BACK)
    cursor.execute(APPLIED)
    for (migration_id,) in cursor.fetchall():
        forward = sha256(HERE / f"{migration_id}.sql") or sha256(HERE / f"{migration_id}.py")
        if forward is None:
            continue  # not in this folder: `vaultstore check` reports it
        rollback = sha256(HERE / f"{migration_id}.rollback.sql")
        cursor.execute(RECORD, (forward, rollback, migration_id))


step(record_checksums)
