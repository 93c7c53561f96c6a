"""Value checks shared by every entity: attrs converters and validators that turn
loose input (int, float, str) into the exact types vaultstore stores, or raise
:class:`~vaultstore.errors.ValidationError` naming the field.

They run before any I/O, so a bad value never reaches a database.
"""

from __future__ import annotations

import decimal
import math
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
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


class Invalid:
    """What a converter returns for a value it cannot convert. attrs runs a field's
    validator right after its converter, and every validator here turns an Invalid
    into a ValidationError naming the field. (Converters cannot name the field
    themselves and stay visible to mypy's attrs plugin, which types ``__init__``
    from the converter's argument: ``amount: Decimal`` accepts ``Number``.)"""

    __slots__ = ("reason", "suffix")

    def __init__(self, reason: str, suffix: str = "") -> None:
        self.reason = reason
        self.suffix = suffix  # a path inside the field, such as ".key" or "[2]"

    def __repr__(self) -> str:
        return f"Invalid({self.reason!r})"


def _invalid(reason: str, suffix: str = "") -> Any:
    return Invalid(reason, suffix)


def decimal_value(value: object, name: str) -> Decimal:
    """An exact Decimal from an int, a float, a str or a Decimal, or ValidationError.

    A float becomes the decimal it is written as (``59.5`` gives ``Decimal("59.5")``,
    ``0.1`` gives ``Decimal("0.1")``), not its binary expansion.
    """
    result = to_decimal(value)  # type: ignore[arg-type]
    if isinstance(result, Invalid):
        raise ValidationError(result.reason, field=name)
    return result


_FITS = decimal.Context(
    prec=DECIMAL_DIGITS,
    Emin=DECIMAL_MIN_EXPONENT + DECIMAL_DIGITS - 1,
    Emax=DECIMAL_DIGITS - 1,
    clamp=1,
    traps=[decimal.Rounded, decimal.Clamped, decimal.Overflow, decimal.InvalidOperation],
)
"""What most numbers are checked against, in C: ``_FITS.plus(d)`` raises unless ``d``
has at most 34 digits, an exponent of at least -6176 and none above 0 (with
``clamp`` on, Etop = Emax - prec + 1 = 0). Such a number passes every rule of
:func:`fitted`; what raises is judged by those rules (which take its digits apart
with ``as_tuple``: about 1 us a number)."""


def to_decimal(value: Decimal | int | float | str) -> Decimal:  # noqa: PLR0911
    """The converter of Decimal fields (see :func:`decimal_value`)."""
    if isinstance(value, bool):
        return _invalid(f"expected a number, got {shown(value)}")
    try:
        if isinstance(value, Decimal):
            result = value
        elif isinstance(value, int):
            result = Decimal(value)
        elif isinstance(value, float):
            if not math.isfinite(value):
                return _invalid(f"expected a finite number, got {shown(value)}")
            result = Decimal(repr(value))
        elif isinstance(value, str):
            result = Decimal(value.strip())
        else:
            return _invalid(
                f"expected a number (Decimal, int, float or str), got {type(value).__name__}"
            )
    except InvalidOperation:
        return _invalid(f"not a number: {shown(value)}")
    if not result.is_finite():
        return _invalid(f"expected a finite number, got {shown(value)}")
    try:
        _FITS.plus(result)
    except ArithmeticError:
        return fitted(value, result)  # refused, or a positive exponent
    return result if result else result.copy_abs()  # -0 is 0


def fitted(value: object, result: Decimal) -> Decimal:
    """``result`` (the finite Decimal of ``value``) as stored, or Invalid: what fits
    Decimal128, 34 digits, with a positive exponent written out; -0 as 0."""
    shape = result.as_tuple()
    digits, exponent = len(shape.digits), shape.exponent
    assert isinstance(exponent, int)  # finite, checked above
    if exponent > 0:
        # 1E+3 is stored as 1000 by PostgreSQL: keep the same digits on every backend
        # (counted first: int() of 1E+999999 would take a minute).
        digits += exponent
        exponent = 0
    if digits > DECIMAL_DIGITS or not (
        DECIMAL_MIN_EXPONENT <= exponent <= DECIMAL_MAX_EXPONENT - digits + 1
    ):
        return _invalid(
            f"{shown(value)} does not fit {DECIMAL_DIGITS} significant digits; round it first"
        )
    if shape.exponent > 0:  # type: ignore[operator]
        result = Decimal(int(result))
    if result == 0:
        result = result.copy_abs()  # -0 is 0
    return result


