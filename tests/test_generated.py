"""The sync API and its tests are generated from the async sources; this fails when
someone edited one side only."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

TOOL = Path(__file__).resolve().parent.parent / "tools" / "generate_sync.py"


def test_sync_code_is_generated_from_the_async_source() -> None:
    spec = importlib.util.spec_from_file_location("generate_sync", TOOL)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["generate_sync"] = module
    spec.loader.exec_module(module)
    problems = module.stale_files()
    assert problems == [], "run python tools/generate_sync.py:\n" + "\n".join(problems)
