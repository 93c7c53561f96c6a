"""Keyset pagination, the same on every backend: a page holds up to ``limit``
entities and an opaque cursor naming the last one, from which the next page starts."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Generic, TypeVar, overload

from . import _values
from .errors import ValidationError

T = TypeVar("T")
MAX_LIMIT = 10_000
DEFAULT_LIMIT = 100
_MAX_CURSOR = 1024  # a cursor holds a few key values; anything longer is not ours
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_END_OF_TIME = datetime(9999, 12, 31, tzinfo=UTC)
_INFINITY = Decimal("Infinity")


class Page(Sequence[T], Generic[T]):
    """One page of a keyset-paginated listing.

    It is a sequence of entities; ``next_cursor`` is None on the last page, otherwise
    pass it as ``after=`` to get the next one.
    """

    __slots__ = ("_items", "next_cursor")

    def __init__(self, items: list[T], next_cursor: str | None) -> None:
        self._items = items
        self.next_cursor = next_cursor

    @overload
    def __getitem__(self, index: int) -> T: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[T]: ...
    def __getitem__(self, index: int | slice) -> T | Sequence[T]:
        return self._items[index]

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[T]:
        return iter(self._items)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Page):
            return self._items == other._items and self.next_cursor == other.next_cursor
        if isinstance(other, list):
            return self._items == other
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Page({self._items!r}, next_cursor={self.next_cursor!r})"


def check_limit(limit: object) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise ValidationError(
            f"must be an int from 1 to {MAX_LIMIT}, got {_values.shown(limit)}", field="limit"
        )
    return limit


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
    if after is None:
        return ""
    last_id = decode_cursor(after, 1)[0]
    if not isinstance(last_id, str) or _values.text_problem(last_id):
        raise ValidationError("not a cursor from this listing", field="after")
    return last_id


def ltv_key(vault: Any) -> tuple[object, ...]:
    return (vault.ltv, vault.id)


def occurred_key(event: Any) -> tuple[object, ...]:
    return (event.occurred_at, event.id)


def recorded_key(record: Any) -> tuple[object, ...]:
    return (record.recorded_at, record.id)


def ltv_position(after: str | None) -> tuple[Decimal, str]:
    """(LTV, id) of the last vault of the previous page of a riskiest-first listing;
    (Infinity, '') before the first page."""
    if after is None:
        return _INFINITY, ""
    after_ltv, last_id = decode_cursor(after, 2)
    if (
        not isinstance(after_ltv, Decimal)
        or isinstance(_values.to_decimal(after_ltv), _values.Invalid)  # what no LTV can be
        or not isinstance(last_id, str)
        or not last_id  # no listing ends a page on an empty id
        or _values.text_problem(last_id)
    ):
        raise ValidationError("not a cursor from this listing", field="after")
    return after_ltv, last_id


def time_position(
    since: datetime | None, until: datetime | None, after: str | None
) -> tuple[datetime, str, datetime]:
    """(time, id) of the last entity of the previous page of a half-open
    [since, until) listing, and its end; (since, '') before the first page."""
    start = _EPOCH if since is None else _values.utc_value(since, "since")
    end = _END_OF_TIME if until is None else _values.utc_value(until, "until")
    if after is None:
        return start, "", end
    at, last_id = decode_cursor(after, 2)
    if (
        not isinstance(at, datetime)
        or at.tzinfo is None  # every stored time is aware
        or not isinstance(last_id, str)
        or not last_id
        or _values.text_problem(last_id)
    ):
        raise ValidationError("not a cursor from this listing", field="after")
    return _values.utc_value(at, "after"), last_id, end