def to_optional_decimal(value: Decimal | int | float | str | None) -> Decimal | None:
    return None if value is None else to_decimal(value)


def to_int(value: int) -> int:
    """An int, refusing bools and floats (which would lose or invent precision)."""
    if isinstance(value, bool) or not isinstance(value, int):
        return _invalid(f"expected an int, got {type(value).__name__}")
    return int(value)


def to_bool(value: bool) -> bool:
    if not isinstance(value, bool):
        return _invalid(f"expected a bool, got {type(value).__name__}")
    return value


def to_str(value: str) -> str:
    if not isinstance(value, str):
        return _invalid(f"expected a str, got {type(value).__name__}")
    return value


def enum_member(enum: type[E], value: object) -> E:
    """The member of ``enum`` given as itself or as its value."""
    if type(value) is not bool:  # True == 1, but no bool is a member's value
        try:
            member = enum._value2member_map_.get(value)
        except TypeError:  # unhashable: a list, a dict
            member = None
        if member is not None:
            return member  # type: ignore[return-value]  # a member given as itself too
    if isinstance(value, enum):
        return value
    allowed = ", ".join(repr(m.value) for m in enum)
    return _invalid(f"unknown {enum.__name__} {shown(value)}; expected one of {allowed}")


SHOWN = 200
"""The most characters of a caller's input an error message quotes."""


def shown(value: object) -> str:
    """``repr(value)`` for an error message, cut to :data:`SHOWN` characters: a
    megabyte of bad input does not make a megabyte of message or log line."""
    text = repr(value)
    if len(text) <= SHOWN:
        return text
    return f"{text[:SHOWN]}... ({len(text)} characters)"


def text_problem(value: str) -> str | None:
    """Why a str cannot be stored as text on every backend, or None: PostgreSQL text
    holds no NUL character, and no backend stores a lone surrogate (not UTF-8)."""
    if "\x00" in value:
        return "must not contain NUL characters"
    if value.isascii():
        return None
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "must be valid Unicode (no lone surrogates)"
    return None


def utc_now() -> datetime:
    """Now, in UTC, cut to the millisecond that both backends keep."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def to_utc(value: datetime) -> datetime:
    """A timezone-aware datetime, moved to UTC and cut to milliseconds (BSON keeps
    no more, so both backends keep the same)."""
    if type(value) is not datetime or value.tzinfo is not UTC:
        if not isinstance(value, datetime):
            return _invalid(f"expected a datetime, got {type(value).__name__}")
        if value.tzinfo is None or value.utcoffset() is None:
            return _invalid("a naive datetime is ambiguous; give it a timezone")
        value = value.astimezone(UTC)
    # Subtracting one of a thousand timedeltas: a third of the time of replace().
    return value - _MICROSECONDS[value.microsecond % 1000]


_MICROSECONDS = [timedelta(microseconds=n) for n in range(1000)]


def utc_value(value: object, name: str) -> datetime:
    """:func:`to_utc`, or ValidationError naming ``name``."""
    result = to_utc(value)  # type: ignore[arg-type]
    if isinstance(result, Invalid):
        raise ValidationError(result.reason, field=name)
    return result


def to_optional_utc(value: datetime | None) -> datetime | None:
    return None if value is None else to_utc(value)


_JSON_SCALARS = (str, int, float, bool, type(None))
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1  # what BSON holds
_FLOAT_LIMIT = 1e16
_MAX_JSON_DEPTH = 32


class _NotJsonError(Exception):
    def __init__(self, reason: str, suffix: str) -> None:
        self.reason = reason
        self.suffix = suffix


def _json_copy(value: object, suffix: str, depth: int) -> Any:
    if depth > _MAX_JSON_DEPTH:
        raise _NotJsonError(f"nested deeper than {_MAX_JSON_DEPTH} levels", suffix)
    if isinstance(value, float) and not math.isfinite(value):
        raise _NotJsonError(f"JSON has no {shown(value)}", suffix)
    if isinstance(value, float) and abs(value) >= _FLOAT_LIMIT:
        # PostgreSQL's jsonb gives 1e20 back as the integer 100000000000000000000.
        raise _NotJsonError("floats in JSON must be below 1e16 (use an int or a str)", suffix)
    if (
        isinstance(value, int)
        and not isinstance(value, bool)
        and not _INT64_MIN <= value <= _INT64_MAX
    ):
        raise _NotJsonError("integers in JSON must fit 64 bits (use a str)", suffix)
    if isinstance(value, str) and (problem := text_problem(value)):
        raise _NotJsonError(problem, suffix)
    if isinstance(value, _JSON_SCALARS):
        return value
    if isinstance(value, Mapping):
        copy = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise _NotJsonError(f"JSON keys are str, got {shown(key)}", suffix)
            if key.startswith("$") or "." in key:
                # MongoDB reserves these in field names; refused on both backends alike.
                raise _NotJsonError(f"key {shown(key)} may not start with $ or hold a dot", suffix)
            if problem := text_problem(key):
                raise _NotJsonError(f"key: {problem}", suffix)
            copy[key] = _json_copy(item, f"{suffix}.{key}", depth + 1)
        return copy
    if isinstance(value, list | tuple):
        return [_json_copy(item, f"{suffix}[{i}]", depth + 1) for i, item in enumerate(value)]
    raise _NotJsonError(f"{type(value).__name__} is not JSON (use str for exact decimals)", suffix)


def json_object(value: object, name: str) -> dict[str, Any]:
    """A copy of a JSON object, or ValidationError naming the path at fault."""
    result = to_json_object(value)  # type: ignore[arg-type]
    if isinstance(result, Invalid):
        raise ValidationError(result.reason, field=name + result.suffix)
    return result


def to_json_object(value: Mapping[str, Any]) -> dict[str, Any]:
    """A JSON object, copied so that the caller's later changes do not reach the entity."""
    if not isinstance(value, Mapping):
        return _invalid(f"expected a JSON object (dict), got {type(value).__name__}")
    try:
        result: dict[str, Any] = _json_copy(value, "", 0)
    except _NotJsonError as exc:
        return _invalid(exc.reason, exc.suffix)
    return result


