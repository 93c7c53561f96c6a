# Generated from vaultstore/_async/__init__.py by tools/generate_sync.py: do not edit.
"""Async sources: the sync twins in ``vaultstore/_sync`` are generated from these
modules by ``tools/generate_sync.py``. Edit here, then run it."""
