"""The README's "Adding an entity", followed (async source of
tests/_sync/test_adding_an_entity.py): a throwaway entity, Widget, declared in a
test-only registry with exactly the files the recipe names (an attrs class and its
TypedDicts, a registry line, ``widgets.sql``, ``widgets.mongodb.json``, a migration
and its rollback: tests/sql/recipe/), then created, found, listed, changed and
deleted on both backends through the repository the store derives for it."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import AsyncIterator, Generator
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TypedDict
from urllib.parse import urlsplit

import attrs
import pytest

import vaultstore
from vaultstore import _values as v
from vaultstore._async.connect import connect
from vaultstore._async.contracts import AsyncStore
from vaultstore.errors import NotFoundError, ValidationError

from ..databases import fresh_database

ROOT = Path(__file__).resolve().parent.parent.parent
RECIPE = ROOT / "tests" / "sql" / "recipe"


# 1. The entity (vaultstore/_entities.py)
@attrs.frozen(kw_only=True)
class Widget:
    id: str = attrs.field(converter=v.to_str, validator=v.text(64))
    name: str = attrs.field(converter=v.to_str, validator=v.text(200))
    weight: Decimal = attrs.field(converter=v.to_decimal, validator=v.between(0))
    created_at: datetime = attrs.field(converter=v.to_utc, validator=v.valid)
    updated_at: datetime = attrs.field(converter=v.to_utc, validator=v.valid)
    version: int = attrs.field(default=1, converter=v.to_int, validator=v.between(1))


class NewWidget(TypedDict):
    name: str
    weight: vaultstore.Number


class WidgetChanges(TypedDict, total=False):
    name: str
    weight: vaultstore.Number


# 2. The registry line (vaultstore/_registry.py)
WIDGETS = vaultstore.EntityType(
    name="widgets",
    cls=Widget,
    table="widgets",
    new=NewWidget,
    changes=WidgetChanges,
    id_prefix="wdg_",
)


@pytest.fixture(scope="module")
def recipe_folders(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """queries/ and migrations/ as a checkout would hold them after the recipe:
    3. widgets.sql, 4. widgets.mongodb.json, 5. the migration, 6. its rollback."""
    root = tmp_path_factory.mktemp("recipe")
    queries = root / "queries"
    migrations = root / "migrations"
    shutil.copytree(ROOT / "queries", queries)
    shutil.copytree(ROOT / "migrations", migrations)
    for name in ("widgets.sql", "widgets.mongodb.json"):
        shutil.copy(RECIPE / name, queries / name)
    for name in ("0012.widgets.sql", "0012.widgets.rollback.sql"):
        shutil.copy(RECIPE / name, migrations / name)
    return queries, migrations


@pytest.fixture(scope="module")
def registry(recipe_folders: tuple[Path, Path]) -> vaultstore.Registry:
    return vaultstore.Registry((*vaultstore.REGISTRY.entities, WIDGETS), queries=recipe_folders[0])


@pytest.fixture(scope="module")
def widget_postgres(
    postgres_url: str, recipe_folders: tuple[Path, Path]
) -> Generator[str, None, None]:
    with fresh_database(postgres_url) as url:
        vaultstore.apply_migrations(url, folder=recipe_folders[1])
        yield url


@pytest.fixture(scope="module")
def widget_mongo(mongo_uri: str) -> str:
    """A database of its own; MongoDB makes the collection on the first insert."""
    return urlsplit(mongo_uri)._replace(path=f"/widgets_{uuid.uuid4().hex[:8]}").geturl()


@pytest.fixture(params=["postgresql", "mongodb"])
async def widgets(
    request: pytest.FixtureRequest, registry: vaultstore.Registry
) -> AsyncIterator[tuple[AsyncStore, Any]]:
    backend = "postgres" if request.param == "postgresql" else "mongo"
    url = request.getfixturevalue(f"widget_{backend}")
    async with await connect(url, registry=registry) as store:
        yield store, store.repository("widgets")


async def test_a_new_entity_is_created_found_and_listed(
    widgets: tuple[AsyncStore, Any],
) -> None:
    _, repository = widgets
    first = await repository.create(name="sprocket", weight="1.50")
    second = await repository.create(name="gear", weight=2)
    assert isinstance(first, Widget)
    assert first.id.startswith("wdg_")
    assert first.weight == Decimal("1.50")
    assert await repository.find_by_id(first.id) == first
    page = await repository.list(limit=1, after=None)
    rest = await repository.list(limit=100, after=page.next_cursor)
    listed = [*page, *rest]
    assert [w.id for w in listed if w.id in {first.id, second.id}] == [first.id, second.id]


async def test_a_new_entity_is_changed_and_deleted(widgets: tuple[AsyncStore, Any]) -> None:
    _, repository = widgets
    widget = await repository.create(name="cog", weight=3)
    changed = await repository.update(widget.id, weight="3.25", expected_version=1)
    assert (changed.name, changed.weight, changed.version) == ("cog", Decimal("3.25"), 2)
    assert await repository.find_by_id(widget.id) == changed
    await repository.delete(widget.id)
    assert await repository.find_by_id(widget.id) is None
    with pytest.raises(NotFoundError):
        await repository.delete(widget.id)


async def test_a_new_entity_is_validated_before_any_io(widgets: tuple[AsyncStore, Any]) -> None:
    _, repository = widgets
    with pytest.raises(ValidationError) as info:
        await repository.create(name="bad", weight=-1)
    assert info.value.field == "weight"
    with pytest.raises(ValidationError) as unknown:
        await repository.create(name="bad", weight=1, colour="red")
    assert unknown.value.field == "colour"


async def test_a_new_entity_runs_through_the_pipeline(widgets: tuple[AsyncStore, Any]) -> None:
    store, repository = widgets
    widget = await repository.create(name="axle", weight=4)
    await repository.find_by_id(widget.id)
    stats = store.statement_stats()
    assert (stats["widgets.insert"].calls, stats["widgets.find_by_id"].calls) == (1, 1)
