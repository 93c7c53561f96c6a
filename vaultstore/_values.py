"""Value checks shared by every entity: attrs converters and validators that turn
loose input (int, float, str) into the exact types vaultstore stores, or raise
:class:`~vaultstore.errors.ValidationError` naming the field.

They run before any I/O, so a bad value never reaches a database.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Any, TypeVar

import attrs

from .errors import ValidationError

E = TypeVar("E", bound=Enum)

# Decimal128, MongoDB's decimal, holds 34 significant digits and exponents in
# [-6176, 6111]; PostgreSQL's NUMERIC holds more. Values are bounded by the
# narrower of the two so that both backends store exactly what they were given.
DECIMAL_DIGITS = 34
DECIMAL_MIN_EXPONENT = -6176
DECIMAL_MAX_EXPONENT = 6111


def to_decimal(value: object, field: attrs.Attribute[Any]) -> Decimal:
    """An exact Decimal from an int, a float, a str or a Decimal.

    A float becomes the decimal it is written as (``59.5`` gives ``Decimal("59.5")``,
    ``0.1`` gives ``Decimal("0.1")``), not its binary expansion.
    """
    return decimal_value(value, field.name)


def decimal_value(value: object, name: str) -> Decimal:
    """:func:`to_decimal` for a value that is not an attrs field."""
    if isinstance(value, bool):
        raise ValidationError(f"expected a number, got {value!r}", field=name)
    try:
        if isinstance(value, Decimal):
            result = value
        elif isinstance(value, int):
            result = Decimal(value)
        elif isinstance(value, float):
            if not math.isfinite(value):
                raise ValidationError(f"expected a finite number, got {value!r}", field=name)
            result = Decimal(repr(value))
        elif isinstance(value, str):
            result = Decimal(value.strip())
        else:
            raise ValidationError(
                f"expected a number (Decimal, int, float or str), got {type(value).__name__}",
                field=name,
            )
    except InvalidOperation:
        raise ValidationError(f"not a number: {value!r}", field=name) from None
    if not result.is_finite():
        raise ValidationError(f"expected a finite number, got {value!r}", field=name)
    digits, exponent = len(result.as_tuple().digits), result.as_tuple().exponent
    assert isinstance(exponent, int)  # finite, checked above
    if digits > DECIMAL_DIGITS or not (
        DECIMAL_MIN_EXPONENT <= exponent <= DECIMAL_MAX_EXPONENT - digits + 1
    ):
        raise ValidationError(
            f"{value!r} does not fit {DECIMAL_DIGITS} significant digits; "
            "round it before storing it",
            field=name,
        )
    if result == 0:
        result = result.copy_abs()  # -0 is 0
    return result


def to_optional_decimal(value: object, field: attrs.Attribute[Any]) -> Decimal | None:
    return None if value is None else to_decimal(value, field)


def to_int(value: object, field: attrs.Attribute[Any]) -> int:
    """An int, refusing bools and floats (which would lose or invent precision)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"expected an int, got {type(value).__name__}", field=field.name)
    return int(value)


def to_bool(value: object, field: attrs.Attribute[Any]) -> bool:
    if not isinstance(value, bool):
        raise ValidationError(f"expected a bool, got {type(value).__name__}", field=field.name)
    return value


def text(*, max_length: int, min_length: int = 1) -> Callable[[object, attrs.Attribute[Any]], str]:
    """A converter for str fields: a str, of bounded length, without NUL characters
    (which PostgreSQL text cannot hold)."""

    def convert(value: object, field: attrs.Attribute[Any]) -> str:
        if not isinstance(value, str):
            raise ValidationError(f"expected a str, got {type(value).__name__}", field=field.name)
        if not min_length <= len(value) <= max_length:
            raise ValidationError(
                f"length must be between {min_length} and {max_length}, got {len(value)}",
                field=field.name,
            )
        if "\x00" in value:
            raise ValidationError("must not contain NUL characters", field=field.name)
        return value

    return convert


def to_enum(enum: type[E]) -> Callable[[object, attrs.Attribute[Any]], E]:
    """A converter accepting a member of ``enum`` or one of its values."""

    def convert(value: object, field: attrs.Attribute[Any]) -> E:
        if isinstance(value, enum):
            return value
        if not isinstance(value, bool):
            member = enum._value2member_map_.get(value)
            if member is not None:
                return member  # type: ignore[return-value]
        allowed = ", ".join(repr(m.value) for m in enum)
        raise ValidationError(
            f"unknown {enum.__name__} {value!r}; expected one of {allowed}", field=field.name
        )

    return convert


