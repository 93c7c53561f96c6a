"""The layers of the package, read from its import graph: the runtime never imports
the tooling (``vaultstore.admin``), and nothing reaches into the generated sync code
(``vaultstore/_sync``) but the public entry points."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "vaultstore"
TOOLING = "vaultstore.admin"
ENTRY_POINTS = {"vaultstore/__init__.py"}  # re-exports the sync API: vaultstore.connect


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path) -> Iterator[tuple[str, ast.AST, bool]]:
    """(absolute module, node, whether inside a function) of every import in ``path``."""
    tree = ast.parse(path.read_text(), str(path))
    package = module_name(path)
    if path.name != "__init__.py":
        package = package.rpartition(".")[0]
    functions = {
        id(node)
        for func in ast.walk(tree)
        if isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef)
        for node in ast.walk(func)
    }
    typing_only = {  # under `if TYPE_CHECKING:`, which never runs
        id(node)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and ast.unparse(block.test) == "TYPE_CHECKING"
        for statement in block.body
        for node in ast.walk(statement)
    }
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        inside = id(node) in functions
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node, inside
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            yield base, node, inside
            for alias in node.names:  # from . import admin
                yield f"{base}.{alias.name}", node, inside


def runtime_modules() -> list[Path]:
    return sorted(
        path
        for path in PACKAGE.rglob("*.py")
        if "admin" not in path.relative_to(PACKAGE).parts and path.name != "__main__.py"
    )


def is_tooling(module: str) -> bool:
    return module == TOOLING or module.startswith(TOOLING + ".")


@pytest.mark.parametrize("path", runtime_modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_a_runtime_module_imports_no_tooling(path: Path) -> None:
    found = [
        (module, getattr(node, "lineno", 0))
        for module, node, inside in imported(path)
        if is_tooling(module) and not (path.name == "__init__.py" and inside)
    ]
    assert found == []


def test_the_package_reaches_the_tooling_only_lazily_for_the_migration_functions() -> None:
    lazy = {
        module
        for module, _, inside in imported(PACKAGE / "__init__.py")
        if is_tooling(module) and inside
    }
    assert lazy == {TOOLING}


@pytest.mark.parametrize(
    "path",
    sorted(p for p in PACKAGE.rglob("*.py") if "_sync" not in p.relative_to(PACKAGE).parts),
    ids=lambda p: str(p.relative_to(PACKAGE)),
)
def test_only_the_entry_points_import_the_generated_sync_code(path: Path) -> None:
    label = path.relative_to(PACKAGE.parent).as_posix()
    reached = [
        (module, getattr(node, "lineno", 0))
        for module, node, _ in imported(path)
        if module.startswith("vaultstore._sync")
    ]
    assert reached == [] or label in ENTRY_POINTS


def test_using_a_store_loads_none_of_the_tooling(clean_db: str, clean_mongo: str) -> None:
    """The dynamic twin of the static checks: a process that opens stores on both
    backends and reads and writes never loads vaultstore.admin, nor yoyo."""
    program = f"""
import sys, asyncio
import vaultstore, vaultstore.aio
for url in ({clean_db!r}, {clean_mongo!r}):
    with vaultstore.connect(url) as store:
        agent = store.agents.create(name="layers", credibility_score=1)
        store.agents.delete(agent.id)
    async def run(url=url):
        async with await vaultstore.aio.connect(url) as store:
            await store.vaults.find_by_id("nope")
    asyncio.run(run())
loaded = sorted(m for m in sys.modules if m.startswith(("vaultstore.admin", "yoyo")))
print(",".join(loaded))
"""
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True, timeout=120
    )
    assert result.stdout.strip() == ""


def test_the_migration_functions_stay_public_names_of_the_package() -> None:
    import vaultstore  # noqa: PLC0415 - the lazy attributes are what is tested
    import vaultstore.admin  # noqa: PLC0415

    assert vaultstore.apply_migrations is vaultstore.admin.apply_migrations
    with pytest.raises(AttributeError):
        vaultstore.no_such_name  # noqa: B018