def to_json_object_list(value: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """A JSON array of objects, copied."""
    if not isinstance(value, list | tuple):
        return _invalid(f"expected a list of JSON objects, got {type(value).__name__}")
    result: list[dict[str, Any]] = []
    for i, item in enumerate(value):
        if not isinstance(item, Mapping):
            return _invalid(f"expected a JSON object, got {type(item).__name__}", f"[{i}]")
        try:
            result.append(_json_copy(item, f"[{i}]", 1))
        except _NotJsonError as exc:
            return _invalid(exc.reason, exc.suffix)
    return result


Validator = Callable[[object, "attrs.Attribute[Any]", Any], None]


def valid(_instance: object, field: attrs.Attribute[Any], value: Any) -> None:
    """The validator of every field: report what its converter could not convert."""
    if isinstance(value, Invalid):
        raise ValidationError(value.reason, field=field.name + value.suffix)


def text(max_length: int, min_length: int = 1) -> Validator:
    """A str of bounded length, without NUL characters (PostgreSQL text cannot hold them)."""

    def check(instance: object, field: attrs.Attribute[Any], value: Any) -> None:
        if isinstance(value, Invalid):  # valid(), inline: this runs for every text field
            raise ValidationError(value.reason, field=field.name + value.suffix)
        if not min_length <= len(value) <= max_length:
            raise ValidationError(
                f"length must be between {min_length} and {max_length}, got {len(value)}",
                field=field.name,
            )
        if problem := text_problem(value):
            raise ValidationError(problem, field=field.name)

    return check


def between(
    low: Decimal | int | None = None,
    high: Decimal | int | None = None,
    *,
    low_open: bool = False,
) -> Validator:
    """A number in a closed range (or half-open at the low end); None passes."""

    def check(instance: object, field: attrs.Attribute[Any], value: Any) -> None:
        if value is None:
            return
        if isinstance(value, Invalid):  # valid(), inline: this runs for every number
            raise ValidationError(value.reason, field=field.name + value.suffix)
        if low is not None and (value <= low if low_open else value < low):
            relation = ">" if low_open else ">="
            raise ValidationError(f"must be {relation} {low}, got {value}", field=field.name)
        if high is not None and value > high:
            raise ValidationError(f"must be <= {high}, got {value}", field=field.name)

    return check


def instance_of(cls: type) -> Validator:
    def check(_instance: object, field: attrs.Attribute[Any], value: Any) -> None:
        if not isinstance(value, cls):
            raise ValidationError(
                f"expected {cls.__name__}, got {type(value).__name__}", field=field.name
            )

    return check