def utc_now() -> datetime:
    """Now, in UTC, cut to the millisecond that both backends keep."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def to_utc(value: object, field: attrs.Attribute[Any]) -> datetime:
    """A timezone-aware datetime, moved to UTC and cut to milliseconds (BSON keeps
    no more, so both backends keep the same)."""
    return utc_value(value, field.name)


def utc_value(value: object, name: str) -> datetime:
    if not isinstance(value, datetime):
        raise ValidationError(f"expected a datetime, got {type(value).__name__}", field=name)
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError("a naive datetime is ambiguous; give it a timezone", field=name)
    value = value.astimezone(UTC)
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def to_optional_utc(value: object, field: attrs.Attribute[Any]) -> datetime | None:
    return None if value is None else to_utc(value, field)


_JSON_SCALARS = (str, int, float, bool, type(None))
_MAX_JSON_DEPTH = 32


def _json_copy(value: object, path: str, depth: int) -> Any:
    if depth > _MAX_JSON_DEPTH:
        raise ValidationError(f"nested deeper than {_MAX_JSON_DEPTH} levels", field=path)
    if isinstance(value, float) and not math.isfinite(value):
        raise ValidationError(f"JSON has no {value!r}", field=path)
    if isinstance(value, str) and "\x00" in value:
        raise ValidationError("must not contain NUL characters", field=path)
    if isinstance(value, _JSON_SCALARS):
        return value
    if isinstance(value, Mapping):
        copy = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValidationError(f"JSON keys are str, got {key!r}", field=path)
            if key.startswith("$") or "." in key or "\x00" in key:
                # MongoDB reserves these in field names; refused on both backends alike.
                raise ValidationError(f"key {key!r} may not start with $ or hold a dot", field=path)
            copy[key] = _json_copy(item, f"{path}.{key}", depth + 1)
        return copy
    if isinstance(value, list | tuple):
        return [_json_copy(item, f"{path}[{i}]", depth + 1) for i, item in enumerate(value)]
    raise ValidationError(
        f"{type(value).__name__} is not JSON (use str for exact decimals)", field=path
    )


def to_json_object(value: object, field: attrs.Attribute[Any]) -> dict[str, Any]:
    """A JSON object, copied so that the caller's later changes do not reach the entity."""
    if not isinstance(value, Mapping):
        raise ValidationError(
            f"expected a JSON object (dict), got {type(value).__name__}", field=field.name
        )
    result: dict[str, Any] = _json_copy(value, field.name, 0)
    return result


def to_json_object_list(value: object, field: attrs.Attribute[Any]) -> list[dict[str, Any]]:
    """A JSON array of objects."""
    if not isinstance(value, list | tuple):
        raise ValidationError(
            f"expected a list of JSON objects, got {type(value).__name__}", field=field.name
        )
    result: list[dict[str, Any]] = []
    for i, item in enumerate(value):
        if not isinstance(item, Mapping):
            raise ValidationError(
                f"expected a JSON object, got {type(item).__name__}", field=f"{field.name}[{i}]"
            )
        result.append(_json_copy(item, f"{field.name}[{i}]", 1))
    return result


def between(
    low: Decimal | int | None = None,
    high: Decimal | int | None = None,
    *,
    low_open: bool = False,
) -> Callable[[object, attrs.Attribute[Any], Any], None]:
    """A validator for a closed range (or half-open at the low end)."""

    def check(_instance: object, field: attrs.Attribute[Any], value: Any) -> None:
        if value is None:
            return
        if low is not None and (value <= low if low_open else value < low):
            relation = ">" if low_open else ">="
            raise ValidationError(f"must be {relation} {low}, got {value}", field=field.name)
        if high is not None and value > high:
            raise ValidationError(f"must be <= {high}, got {value}", field=field.name)

    return check


def instance_of(cls: type) -> Callable[[object, attrs.Attribute[Any], Any], None]:
    def check(_instance: object, field: attrs.Attribute[Any], value: Any) -> None:
        if not isinstance(value, cls):
            raise ValidationError(
                f"expected {cls.__name__}, got {type(value).__name__}", field=field.name
            )

    return check
