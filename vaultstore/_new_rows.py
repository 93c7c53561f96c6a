"""New entities in their stored form, for ``bulk_insert``: each caller record (a
dict) becomes a row (a tuple, one value per column of :func:`flat_columns`, enums
as their values), validated as building the entity would validate it, without
building it.

The row is made by a function generated once per entity from its attrs fields: it
runs every field's converter and validator (the same functions ``__init__`` runs),
refuses unknown keys and missing required fields. Whatever it refuses, or cannot
judge (a Mapping that is not a dict), is built again the slow way, through cattrs
(:meth:`EntityConverter.build`), which gives the exact error, or the row if that
way accepts it: so the fast way can only refuse more, never let more in. Entities
with rules across fields (``__attrs_post_init__``), value objects, fields without
a converter or computed fields are always built the slow way.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from datetime import datetime
from enum import Enum
from operator import itemgetter
from typing import Any

import attrs

from ._convert import EntityConverter, _compile, _enum_of, _is_json, _refuse_unknown, flat_columns

MADE = ("id", "created_at", "updated_at")
"""The fields vaultstore fills in for a new entity (as :meth:`EntityConverter.new` does)."""

Row = tuple[Any, ...]
RowFn = Callable[[Any, str, datetime], Row]


class NewRows:
    """A batch of new entities of ``cls`` as rows, each holding a value per column
    of ``columns`` (:func:`flat_columns` order): what a backend stores. The rows
    are made, each record validated, as they are read (once): a backend can send
    each as soon as it is made."""

    __slots__ = ("_chunks", "cls", "columns", "json_columns")

    def __init__(
        self,
        cls: type,
        columns: tuple[str, ...],
        json_columns: frozenset[str],
        chunks: Iterable[list[Row]],
    ) -> None:
        self.cls = cls
        self.columns = columns
        self.json_columns = json_columns
        self._chunks = chunks

    def __iter__(self) -> Iterator[Row]:
        return itertools.chain.from_iterable(self._chunks)  # row by row in C

    def in_columns(self, columns: tuple[str, ...]) -> Iterator[Row]:
        """The rows with the values of ``columns`` only, in that order."""
        if columns == self.columns:
            return iter(self)
        try:
            pick = itemgetter(*map(self.columns.index, columns))
        except ValueError:
            unknown = sorted(set(columns) - set(self.columns))
            raise KeyError(f"{self.cls.__name__} has no columns {unknown}") from None
        if len(columns) == 1:
            return ((pick(row),) for row in self)
        return map(pick, self)


class RowMaker:
    """Rows of new ``cls`` entities from caller records, as
    ``converter.new(cls, record, settable, id_prefix)`` would build them, with the
    id and the time (``created_at``, ``updated_at`` and the ``now_fields`` left
    out) given by the caller: ids made in bulk, one time per batch."""

    def __init__(
        self,
        converter: EntityConverter,
        cls: type,
        settable: frozenset[str],
        now_fields: Collection[str] = (),
    ) -> None:
        self.converter = converter
        self.cls = cls
        self.settable = settable
        self.now_fields = tuple(now_fields)
        self.columns = tuple(name for name, _ in flat_columns(cls))
        self.json_columns = frozenset(
            name
            for (name, _), field in zip(flat_columns(cls), _leaf_attributes(cls), strict=True)
            if _is_json(field)
        )
        self._fields = attrs.fields_dict(attrs.resolve_types(cls))
        self.fast: RowFn | None = None
        if settable.issuperset(self.now_fields):  # else every record is refused
            self.fast = make_row_fn(cls, settable, self.now_fields)

    def rows(self, chunks: Iterable[list[Row]]) -> NewRows:
        """A batch of the rows in ``chunks``."""
        return NewRows(self.cls, self.columns, self.json_columns, chunks)

    def made_are_valid(self, id: str, now: datetime) -> bool:
        """Whether the values vaultstore fills in (``id``, ``now`` for the
        timestamps) are kept as they are by their fields' converters and pass
        their validators. Every id of a batch has the shape of the first (its
        prefix, then 26 characters of one alphabet) and one time serves the
        batch: checked once per chunk of records, the generated function skips them."""
        try:
            for name, given in zip(MADE, (id, now, now), strict=True):
                field = self._fields[name]
                value = given if field.converter is None else field.converter(given)  # type: ignore[operator]
                if field.validator is not None:
                    field.validator(None, field, value)
                if value != given:
                    return False
        except Exception:  # noqa: BLE001 - any refusal: the slow way reports it
            return False
        return True

    def slow(self, record: Mapping[str, Any], id: str, now: datetime) -> Row:
        """The row of the entity built through cattrs, or its ValidationError."""
        fields = {**dict.fromkeys(self.now_fields, now), **record}
        _refuse_unknown(self.cls, fields, self.settable)
        entity: Any = self.converter.build(
            self.cls, {**fields, "id": id, "created_at": now, "updated_at": now}
        )
        return entity_row(entity)


def _leaf_attributes(cls: type) -> list[attrs.Attribute[Any]]:
    leaves: list[attrs.Attribute[Any]] = []
    for field in attrs.fields(attrs.resolve_types(cls)):
        if isinstance(field.type, type) and attrs.has(field.type):
            leaves.extend(_leaf_attributes(field.type))
        else:
            leaves.append(field)
    return leaves


def entity_row(entity: Any) -> Row:
    """The row of an entity (:func:`flat_columns` order, enums as their values)."""
    values: list[Any] = []
    cls: type = type(entity)
    for _, path in flat_columns(cls):
        value = entity
        for name in path:
            value = getattr(value, name)
        values.append(value.value if isinstance(value, Enum) else value)
    return tuple(values)


@functools.cache
def make_row_fn(cls: type, settable: frozenset[str], now_fields: tuple[str, ...]) -> RowFn | None:
    """The generated ``row(record, id, now)`` of ``cls``, or None when ``cls`` must
    be built the slow way; made once. It raises (anything) for a record it does
    not accept."""
    attrs.resolve_types(cls)
    if getattr(cls, "__attrs_post_init__", None) or getattr(cls, "__attrs_pre_init__", None):
        return None  # rules across fields
    bound: dict[str, Any] = {
        "_dict": dict,
        "_settable": settable,
        "_Slow": _SlowPath,
        "_MISSING": _MISSING,
    }
    body = ["    if type(r) is not _dict or not _settable.issuperset(r):", "        raise _Slow"]
    values: list[str] = []
    for field in attrs.fields(cls):
        if field.name in MADE:
            values.append("id" if field.name == "id" else "now")
            continue
        lines = _field_lines(field, field.name in settable, field.name in now_fields, bound)
        if lines is None:
            return None
        body += lines
        values.append(_stored(field, f"x_{field.name}"))
    body.append(f"    return ({', '.join(values)},)")
    fn_name = f"new_row_{cls.__name__}"
    defaults = ", ".join(f"{key}={key}" for key in bound)
    source = f"def {fn_name}(r, id, now, {defaults}):\n" + "\n".join(body) + "\n"
    return _compile(fn_name, source, dict(bound))


def _field_lines(  # noqa: PLR0911 - one return per kind of field reads best
    field: attrs.Attribute[Any], settable: bool, now: bool, bound: dict[str, Any]
) -> list[str] | None:
    """The lines setting ``x_<name>`` to a field's checked value, or None if the
    generated function cannot do what ``__init__`` does for it."""
    name, default, converter = field.name, field.default, field.converter
    if not field.init or (isinstance(field.type, type) and attrs.has(field.type)):
        return None  # computed, or a value object cattrs structures
    if converter is None or not callable(converter):
        return None  # cattrs would structure it by its type
    bound[f"_convert_{name}"] = converter
    check = [f"x_{name} = _convert_{name}(x_{name})"]
    if field.validator is not None:
        bound[f"_validate_{name}"] = field.validator
        bound[f"_field_{name}"] = field
        check.append(f"_validate_{name}(None, _field_{name}, x_{name})")
    factory: Any = default if isinstance(default, attrs.Factory) else None  # type: ignore[arg-type]
    if factory is not None:
        if factory.takes_self:
            return None
        bound[f"_factory_{name}"] = factory.factory
        given = f"r[{name!r}] if {name!r} in r else " if settable else ""
        return [f"    x_{name} = {given}_factory_{name}()", *(f"    {line}" for line in check)]
    if now:
        return [f"    x_{name} = r.get({name!r}, now)", *(f"    {line}" for line in check)]
    if default is attrs.NOTHING:
        if not settable:
            return None  # required and not the caller's to give: always refused
        return [f"    x_{name} = r[{name!r}]", *(f"    {line}" for line in check)]
    # A constant default is converted and validated once, here, as __init__ would
    # every time: the converters and validators are functions of the value alone.
    # (A mutable one, which every row would share, is converted every time.)
    try:
        constant = converter(default)
        if field.validator is not None:
            field.validator(None, field, constant)
        hash(constant)
    except TypeError:
        bound[f"_default_{name}"] = default
        given = f"r.get({name!r}, _default_{name})" if settable else f"_default_{name}"
        return [f"    x_{name} = {given}", *(f"    {line}" for line in check)]
    except Exception:  # noqa: BLE001 - a default it refuses: the slow way says so
        return None
    bound[f"_constant_{name}"] = constant
    if not settable:
        return [f"    x_{name} = _constant_{name}"]
    return [
        f"    x_{name} = r.get({name!r}, _MISSING)",
        f"    if x_{name} is _MISSING:",
        f"        x_{name} = _constant_{name}",
        "    else:",
        *(f"        {line}" for line in check),
    ]


_MISSING = object()


def _stored(field: attrs.Attribute[Any], value: str) -> str:
    """The expression of a field's stored value: an enum's value (``_value_``, a
    plain attribute, where ``value`` is a property)."""
    if _enum_of(field.type) is None:
        return value
    if type(None) in getattr(field.type, "__args__", ()):
        return f"(None if {value} is None else {value}._value_)"
    return f"{value}._value_"


class _SlowPath(Exception):  # noqa: N818 - not an error: a signal to take the slow way
    """Raised by a generated row function for a record it does not judge itself."""
