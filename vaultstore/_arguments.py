"""Arguments checked before any I/O, the same for every backend: ids, enum
values, and batches of new entities."""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from enum import Enum
from typing import Any, TypeVar

from . import _values
from ._convert import EntityConverter
from .errors import ValidationError

T = TypeVar("T")


def check_id(value: object, name: str = "id") -> str:
    """An id (or another key given as text), or ValidationError naming ``name``."""
    if not isinstance(value, str):
        raise ValidationError(f"expected a str, got {type(value).__name__}", field=name)
    if problem := _values.text_problem(value):
        raise ValidationError(problem, field=name)
    return value


def check_version(value: object) -> int | None:
    """An ``expected_version=``: None (any version) or an int >= 1."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValidationError(
            f"expected an int >= 1 or None, got {_values.shown(value)}", field="expected_version"
        )
    return value


def check_timeout(value: object) -> float | None:
    """A ``timeout=``: None (the store's operation timeout) or seconds > 0."""
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise ValidationError(
            f"expected a positive number of seconds or None, got {_values.shown(value)}",
            field="timeout",
        )
    return float(value)


def enum_value(enum: type[Enum], value: object, name: str) -> Any:
    """The stored value of an enum argument given as a member or a value."""
    member = _values.enum_member(enum, value)
    if isinstance(member, _values.Invalid):
        raise ValidationError(member.reason, field=name)
    return member.value


def with_recorded_at(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Market data fields, ``recorded_at`` defaulting to now."""
    return {"recorded_at": _values.utc_now(), **fields}


def entity_batches(
    converter: EntityConverter,
    cls: type[T],
    records: object,
    settable: frozenset[str],
    batch_size: int,
    *,
    id_prefix: str = "",
    defaults: Any = dict,
) -> Iterator[list[T]]:
    """:func:`new_entities` a batch at a time: ``records`` (any iterable, read as
    it goes) as lists of at most ``batch_size`` entities, each record built and
    validated before its batch is given out; the error names the record by its
    place in the whole (``records[12345].price_usd``)."""
    if isinstance(records, Mapping | str | bytes) or not isinstance(records, Iterable):
        raise ValidationError(
            f"expected an iterable of records, got {type(records).__name__}", field="records"
        )
    batch: list[T] = []
    for i, fields in enumerate(records):
        if not isinstance(fields, Mapping):
            raise ValidationError(
                f"expected a record (dict), got {type(fields).__name__}", field=f"records[{i}]"
            )
        try:
            batch.append(converter.new(cls, defaults(fields), settable, id_prefix))
        except ValidationError as exc:
            raise ValidationError(exc.message, field=f"records[{i}].{exc.field}") from exc
        if len(batch) == batch_size:
            yield batch
            batch = []
    if batch:
        yield batch


def new_entities(
    converter: EntityConverter,
    cls: type[T],
    records: object,
    settable: frozenset[str],
    *,
    id_prefix: str = "",
    defaults: Any = dict,
) -> list[T]:
    """Every record of a batch built and validated, before any is sent; the error
    names the record (``records[3].price_usd``). ``defaults(record)`` fills in
    what the caller may leave out."""
    if isinstance(records, Mapping | str | bytes) or not isinstance(records, Iterable):
        raise ValidationError(
            f"expected a list of records, got {type(records).__name__}", field="records"
        )
    entities = []
    for i, fields in enumerate(records):
        if not isinstance(fields, Mapping):
            raise ValidationError(
                f"expected a record (dict), got {type(fields).__name__}", field=f"records[{i}]"
            )
        try:
            entities.append(converter.new(cls, defaults(fields), settable, id_prefix))
        except ValidationError as exc:
            raise ValidationError(exc.message, field=f"records[{i}].{exc.field}") from exc
    return entities


def check_batch_size(value: object) -> int:
    """A ``batch_size=``: an int >= 1."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValidationError(
            f"expected an int >= 1, got {_values.shown(value)}", field="batch_size"
        )
    return value


_METRICS = ("id", "ltv", "health_factor")


def metric_batches(
    converter: EntityConverter,
    cls: type,
    updates: object,
    allowed: frozenset[str],
    batch_size: int,
) -> Iterator[tuple[list[str], list[Any], list[Any]]]:
    """``updates`` (``(id, ltv, health_factor)`` tuples or dicts, any iterable,
    read as it goes) as batches of three arrays, each item validated before its
    batch is given out; the error names the item (``updates[7].ltv``). An id
    given twice is refused: which of the two would win is not obvious."""
    if isinstance(updates, Mapping | str | bytes) or not isinstance(updates, Iterable):
        raise ValidationError(
            f"expected an iterable of (id, ltv, health_factor), got {type(updates).__name__}",
            field="updates",
        )
    seen: dict[str, int] = {}
    ids: list[str] = []
    ltvs: list[Any] = []
    factors: list[Any] = []
    for i, item in enumerate(updates):
        where = f"updates[{i}]"
        if isinstance(item, Mapping):
            if set(item) != set(_METRICS):
                raise ValidationError(
                    f"expected the keys id, ltv and health_factor, got {sorted(map(str, item))}",
                    field=where,
                )
            values = (item["id"], item["ltv"], item["health_factor"])
        elif isinstance(item, tuple | list) and len(item) == len(_METRICS):
            values = tuple(item)
        else:
            raise ValidationError(
                f"expected (id, ltv, health_factor), got {_values.shown(item)}", field=where
            )
        id = check_id(values[0], f"{where}.id")
        if id in seen:
            raise ValidationError(f"{id} was given already, as updates[{seen[id]}]", field=where)
        seen[id] = i
        try:
            checked = converter.check_changes(
                cls, {"ltv": values[1], "health_factor": values[2]}, allowed
            )
        except ValidationError as exc:
            raise ValidationError(exc.message, field=f"{where}.{exc.field}") from exc
        ids.append(id)
        ltvs.append(checked["ltv"])
        factors.append(checked["health_factor"])
        if len(ids) == batch_size:
            yield ids, ltvs, factors
            ids, ltvs, factors = [], [], []
    if ids:
        yield ids, ltvs, factors


def containment(value: object, name: str) -> dict[str, Any]:
    """A JSON object to match with jsonb ``@>``: arrays directly inside arrays are
    refused, since MongoDB cannot match them as PostgreSQL does."""
    document = _values.json_object(value, name)

    def check(node: Any, inside_array: bool) -> None:
        if isinstance(node, list):
            if inside_array:
                raise ValidationError(
                    "an array inside an array cannot be matched alike on every backend",
                    field=name,
                )
            for item in node:
                check(item, True)
        elif isinstance(node, dict):
            for item in node.values():
                check(item, False)

    check(document, False)
    return document
