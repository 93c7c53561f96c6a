"""The cattrs converter family: rows and documents into entities, entities into
query parameters and documents, and entities as JSON (the cache's entries, the
change feed's events, the audit's values).

Every mapping is derived from the attrs classes in :mod:`vaultstore._entities`;
nothing maps a field by hand. A nested value object is stored flat in a table,
its columns prefixed with the field name (``collateral`` gives
``collateral_token``, ``collateral_amount``, ``collateral_value_usd``), and as a
sub-document in MongoDB.

Rows coming back from the database were checked by its constraints, so they are
turned into entities by functions generated once per entity and column list,
which fill the slots directly instead of running every validator again. Input
from callers always goes through the validators.
"""

from __future__ import annotations

import functools
import json
import linecache
import types
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from enum import Enum
from typing import Any, TypeVar, Union, cast, get_args, get_origin

import attrs
import cattrs
from cattrs.errors import ClassValidationError, ForbiddenExtraKeysError
from cattrs.gen import make_dict_structure_fn

from ._ids import new_id
from ._values import to_utc, utc_now
from .errors import ValidationError

T = TypeVar("T")
Row = Sequence[Any]


class MissingColumnsError(ValueError):
    """A statement's result does not hold every column of the entity it should build."""


def _is_json(field: attrs.Attribute[Any]) -> bool:
    return getattr(field.type, "__origin__", None) in (dict, list)


