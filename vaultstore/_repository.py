"""What the repositories of every backend do alike without I/O: the fields a
caller may set, arguments checked before any I/O, keyset positions of the
listings, and batches of new market data."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from . import _values
from ._convert import EntityConverter
from ._entities import CreditVault, LiquidationEvent, MarketData
from ._paging import decode_cursor
from .errors import ValidationError

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_END_OF_TIME = datetime(9999, 12, 31, tzinfo=UTC)
_INFINITY = Decimal("Infinity")


def field_names(typed_dict: Any) -> frozenset[str]:
    """The keys of a TypedDict: what ``create()`` or ``update()`` accepts."""
    return frozenset(typed_dict.__required_keys__ | typed_dict.__optional_keys__)


def enum_value(enum: type[Enum], value: object, name: str) -> Any:
    """The stored value of an enum argument given as a member or a value."""
    member = _values.enum_member(enum, value)
    if isinstance(member, _values.Invalid):
        raise ValidationError(member.reason, field=name)
    return member.value


def ltv_key(vault: CreditVault) -> tuple[object, ...]:
    return (vault.ltv, vault.id)


def occurred_key(event: LiquidationEvent) -> tuple[object, ...]:
    return (event.occurred_at, event.id)


def recorded_key(record: MarketData) -> tuple[object, ...]:
    return (record.recorded_at, record.id)


def ltv_position(after: str | None) -> tuple[Decimal, str]:
    """(LTV, id) of the last vault of the previous page of a riskiest-first listing;
    (Infinity, '') before the first page."""
    if after is None:
        return _INFINITY, ""
    after_ltv, last_id = decode_cursor(after, 2)
    if not isinstance(after_ltv, Decimal) or not isinstance(last_id, str):
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
    if not isinstance(at, datetime) or not isinstance(last_id, str):
        raise ValidationError("not a cursor from this listing", field="after")
    return at, last_id, end


def with_recorded_at(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Market data fields, ``recorded_at`` defaulting to now."""
    return {"recorded_at": _values.utc_now(), **fields}


def new_market_data(
    converter: EntityConverter, records: object, settable: frozenset[str]
) -> list[MarketData]:
    """Every record of a bulk insert built and validated, before any is sent; the
    error names the record (``records[3].price_usd``)."""
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
            entities.append(converter.new(MarketData, with_recorded_at(fields), settable))
        except ValidationError as exc:
            raise ValidationError(exc.message, field=f"records[{i}].{exc.field}") from exc
    return entities
