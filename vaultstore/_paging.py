"""Keyset pagination, the same on every backend: a page holds up to ``limit``
entities and an opaque cursor naming the last one, from which the next page starts."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

from ._entities import Page
from ._values import text_problem
from .errors import ValidationError

T = TypeVar("T")
MAX_LIMIT = 10_000
DEFAULT_LIMIT = 100
_MAX_CURSOR = 1024  # a cursor holds a few key values; anything longer is not ours


def check_limit(limit: object) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise ValidationError(f"must be an int from 1 to {MAX_LIMIT}, got {limit!r}", field="limit")
    return limit


def check_id(value: object, name: str = "id") -> str:
    if not isinstance(value, str):
        raise ValidationError(f"expected a str, got {type(value).__name__}", field=name)
    if problem := text_problem(value):
        raise ValidationError(problem, field=name)
    return value


def _encode_value(value: object) -> Any:
    if isinstance(value, Decimal):
        return {"d": str(value)}
    if isinstance(value, datetime):
        return {"t": value.isoformat()}
    return value


def _decode_value(value: Any) -> Any:
    if isinstance(value, dict):
        if "d" in value:
            return Decimal(value["d"])
        if "t" in value:
            return datetime.fromisoformat(value["t"])
    return value


def encode_cursor(*values: object) -> str:
    raw = json.dumps([_encode_value(v) for v in values], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: object, size: int) -> list[Any]:
    """The key values in a cursor made by :func:`encode_cursor`."""
    if not isinstance(cursor, str):
        raise ValidationError(f"expected a str cursor, got {type(cursor).__name__}", field="after")
    if len(cursor) > _MAX_CURSOR:
        raise ValidationError("not a cursor from this listing", field="after")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        decoded = json.loads(raw)
        if not isinstance(decoded, list):
            raise TypeError
        values = [_decode_value(v) for v in decoded]
    except (ValueError, TypeError, ArithmeticError, RecursionError):
        raise ValidationError("not a cursor from this listing", field="after") from None
    if len(values) != size:
        raise ValidationError("not a cursor from this listing", field="after")
    return values


def make_page(items: Sequence[T], limit: int, key: Callable[[T], tuple[object, ...]]) -> Page[T]:
    """A page from ``limit + 1`` fetched rows: the extra row only says there is more."""
    if len(items) > limit:
        kept = list(items[:limit])
        return Page(kept, encode_cursor(*key(kept[-1])))
    return Page(list(items), None)


def id_key(entity: Any) -> tuple[object, ...]:
    return (entity.id,)


def after_id(after: str | None) -> str:
    """The id to list from: '' (before every id) for the first page."""
    return "" if after is None else check_id(decode_cursor(after, 1)[0], "after")