@functools.cache
def flat_columns(cls: type) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The columns that hold ``cls``, each with its attribute path in the entity
    (a value object's fields flattened: ``collateral_amount``)."""
    return tuple(("_".join(path), path) for path, _ in leaf_fields(cls))


def column_field(cls: type, column: str) -> str | None:
    """The dotted entity field stored in ``column`` (for error messages)."""
    for name, path in flat_columns(cls):
        if name == column:
            return ".".join(path)
    return None


def _enum_of(field_type: Any) -> type[Enum] | None:
    candidates = getattr(field_type, "__args__", (field_type,))
    for candidate in candidates:
        if isinstance(candidate, type) and issubclass(candidate, Enum):
            return candidate
    return None


def _compile(name: str, source: str, namespace: dict[str, Any]) -> Callable[..., Any]:
    filename = f"<vaultstore generated {name}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    exec(compile(source, filename, "exec"), namespace)  # noqa: S102 - generated from attrs fields
    return cast("Callable[..., Any]", namespace[name])


class EntityConverter(cattrs.Converter):
    """Builds entities from caller input, rows and documents; base of the family.

    ``build`` structures caller input through every attrs converter and validator and
    reports the first bad field as a :class:`ValidationError`; ``row_loader`` and
    ``params`` are the fast paths the repositories use.
    """

    def __init__(self) -> None:
        super().__init__(
            forbid_extra_keys=True, prefer_attrib_converters=True, detailed_validation=True
        )
        self.register_structure_hook_factory(attrs.has, self._attrs_hook)
        self._loaders: dict[tuple[type, tuple[str, ...]], Callable[[Row], Any]] = {}
        self._params: dict[type, Callable[[Any], dict[str, Any]]] = {}
        self._fields: dict[type, dict[str, attrs.Attribute[Any]]] = {}
        self._json: dict[type, JsonColumns] = {}

    def _attrs_hook(self, cls: type) -> Callable[[Any, type], Any]:
        structure: Callable[[Any, type], Any] = make_dict_structure_fn(cls, self)

        def hook(value: Any, cl: type) -> Any:
            if isinstance(value, cl):
                return value  # an entity or value object built by the caller is already checked
            if not isinstance(value, Mapping):
                raise ValidationError(f"expected {cl.__name__}, got {type(value).__name__}")
            return structure(value, cl)

        return hook

    # -- caller input ----------------------------------------------------------------

    def build(self, cls: type[T], values: Mapping[str, Any]) -> T:
        """Structure caller input into ``cls``, or raise ValidationError naming the field."""
        try:
            return self.structure(values, cls)
        except ValidationError:
            raise
        except Exception as exc:
            raise _validation_error(exc, cls) from exc

    def new(
        self, cls: type[T], fields: Mapping[str, Any], allowed: Collection[str], id_prefix: str = ""
    ) -> T:
        """A new entity from a caller's ``create(**fields)``, with a fresh id and
        timestamps; only the ``allowed`` fields may be given."""
        _refuse_unknown(cls, fields, allowed)
        now = utc_now()
        return self.build(
            cls, {**fields, "id": id_prefix + new_id(), "created_at": now, "updated_at": now}
        )

    def check_changes(
        self, cls: type, changes: Mapping[str, Any], allowed: Collection[str]
    ) -> dict[str, Any]:
        """Each changed value converted and validated alone, before any I/O; the
        rules across fields are the database's to check (CHECK constraints, the
        collection's validator) when the changes are written."""
        _refuse_unknown(cls, changes, allowed)
        if not changes:
            raise ValidationError("nothing to change")
        fields = self._fields.get(cls)
        if fields is None:
            fields = self._fields[cls] = attrs.fields_dict(attrs.resolve_types(cls))
        checked: dict[str, Any] = {}
        for name, given in changes.items():
            field = fields[name]
            converter = field.converter
            value = given
            try:
                if callable(converter):
                    value = converter(given)
                elif isinstance(field.type, type) and attrs.has(field.type):
                    value = self.structure(given, field.type)
            except ValidationError as exc:
                if exc.field is None:
                    raise ValidationError(exc.message, field=name) from exc
                raise
            except Exception as exc:
                raise _validation_error(exc, cls, name) from exc
            if field.validator is not None:
                field.validator(None, field, value)
            checked[name] = value
        return checked

    # -- relational rows -----------------------------------------------------------

    def json_param(self, value: Any) -> Any:
        """How a JSON field is passed to the driver; backends override it."""
        return value

    def params(self, entity: Any) -> dict[str, Any]:
        """The flat query parameters of an entity: one per column, enums as values."""
        cls = type(entity)
        fn = self._params.get(cls)
        if fn is None:
            fn = self._params[cls] = self._make_params(cls)
        return fn(entity)

    def _make_params(self, cls: type) -> Callable[[Any], dict[str, Any]]:
        fields = {".".join(path): field for path, field in leaf_fields(cls)}
        lines = []
        for column, path in flat_columns(cls):
            field = fields[".".join(path)]
            expr = "e." + ".".join(path)
            if _enum_of(field.type) is not None:
                expr = f"(None if {expr} is None else {expr}.value)"
            elif _is_json(field):
                expr = f"__json({expr})"
            lines.append(f"        {column!r}: {expr},")
        name = f"params_{cls.__name__}"
        source = f"def {name}(e):\n    return {{\n" + "\n".join(lines) + "\n    }\n"
        return _compile(name, source, {"__json": self.json_param})

    def change_columns(self, cls: type, changes: Mapping[str, Any]) -> dict[str, Any]:
        """Checked changes as column values: a value object spreads over its
        columns (``collateral`` gives ``collateral_token`` ...), enums as values."""
        columns: dict[str, Any] = {}
        for name, value in changes.items():
            kind: type = type(value)
            if attrs.has(kind):
                for column, path in flat_columns(kind):
                    leaf = value
                    for part in path:
                        leaf = getattr(leaf, part)
                    columns[f"{name}_{column}"] = leaf.value if isinstance(leaf, Enum) else leaf
            elif isinstance(value, Enum):
                columns[name] = value.value
            elif isinstance(value, dict | list):
                columns[name] = self.json_param(value)
            else:
                columns[name] = value
        return columns

    def row_loader(self, cls: type[T], columns: Sequence[str]) -> Callable[[Row], T]:
        """A function turning a row with these columns into ``cls``, generated once."""
        key = (cls, tuple(columns))
        loader = self._loaders.get(key)
        if loader is None:
            loader = self._loaders[key] = self._make_row_loader(cls, key[1])
        return cast("Callable[[Row], T]", loader)

    def _make_row_loader(self, cls: type, columns: tuple[str, ...]) -> Callable[[Row], Any]:
        position = {name: i for i, name in enumerate(columns)}
        missing = [c for c, _ in flat_columns(cls) if c not in position]
        if missing:
            raise MissingColumnsError(f"a row for {cls.__name__} lacks columns {missing}")
        try:
            return _make_loader(cls, position, filling=True)
        except TypeError:  # a class whose instances cannot change class: slot by slot
            return _make_loader(cls, position, filling=False)

    def json_columns(self, cls: type) -> JsonColumns:
        """``cls`` as JSON column values and back (the cache's entries, the
        change feed's outbox rows), made once."""
        codec = self._json.get(cls)
        if codec is None:
            codec = self._json[cls] = JsonColumns(cls, self)
        return codec


# -- JSON ------------------------------------------------------------------------------
#
# One codec for every place an entity leaves as JSON: the cache's entries, the change
# feed's outbox rows (jsonb written by the database) and ``vaultstore watch`` lines,
# the audit's recorded values. Every digit of a Decimal is kept (as a string, or as a
# JSON number parsed with ``parse_float=Decimal``); times carry their offset.


def to_json(value: Any) -> Any:
    """A value as plain JSON holds it: Decimals as strings (every digit), datetimes
    in ISO 8601 with their offset, enums as their values; dicts, lists and tuples
    walked."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {key: to_json(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(item) for item in value]
    return value


def _json_number(value: Any) -> Any:
    """A JSON field's number as its entity holds it (float or int): JSON fields
    are free-form metadata, not money."""
    if isinstance(value, Decimal):
        return float(value)  # JSON's integers are parsed as int
    if isinstance(value, dict):
        return {key: _json_number(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_json_number(item) for item in value]
    return value


def _decimal(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _moment(value: Any) -> datetime:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if not isinstance(moment, datetime):
        raise TypeError(f"expected a time, got {type(value).__name__}")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # jsonb of a timestamp without time zone
    return to_utc(moment)


def json_reader(field_type: Any) -> Callable[[Any], Any] | None:
    """How a JSON value becomes a column value of ``field_type`` as a row from the
    database holds it (None: as it is; an enum stays its value, which the row
    loader looks up)."""
    target = _not_none(field_type)
    if getattr(target, "__origin__", None) in (dict, list):
        return _json_number
    return _READERS.get(target)


def _not_none(field_type: Any) -> Any:
    """``X`` of ``X | None``; any other type as it is."""
    if not isinstance(field_type, types.UnionType) and get_origin(field_type) is not Union:
        return field_type
    options = [t for t in get_args(field_type) if t is not type(None)]
    return options[0] if options else field_type


_READERS: dict[Any, Callable[[Any], Any]] = {Decimal: _decimal, datetime: _moment}


def from_json(value: Any, field_type: Any) -> Any:
    """A JSON (or plain BSON) value as a field of ``field_type`` holds it, enum
    members, booleans and integers included."""
    if value is None:
        return None
    enum = _enum_of(field_type)
    if enum is not None:
        return enum(value)
    if _not_none(field_type) in (bool, int):
        return _not_none(field_type)(value)
    reader = json_reader(field_type)
    return value if reader is None else reader(value)


class JsonColumns:
    """An entity as the JSON list (or object) of its column values, and back
    through the same generated row loader as a database row. Not pickle: whoever
    can write to Redis must not be able to run code in the reader."""

    def __init__(self, cls: type, converter: EntityConverter) -> None:
        columns = flat_columns(cls)
        self.columns = tuple(name for name, _ in columns)
        self._paths = [path for _, path in columns]
        types = [field.type for _, field in leaf_fields(cls)]
        readers = [json_reader(t) for t in types]
        self._readers = [(i, read) for i, read in enumerate(readers) if read is not None]
        # What dumps wrote: Decimals as strings, times already in UTC to the
        # millisecond, JSON fields' numbers as floats; read on every cache hit.
        own = [_OWN_READERS.get(_not_none(t)) for t in types]
        self._own_readers = [(i, read) for i, read in enumerate(own) if read is not None]
        self._load: Callable[[Row], Any] = converter.row_loader(cls, self.columns)

    def dumps(self, entity: object) -> bytes:
        """The column values as a compact JSON list."""
        values: list[Any] = []
        for path in self._paths:
            value: Any = entity
            for name in path:
                value = getattr(value, name)
            values.append(to_json(value))
        return json.dumps(values, separators=(",", ":")).encode()

    def loads(self, data: bytes | str) -> Any:
        """The entity of :meth:`dumps`' JSON; ValueError (or TypeError) for an
        entry of another shape."""
        row = json.loads(data.decode() if isinstance(data, bytes) else data)
        if not isinstance(row, list) or len(row) != len(self.columns):
            raise ValueError("an entry of another shape")
        for i, read in self._own_readers:
            value = row[i]
            if value is not None:
                row[i] = read(value)
        return self._load(row)

    def load_object(self, document: Mapping[str, Any]) -> Any:
        """The entity of a JSON object keyed by column (``to_jsonb`` of a row,
        numbers parsed as Decimal, times in the session's time zone); absent
        columns as None."""
        row = [document.get(column) for column in self.columns]
        for i, read in self._readers:
            value = row[i]
            if value is not None:
                row[i] = read(value)
        return self._load(row)


_OWN_READERS: dict[Any, Callable[[Any], Any]] = {
    Decimal: Decimal,
    datetime: datetime.fromisoformat,
}


def _filling_class(cls: type) -> type:
    """A subclass of ``cls`` with the same slots whose attributes can be set: an
    instance is filled as one and then made a ``cls``. Setting ``__class__`` checks
    that the two share their layout (TypeError otherwise, checked once here)."""
    filling = type(
        cls.__name__,
        (cls,),
        {
            "__slots__": (),
            # object's own: setting a slot is then one specialised bytecode
            "__setattr__": object.__setattr__,
            "__delattr__": object.__delattr__,
            "__init__": object.__init__,
            "__module__": cls.__module__,
            "__qualname__": f"{cls.__qualname__}[being loaded]",
        },
    )
    filling().__class__ = cls  # raises TypeError if cls's instances cannot change class
    return filling


def _make_loader(cls: type, position: Mapping[str, int], *, filling: bool) -> Callable[[Row], Any]:
    """A row loader of ``cls``, generated from its fields and compiled.

    Everything the function uses is bound as a default argument (a fast local), and
    no validator runs again on what the database already checked. With ``filling``,
    each object is made as its :func:`_filling_class`, its slots set as plain
    attributes (one specialised bytecode each), then given its own class: a small
    fraction of the instructions of calling each slot descriptor's ``__set__``
    (a call through a method wrapper, with an argument tuple), the way without
    ``filling``.
    """
    bound: dict[str, Any] = {} if filling else {"_new": object.__new__}
    body: list[str] = []

    def build(cl: type, prefix: str, var: str) -> None:
        bound[f"_cls_{var}"] = cl
        if filling:
            bound[f"_filling_{var}"] = _filling_class(cl)
            body.append(f"    {var} = _filling_{var}()")
        else:
            body.append(f"    {var} = _new(_cls_{var})")
        for field in attrs.fields(attrs.resolve_types(cl)):
            if isinstance(field.type, type) and attrs.has(field.type):
                child = f"{var}_{field.name}"
                build(field.type, f"{prefix}{field.name}_", child)
                expr = child
            else:
                expr = f"row[{position[prefix + field.name]}]"
                enum = _enum_of(field.type)
                if enum is not None:
                    members = f"_members_{enum.__name__}"
                    bound[members] = enum._value2member_map_
                    lookup = f"{members}[{expr}]"
                    expr = (
                        f"(None if {expr} is None else {lookup})"
                        if "None" in str(field.type)
                        else lookup
                    )
            if filling:
                body.append(f"    {var}.{field.name} = {expr}")
            else:
                setter = f"_set_{var}_{field.name}"
                bound[setter] = cl.__dict__[field.name].__set__
                body.append(f"    {setter}({var}, {expr})")
        if filling:
            body.append(f"    {var}.__class__ = _cls_{var}")

    build(cls, "", "e")
    name = f"load_{cls.__name__}"
    defaults = ", ".join(f"{key}={key}" for key in bound)
    source = f"def {name}(row, {defaults}):\n" + "\n".join(body) + "\n    return e\n"
    return _compile(name, source, dict(bound))


def _refuse_unknown(cls: type, fields: Mapping[str, Any], allowed: Collection[str]) -> None:
    unknown = sorted(set(fields) - set(allowed))
    if unknown:
        raise ValidationError(
            f"{cls.__name__} has no settable field(s) {', '.join(map(repr, unknown))}; "
            f"expected some of {', '.join(sorted(allowed))}",
            field=unknown[0],
        )


def leaf_fields(cls: type) -> list[tuple[tuple[str, ...], attrs.Attribute[Any]]]:
    """The fields of ``cls`` that hold values, a value object's fields in its place,
    each with its attribute path."""
    attrs.resolve_types(cls)
    leaves: list[tuple[tuple[str, ...], attrs.Attribute[Any]]] = []
    for field in attrs.fields(cls):
        if isinstance(field.type, type) and attrs.has(field.type):
            leaves.extend(((field.name, *path), leaf) for path, leaf in leaf_fields(field.type))
        else:
            leaves.append(((field.name,), field))
    return leaves


def _validation_error(exc: BaseException, cls: type, path: str = "") -> ValidationError:
    """The first field error inside a cattrs error tree, with its dotted path."""
    if isinstance(exc, ValidationError):
        field = ".".join(p for p in (path, exc.field or "") if p) or None
        return ValidationError(exc.message, field=field, code=exc.code)
    if isinstance(exc, ForbiddenExtraKeysError):
        names = ", ".join(sorted(exc.extra_fields))
        return ValidationError(
            f"{exc.cl.__name__} has no field(s) {names}",
            field=_join(path, sorted(exc.extra_fields)[0]),
        )
    if isinstance(exc, ClassValidationError):
        for sub in exc.exceptions:
            name = next(
                (
                    getattr(n, "name", None)
                    for n in getattr(sub, "__notes__", ())
                    if hasattr(n, "name")
                ),
                None,
            )
            sub_path = _join(path, name) if name else path
            if isinstance(sub, KeyError):
                return ValidationError("is required", field=sub_path)
            return _validation_error(sub, cls, sub_path)
    return ValidationError(str(exc) or type(exc).__name__, field=path or None)


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name
