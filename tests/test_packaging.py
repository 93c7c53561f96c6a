"""The built wheel: it carries the SQL, the type marker and the generated sync code,
and once installed in a fresh virtual environment it migrates a database and runs the
README's usage example from outside the source tree."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest

import vaultstore

from .databases import fresh_database

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
# Every forward migration in migrations/, in the order yoyo applies them.
MIGRATION_IDS = sorted(
    p.name.removesuffix(".sql")
    for p in (Path(__file__).resolve().parent.parent / "migrations").glob("*.sql")
    if not p.name.endswith(".rollback.sql")
)
# Variables that would let the fresh environment see the source tree or a database
# other than the one a test names.
HIDDEN_VARIABLES = (
    "PYTHONPATH",
    "PYTHONHOME",
    "PYTHONSTARTUP",
    "VIRTUAL_ENV",
    "DATABASE_URL",
    "DATABASE_TYPE",
    "MONGO_URI",
    "VAULTSTORE_CACHE_URL",  # the wheel is installed without the redis extra
)


def run(
    args: list[str | Path], *, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a command to completion; fail the test with its output unless it succeeds."""
    result = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, f"{args} failed:\n{result.stdout}\n{result.stderr}"
    return result


def outside_env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in HIDDEN_VARIABLES and not k.startswith("POSTGRES_")
    }
    return env | extra


def readme_usage_example() -> str:
    """The first Python block of the README's Usage section, as a user would copy it."""
    usage = (REPO / "README.md").read_text().split("\n## Usage\n", 1)[1]
    match = re.search(r"```python\n(.*?)```", usage, re.DOTALL)
    assert match is not None
    return match.group(1)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--wheel-dir", out, REPO])
    (built,) = out.glob("vaultstore-*.whl")
    return built


@pytest.fixture(scope="module")
def wheel_names(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory, wheel: Path) -> Path:
    """A fresh virtual environment holding the wheel, its dependencies and psycopg[binary]."""
    root = tmp_path_factory.mktemp("venv")
    run([sys.executable, "-m", "venv", root])
    python = root / "bin" / "python"
    run([python, "-m", "pip", "install", "-q", f"{wheel}[binary]"], env=outside_env())
    return root


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A working directory away from the source tree."""
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    return folder


@pytest.fixture
def database(postgres_url: str) -> Iterator[str]:
    with fresh_database(postgres_url) as url:
        yield url


def test_wheel_carries_every_query_file(wheel_names: set[str]) -> None:
    expected = {f"vaultstore/queries/{p.name}" for p in (REPO / "queries").iterdir()}
    assert "vaultstore/queries/vaults.sql" in expected
    assert "vaultstore/queries/vaults.mongodb.json" in expected
    assert {n for n in wheel_names if n.startswith("vaultstore/queries/")} == expected


def test_wheel_carries_every_migration_and_rollback(wheel_names: set[str]) -> None:
    folder = REPO / "migrations"
    expected = {
        f"vaultstore/migrations/{p.relative_to(folder).as_posix()}"
        for p in folder.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts  # yoyo imports post-apply.py
    }
    assert len([name for name in expected if name.endswith(".sql")]) == 2 * len(MIGRATION_IDS)
    assert "vaultstore/migrations/mongodb/0001.collections.json" in expected
    assert "vaultstore/migrations/post-apply.py" in expected
    assert {n for n in wheel_names if n.startswith("vaultstore/migrations/")} == expected


def test_wheel_sql_files_are_copies_of_the_source_tree(wheel: Path, wheel_names: set[str]) -> None:
    with zipfile.ZipFile(wheel) as archive:
        for name in sorted(n for n in wheel_names if n.endswith(".sql")):
            # queries/ and migrations/ are copied into the package; vaultstore/admin/sql/ is in it.
            in_package = name.startswith("vaultstore/admin/sql/")
            source = REPO / (name if in_package else name.removeprefix("vaultstore/"))
            assert archive.read(name) == source.read_bytes(), name


def test_wheel_carries_the_catalog_queries_of_schema_dumps_and_drift_checks(
    wheel_names: set[str],
) -> None:
    expected = {
        f"vaultstore/admin/sql/{p.name}"
        for p in (REPO / "vaultstore" / "admin" / "sql").glob("*.sql")
    }
    assert {"vaultstore/admin/sql/schema.sql", "vaultstore/admin/sql/drift.sql"} <= expected
    assert {n for n in wheel_names if n.startswith("vaultstore/admin/sql/")} == expected


def test_wheel_carries_the_py_typed_marker(wheel_names: set[str]) -> None:
    assert "vaultstore/py.typed" in wheel_names


def test_wheel_carries_the_sync_twins_of_the_async_modules(wheel_names: set[str]) -> None:
    expected = {f"vaultstore/_sync/{p.name}" for p in (REPO / "vaultstore" / "_sync").glob("*.py")}
    assert "vaultstore/_sync/postgres.py" in expected
    assert {n for n in wheel_names if n.startswith("vaultstore/_sync/")} == expected


def test_installed_package_reads_its_sql_from_the_package(venv: Path, outside: Path) -> None:
    code = "from vaultstore import _resources as r; print(r.queries_dir(), r.migrations_dir())"
    result = run([venv / "bin" / "python", "-c", code], cwd=outside, env=outside_env())
    package = next((venv / "lib").glob("python3*/site-packages/vaultstore")).resolve()
    assert result.stdout.split() == [str(package / "queries"), str(package / "migrations")]


def test_installed_command_migrates_a_fresh_database(
    venv: Path, outside: Path, database: str
) -> None:
    result = run(
        [venv / "bin" / "vaultstore", "migrate", "--database", database],
        cwd=outside,
        env=outside_env(),
    )
    assert result.stdout == f"applied: {', '.join(MIGRATION_IDS)}\n"
    assert vaultstore.applied_migrations(database) == MIGRATION_IDS


def test_readme_usage_example_runs_on_the_installed_package(
    venv: Path, outside: Path, database: str
) -> None:
    vaultstore.apply_migrations(database)
    script = outside / "usage.py"
    script.write_text(readme_usage_example())

    run([venv / "bin" / "python", script], cwd=outside, env=outside_env(DATABASE_URL=database))

    with psycopg.connect(database) as conn:
        rows = conn.execute(
            "SELECT a.name, v.ltv, v.health_factor, v.liquidation_protection_threshold"
            " FROM credit_vaults v JOIN agents a ON a.id = v.agent_id"
        ).fetchall()
    assert rows == [("agent_123", Decimal(55), Decimal("1.8"), Decimal("59.5"))]
