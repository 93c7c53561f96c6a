"""MongoDB's twins of the SQL statements, declared as data in
``queries/<entity>.mongodb.json`` beside ``queries/<entity>.sql``, under the same
names; here they are read and bound to parameters, without I/O.

A declaration names one pymongo call and its arguments::

    "find_by_agent_id": {
        "doc": "An agent's vaults in creation order (index credit_vaults_agent_id_id_idx).",
        "find": {"agent_id": ":agent_id", "_id": {"$gt": ":after"}},
        "sort": {"_id": 1},
        "limit": ":limit"
    }

A string ``":name"`` anywhere is the operation's parameter ``name`` (the same names
as the SQL statement's); ``":now"`` is the current time. Calls: ``find_one``,
``find``, ``aggregate`` (a pipeline), ``insert_one``, ``insert_many`` (the
documents), ``find_one_and_update`` (with ``update``, a document or a pipeline;
returns the document after it), ``delete_one``, and ``bulk_update``: one update
(``update``) of the document its filter (``{"_id": ":id"}``) finds, for each item
of ``each``, which zips arrays given as parameters into items (``{"id": ":ids",
"ltv": ":ltvs"}``) whose fields the filter and update name as parameters; the
documents that exist are written in one unordered bulk write, and their ids
returned. With ``find``: ``sort``, ``hint``
(an index name), ``limit``, and ``after``, the keyset position of the previous
page's last document in sort order (``{"ltv": ":after_ltv", "_id": ":after_id"}``),
ignored when its last value is ``""`` (the first page). ``{"field": {"@>": value}}``
means PostgreSQL's jsonb containment, as :func:`vaultstore._mongo.containment_filter`
spells it for MongoDB.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import attrs

from ._mongo import containment_filter

Template = Callable[[Mapping[str, Any]], Any]

CALLS = {
    "find_one": "filter",
    "find": "filter",
    "aggregate": "pipeline",
    "insert_one": "document",
    "insert_many": "documents",
    "find_one_and_update": "filter",
    "delete_one": "filter",
    "bulk_update": "filter",
}
"""The pymongo calls a declaration may name, with what their value is."""
_OPTIONS = {"doc", "sort", "hint", "limit", "after", "update", "each"}
_CONTAINS = "@>"


class DeclarationError(ValueError):
    """A declaration that vaultstore cannot run; the message names it."""


def _constant(value: Any) -> Template:
    return lambda _params: value


def _parameter(name: str) -> Template:
    return lambda params: params[name]


def _parameters(node: Any) -> Iterator[str]:
    if isinstance(node, str) and node.startswith(":"):
        yield node[1:]
    elif isinstance(node, Mapping):
        for value in node.values():
            yield from _parameters(value)
    elif isinstance(node, list):
        for item in node:
            yield from _parameters(item)


def compile_template(node: Any) -> Template:
    """A function from parameters to ``node`` with every ``":name"`` replaced."""
    if not any(True for _ in _parameters(node)):
        return _constant(node)
    if isinstance(node, str):
        return _parameter(node[1:])
    if isinstance(node, list):
        items = [compile_template(item) for item in node]
        return lambda params: [item(params) for item in items]
    fields = [(key, compile_template(value)) for key, value in node.items()]
    contains = [
        (key, compile_template(value[_CONTAINS]))
        for key, value in node.items()
        if isinstance(value, Mapping) and set(value) == {_CONTAINS}
    ]
    if not contains:
        return lambda params: {key: value(params) for key, value in fields}
    plain = [(key, value) for key, value in fields if key not in dict(contains)]

    def bind(params: Mapping[str, Any]) -> dict[str, Any]:
        bound = {key: value(params) for key, value in plain}
        for key, value in contains:
            bound.update(containment_filter(key, value(params)))
        return bound

    return bind


def _keyset(sort: list[tuple[str, int]], position: Template) -> Template:
    """The filter for documents after ``position`` in ``sort`` order."""

    def after(params: Mapping[str, Any]) -> dict[str, Any] | None:
        values = list(position(params).values())
        if values[-1] == "":
            return None
        branches = []
        for i, (field, direction) in enumerate(sort):
            branch = {f: v for (f, _), v in zip(sort[:i], values, strict=False)}
            branch[field] = {"$gt" if direction > 0 else "$lt": values[i]}
            branches.append(branch)
        return {"$or": branches}

    return after


@attrs.frozen
class MongoOperation:
    """One declared operation, ready to bind."""

    name: str
    call: str
    """The pymongo call: ``find``, ``find_one_and_update`` ..."""
    doc: str
    parameters: frozenset[str]
    argument: Template
    """The call's first argument: its filter, pipeline or document(s)."""
    sort: list[tuple[str, int]] | None = None
    hint: str | None = None
    limit: Template | None = None
    update: Template | None = None
    after: Callable[[Mapping[str, Any]], dict[str, Any] | None] | None = None
    each: Mapping[str, str] | None = None
    """bulk_update: each item's field, and the array parameter it is read from."""
    declared: Any = attrs.field(default=None, eq=False)
    """The call's first argument as declared (``":name"`` strings unbound): what
    tools read, such as the routing of ``vaultstore queries``."""

    def items(self, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        """bulk_update: the items, the arrays of ``each`` read in step."""
        assert self.each is not None
        fields = list(self.each)
        arrays = [params[self.each[field]] for field in fields]
        return [dict(zip(fields, values, strict=True)) for values in zip(*arrays, strict=True)]

    def filter(self, params: Mapping[str, Any]) -> Any:
        """The bound first argument, with the keyset condition of ``after``."""
        bound = self.argument(params)
        if self.after is not None and (condition := self.after(params)) is not None:
            bound = {"$and": [bound, condition]} if "$or" in bound else {**bound, **condition}
        return bound


def for_tenant(call: str, argument: Any, tenant: str) -> Any:
    """A bound first argument of ``call`` confined to ``tenant``: ``tenant_id`` in
    its filter, in each document it inserts (built for this call, so written to in
    place), or as the first ``$match`` of its pipeline. (bulk_update's filters are
    its items': the executor adds it to each.)"""
    if call == "aggregate":
        return [{"$match": {"tenant_id": tenant}}, *argument]
    if call == "insert_one":
        argument["tenant_id"] = tenant
        return argument
    if call == "insert_many":
        for document in argument:
            document["tenant_id"] = tenant
        return argument
    if call == "bulk_update":
        return argument
    return {"tenant_id": tenant, **argument}


def parse_operation(name: str, spec: object) -> MongoOperation:
    """A declaration checked and compiled (DeclarationError naming what is wrong)."""
    if not isinstance(spec, Mapping):
        raise DeclarationError(f"{name}: expected an object, got {type(spec).__name__}")
    calls = [key for key in spec if key in CALLS]
    unknown = sorted(set(spec) - set(CALLS) - _OPTIONS)
    if len(calls) != 1 or unknown:
        raise DeclarationError(
            f"{name}: expected exactly one of {', '.join(CALLS)} and only "
            f"{', '.join(sorted(_OPTIONS))} besides; got {', '.join(sorted(spec))}"
        )
    call = calls[0]
    if ("update" in spec) != (call in ("find_one_and_update", "bulk_update")):
        raise DeclarationError(
            f"{name}: 'update' goes with find_one_and_update and bulk_update, and only there"
        )
    each = None
    if ("each" in spec) != (call == "bulk_update"):
        raise DeclarationError(f"{name}: 'each' goes with bulk_update, and only there")
    if call == "bulk_update":
        each = spec["each"]
        if not isinstance(each, Mapping) or not all(
            isinstance(v, str) and v.startswith(":") for v in each.values()
        ):
            raise DeclarationError(f"{name}: 'each' maps item fields to array parameters")
        each = {str(field): str(array)[1:] for field, array in each.items()}
        target = spec[call]
        if not (
            isinstance(target, Mapping)
            and list(target) == ["_id"]
            and str(target["_id"]).removeprefix(":") in each
        ):
            raise DeclarationError(f"{name}: bulk_update finds each document by an item's _id")
    if any(key in spec for key in ("sort", "limit", "after")) and call not in ("find", "find_one"):
        raise DeclarationError(f"{name}: sort, limit and after go with find or find_one")
    sort = [(str(field), int(direction)) for field, direction in spec.get("sort", {}).items()]
    after = None
    if "after" in spec:
        position = spec["after"]
        if not isinstance(position, Mapping) or [f for f, _ in sort] != list(position):
            raise DeclarationError(f"{name}: 'after' names the fields of 'sort', in its order")
        after = _keyset(sort, compile_template(dict(position)))
    parameters = frozenset(_parameters(dict(spec))) - set(each or ())  # items' fields
    return MongoOperation(
        name=name,
        call=call,
        doc=str(spec.get("doc", "")),
        parameters=parameters,
        argument=compile_template(spec[call]),
        sort=sort or None,
        hint=spec.get("hint"),
        limit=compile_template(spec["limit"]) if "limit" in spec else None,
        update=compile_template(spec["update"]) if "update" in spec else None,
        after=after,
        each=each,
        declared=spec[call],
    )


def parse_operations(declarations: object, source: str) -> dict[str, MongoOperation]:
    """The operations of one ``queries/<entity>.mongodb.json``."""
    if not isinstance(declarations, Mapping):
        raise DeclarationError(f"{source}: expected an object of named operations")
    try:
        return {name: parse_operation(name, spec) for name, spec in declarations.items()}
    except DeclarationError as exc:
        raise DeclarationError(f"{source}: {exc}") from None


class _UnknownUpdateError(Exception):
    """An update :func:`updated` does not work out itself."""


_MISSING = object()
"""A field path to a field the document does not have."""
_INT64 = range(-(2**63), 2**63)


def _field(path: str, document: Mapping[str, Any]) -> Any:
    """A field path's value (``"$version"``): top-level fields only."""
    name = path[1:]
    if not name or name.startswith("$") or "." in name:
        raise _UnknownUpdateError(path)
    return document.get(name, _MISSING)


def _evaluate(expression: Any, document: Mapping[str, Any]) -> Any:
    """The value of an aggregation ``expression`` on ``document``, for the few
    operators the declared updates use; :class:`_UnknownUpdateError` for any other."""
    if isinstance(expression, str) and expression.startswith("$"):
        return _field(expression, document)
    if isinstance(expression, list) or (isinstance(expression, Mapping) and len(expression) != 1):
        raise _UnknownUpdateError("an array or object expression")
    if not isinstance(expression, Mapping):
        return expression
    ((operator, operand),) = expression.items()
    if operator == "$literal":
        return operand
    if operator == "$ifNull" and isinstance(operand, list) and operand:
        tried = (_evaluate(item, document) for item in operand)
        value = next((v for v in tried if v is not None and v is not _MISSING), None)
        if value is None:
            raise _UnknownUpdateError("$ifNull of nulls")
        return value
    if operator == "$add" and isinstance(operand, list):
        values = [_evaluate(item, document) for item in operand]
        if any(value is None or value is _MISSING for value in values):
            return None
        if all(type(value) is int for value in values) and sum(values) in _INT64:
            return sum(values)
    raise _UnknownUpdateError(operator)


def updated(update: Any, before: Mapping[str, Any]) -> dict[str, Any] | None:
    """The document ``update`` (bound) makes of ``before``, worked out here so that
    an audited write can take the document before from its one round trip
    (``find_one_and_update`` returning it) and still know the one after. Only
    top-level ``$set`` (a document's, or a pipeline's stages with the operators
    ``$literal``, ``$ifNull``, ``$add`` on integers and field paths) is worked
    out; for any other update, None: the caller reads the document after."""
    if isinstance(update, Mapping):  # an update document: its values are values
        if set(update) != {"$set"} or not isinstance(update["$set"], Mapping):
            return None
        update = [{"$set": {k: {"$literal": v} for k, v in update["$set"].items()}}]
    after = dict(before)
    try:
        for stage in update:
            fields = stage.get("$set") if isinstance(stage, Mapping) and len(stage) == 1 else None
            if not isinstance(fields, Mapping) or any(
                "." in key or key.startswith("$") for key in fields
            ):
                return None
            # The stage's expressions all see the document as the stage found it;
            # a field set to a missing one's path is not there after it.
            values = {key: _evaluate(value, after) for key, value in fields.items()}
            for key, value in values.items():
                if value is _MISSING:
                    after.pop(key, None)
                else:
                    after[key] = value
    except _UnknownUpdateError:
        return None
    return after
