"""Arguments checked before any I/O, the same for every backend: ids, enum
values, and batches of new entities."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
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
