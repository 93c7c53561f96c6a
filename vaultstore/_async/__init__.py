"""Async sources: the sync twins in ``vaultstore/_sync`` are generated from these
modules by ``tools/generate_sync.py``. Edit here, then run it."""
