"""Arguments checked before any I/O, the same for every backend: ids, enum
values, and batches of new entities."""

from __future__ import annotations

import contextlib
import itertools
import math
from collections.abc import Collection, Iterable, Iterator, Mapping
from datetime import datetime
from enum import Enum
from typing import Any, TypeVar

from . import _values
from ._convert import EntityConverter
from ._ids import new_ids
from ._new_rows import NewRows, Row, RowMaker
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


def check_batch_size(value: object) -> int:
    """A ``batch_size=``: an int >= 1."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValidationError(
            f"expected an int >= 1, got {_values.shown(value)}", field="batch_size"
        )
    return value


def _iterable(value: object, name: str, expected: str) -> Iterable[Any]:
    """``value`` if it is an iterable of items (a dict or a string is not one)."""
    if isinstance(value, Mapping | str | bytes) or not isinstance(value, Iterable):
        raise ValidationError(
            f"expected an iterable of {expected}, got {type(value).__name__}", field=name
        )
    return value


def batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """``items`` as lists of ``size`` (the last may be shorter), read as they come:
    an item is made (and validated) before the batch holding it is given out."""
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


_END = object()
CHUNK = 1024
"""Records are validated (and their ids made) this many at a time, or fewer at
the end of a batch: a few records do not pay for a batch's worth of ids, and a
backend sends the first rows of a batch while the next are made."""


def entity_batches(
    converter: EntityConverter,
    cls: type,
    records: object,
    settable: frozenset[str],
    batch_size: int,
    *,
    id_prefix: str = "",
    now_fields: Collection[str] = (),
) -> Iterator[NewRows]:
    """New entities as batches of at most ``batch_size`` rows, from ``records``
    (any iterable of dicts, read as it goes; no batch is empty). Each record is
    validated, as ``converter.new`` would validate it, when its batch is read,
    before the row is given out; the error names the record by its place in the
    whole (``records[12345].price_usd``). The ``now_fields`` the caller leaves
    out take the batch's time, as ``created_at`` and ``updated_at`` do. Read each
    batch to its end before the next. What is not an iterable is refused here,
    before any I/O."""
    given = _iterable(records, "records", "records (dicts)")
    maker = RowMaker(converter, cls, settable, now_fields)

    def refused(i: int, fields: object, id: str, now: datetime) -> Row:
        """The record at ``i`` built the slow way: its exact error, or its row."""
        if not isinstance(fields, Mapping):
            raise ValidationError(
                f"expected a record (dict), got {type(fields).__name__}", field=f"records[{i}]"
            )
        try:
            return maker.slow(fields, id, now)
        except ValidationError as exc:
            raise ValidationError(exc.message, field=f"records[{i}].{exc.field}") from exc

    def chunk_rows(chunk: list[Any], index: int, now: datetime) -> list[Row]:
        """The rows of ``chunk``, the records from ``index`` on, ids made for them."""
        ids = new_ids(len(chunk))
        if id_prefix:
            ids = [id_prefix + id for id in ids]
        fast = maker.fast if maker.made_are_valid(ids[0], now) else None
        if fast is not None:
            try:
                return list(map(fast, chunk, ids, itertools.repeat(now, len(chunk))))
            except Exception:  # noqa: BLE001, S110 - one was refused: judged one by one below
                pass
        rows = []
        for i, (fields, id) in enumerate(zip(chunk, ids, strict=True), index):
            row = None
            if fast is not None:
                with contextlib.suppress(Exception):  # refused: the slow way says why
                    row = fast(fields, id, now)
            rows.append(refused(i, fields, id, now) if row is None else row)
        return rows

    items = iter(given)
    read = 0  # records taken from items

    def chunks(first: Any) -> Iterator[list[Row]]:
        """The rows of one batch, a chunk at a time, the first record given."""
        nonlocal read
        now = _values.utc_now()  # one time for the batch
        taken = 0
        chunk = [first, *itertools.islice(items, min(CHUNK, batch_size) - 1)]
        while chunk:
            index = read
            read += len(chunk)
            taken += len(chunk)
            yield chunk_rows(chunk, index, now)
            chunk = list(itertools.islice(items, min(CHUNK, batch_size - taken)))

    def batches() -> Iterator[NewRows]:
        while (first := next(items, _END)) is not _END:
            yield maker.rows(chunks(first))

    return batches()


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
    given twice is refused: which of the two would win is not obvious. What is
    not an iterable is refused here, before any I/O."""
    given = _iterable(updates, "updates", "(id, ltv, health_factor)")

    def metrics() -> Iterator[tuple[str, Any, Any]]:
        seen: dict[str, int] = {}
        for i, item in enumerate(given):
            where = f"updates[{i}]"
            if isinstance(item, Mapping):
                if set(item) != set(_METRICS):
                    raise ValidationError(
                        "expected the keys id, ltv and health_factor, got "
                        f"{sorted(map(str, item))}",
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
                raise ValidationError(
                    f"{id} was given already, as updates[{seen[id]}]", field=where
                )
            seen[id] = i
            try:
                checked = converter.check_changes(
                    cls, {"ltv": values[1], "health_factor": values[2]}, allowed
                )
            except ValidationError as exc:
                raise ValidationError(exc.message, field=f"{where}.{exc.field}") from exc
            yield id, checked["ltv"], checked["health_factor"]

    def arrays() -> Iterator[tuple[list[str], list[Any], list[Any]]]:
        for batch in batched(metrics(), batch_size):
            ids, ltvs, factors = zip(*batch, strict=True)
            yield list(ids), list(ltvs), list(factors)

    return arrays()


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


def entity_batches_of(cls: type[T], entities: object, batch_size: int) -> Iterator[list[T]]:
    """Whole entities of ``cls`` (a ``restore()``), ``batch_size`` at a time, read
    as they come; anything else is refused, naming its place in the whole
    (``entities[12]``), before the batch holding it is sent. What is not an
    iterable is refused here, before any I/O."""
    given = _iterable(entities, "entities", f"{cls.__name__} entities")

    def checked() -> Iterator[T]:
        for i, entity in enumerate(given):
            if type(entity) is not cls:
                raise ValidationError(
                    f"expected a {cls.__name__}, got {type(entity).__name__}",
                    field=f"entities[{i}]",
                )
            yield entity

    return batched(checked(), batch_size)
