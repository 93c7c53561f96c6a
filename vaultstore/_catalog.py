"""What the query files hold and who runs what: every named statement of
``queries/*.sql`` (file, line, kind, parameters, documentation) and the repository
methods that name it, read from the repositories' source with :mod:`ast`.

No I/O here: functions take the files' text, so that ``vaultstore queries``,
``vaultstore check`` and the tests share one reading of them. The same module
gives aiosql the loaders that keep line numbers exact and put a comment naming
file, line and query at the start of every statement vaultstore sends.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Mapping
from pathlib import Path, PurePosixPath
from typing import Any

import attrs
from aiosql.adapters.generic import GenericAdapter
from aiosql.query_loader import QueryLoader
from aiosql.types import QueryDatum, SQLOperationType
from aiosql.utils import VAR_REF, SQLLoadException, SQLParseException

# A string, a quoted identifier, a line comment, or a block comment (not an
# optimizer hint, which aiosql keeps): strings and line comments are matched only
# so that a "/*" inside them is not taken for a comment.
_BLOCK_COMMENT = re.compile(
    r"'(?:''|[^'])*'"
    r'|"(?:""|[^"])+"'
    r"|--[^\n]*"
    r"|(?P<block>/\*(?!\+).*?\*/)",
    re.DOTALL,
)
# What a statement comment may contain: nothing that could end the comment, or
# that psycopg or aiosql would read as a placeholder.
_UNSAFE = re.compile(r"[^\w./:-]")

KINDS: Mapping[SQLOperationType, tuple[str, str]] = {
    SQLOperationType.SELECT: ("select many", ""),
    SQLOperationType.SELECT_ONE: ("select one", "^"),
    SQLOperationType.SELECT_VALUE: ("select value", "$"),
    SQLOperationType.INSERT_RETURNING: ("insert returning", "<!"),
    SQLOperationType.INSERT_UPDATE_DELETE: ("insert-update-delete", "!"),
    SQLOperationType.INSERT_UPDATE_DELETE_MANY: ("many", "*!"),
    SQLOperationType.SCRIPT: ("script", "#"),
}
"""aiosql's operation types as ``vaultstore queries`` names them, with their suffix."""

RETURNS_ROWS = frozenset(
    {
        SQLOperationType.SELECT,
        SQLOperationType.SELECT_ONE,
        SQLOperationType.SELECT_VALUE,
        SQLOperationType.INSERT_RETURNING,
    }
)
"""The kinds whose adapter method fetches rows: their statement must return some."""


def _blank_block_comments(text: str) -> str:
    """``text`` with each ``/* ... */`` comment replaced by the line breaks it held.
    aiosql drops these comments before it counts lines, so a comment spanning lines
    would shift the line of every later statement."""

    def blank(match: re.Match[str]) -> str:
        return "\n" * match.group().count("\n") if match.group("block") else match.group()

    return _BLOCK_COMMENT.sub(blank, text)


def file_label(path: Path | str) -> str:
    """``/anywhere/queries/vaults.sql`` -> ``queries/vaults.sql``: the same from a
    checkout and from an installed wheel."""
    pure = PurePosixPath(Path(path).as_posix())
    return f"{pure.parent.name}/{pure.name}" if pure.parent.name else pure.name


def trace_comment(path: Path | str, line: int, name: str) -> str:
    """The comment that starts a statement: ``/* vaultstore queries/vaults.sql:28
    vaults.find_by_id */``, so that pg_stat_activity, the server log and
    pg_stat_statements name the file to open."""
    where = _UNSAFE.sub("_", f"{file_label(path)}:{line}")
    what = _UNSAFE.sub("_", f"{PurePosixPath(Path(path).as_posix()).stem}.{name}")
    return f"/* vaultstore {where} {what} */"


class StatementLoader(QueryLoader):
    """aiosql's loader, with each statement's line number pointing at its
    ``-- name:`` header even below a multi-line ``/* */`` comment."""

    def load_query_data_from_sql(
        self, sql: str, ns_parts: list[str], fname: Path | str = "<unknown>"
    ) -> list[QueryDatum]:
        return super().load_query_data_from_sql(_blank_block_comments(sql), ns_parts, fname)


class TracingLoader(StatementLoader):
    """The loader vaultstore gives aiosql: every statement starts with the comment of
    :func:`trace_comment`, added after the adapter has rewritten the placeholders, so
    prepared statements and ``.sql`` carry it too."""

    def load_query_data_from_sql(
        self, sql: str, ns_parts: list[str], fname: Path | str = "<unknown>"
    ) -> list[QueryDatum]:
        return [
            datum._replace(
                sql=f"{trace_comment(fname, datum.floc[1], datum.query_name)}\n{datum.sql}"
            )
            for datum in super().load_query_data_from_sql(sql, ns_parts, fname)
        ]


@attrs.frozen
class Caller:
    """A repository method that runs a statement."""

    call: str
    """How an application calls it: ``store.vaults.find_by_id``."""
    cls: str
    """The class it runs in, in the async source: ``AsyncPgVaultRepository``."""
    method: str
    defined_at: str
    """``file:line`` of the method's definition (in a base class when inherited)."""

    @property
    def sync_cls(self) -> str:
        """The generated sync twin's class name (tools/generate_sync.py's rule)."""
        name = self.cls
        return name[5:] if name.startswith("Async") and name[5:6].isupper() else name


@attrs.frozen
class Statement:
    """One named statement of a query file."""

    file: str
    """``queries/vaults.sql``"""
    line: int
    """The line of its ``-- name:`` header."""
    name: str
    """``vaults.find_by_id``: the file's stem and the statement's name."""
    operation: SQLOperationType
    params: tuple[str, ...]
    doc: str
    sql: str
    """As written, with ``:name`` placeholders."""
    callers: tuple[Caller, ...] = ()

    @property
    def kind(self) -> str:
        return KINDS[self.operation][0]

    @property
    def suffix(self) -> str:
        return KINDS[self.operation][1]

    @property
    def location(self) -> str:
        return f"{self.file}:{self.line}"

    def problem(self, message: str) -> str:
        """A report line: ``queries/vaults.sql:28 vaults.find_by_id: message``."""
        return f"{self.location} {self.name}: {message}"

    def positional_sql(self) -> str:
        """The statement as the server receives it from psycopg: ``:name`` becomes
        ``$1`` ... (numbered by first appearance, as aiosql's pyformat adapter finds
        them) and ``%%`` becomes ``%``, except in scripts, which are sent as is."""
        if self.operation is SQLOperationType.SCRIPT:
            return self.sql
        numbers: dict[str, int] = {}

        def number(match: re.Match[str]) -> str:
            name = match.group("var_name")
            if name is None:  # a quoted string or identifier
                return match.group()
            return f"{match.group('lead')}${numbers.setdefault(name, len(numbers) + 1)}"

        return VAR_REF.sub(number, self.sql).replace("%%", "%")


@attrs.frozen
class Use:
    """A place in a repository's source that names a statement."""

    query: str
    source: str
    """``file:line`` of the attribute access."""
    caller: Caller
    direct: bool
    """Whether the access is in the caller's own body (not in a method it calls)."""


@attrs.frozen
class Catalog:
    """Every statement with its callers, the statements the repositories name that no
    file has, and the query files that could not be read."""

    statements: tuple[Statement, ...]
    missing: tuple[Use, ...]
    errors: tuple[str, ...]
    folder: str = "queries"

    def unused(self) -> list[Statement]:
        return [statement for statement in self.statements if not statement.callers]

    def problems(self) -> list[str]:
        """``file:line name: message`` for each query file that does not load, each
        statement no repository method runs, and each statement a method names that
        does not exist."""
        lines = list(self.errors)
        lines.extend(s.problem("not used by any repository method") for s in self.unused())
        for use in self.missing:
            group, _, name = use.query.partition(".")
            lines.append(
                f"{use.source} {use.query}: no statement named {name} in "
                f"{self.folder}/{group}.sql (named by {use.caller.call})"
            )
        return lines

    def to_json(self) -> dict[str, Any]:
        """The catalogue for tools (``vaultstore queries --json``)."""
        return {
            "statements": [
                {
                    "name": s.name,
                    "file": s.file,
                    "line": s.line,
                    "kind": s.kind,
                    "suffix": s.suffix,
                    "params": list(s.params),
                    "doc": s.doc,
                    "sql": s.sql,
                    "callers": [_caller_json(c) for c in s.callers],
                }
                for s in self.statements
            ],
            "missing": [
                {"name": u.query, "source": u.source, "caller": _caller_json(u.caller)}
                for u in self.missing
            ],
            "errors": list(self.errors),
        }

    def table(self) -> str:
        """The catalogue for people: one row per statement (location, name, kind,
        callers), its parameters and documentation on the lines below."""
        headers = ("LOCATION", "STATEMENT", "KIND", "CALLED BY")
        rows = [
            (s.location, s.name, f"{s.kind} ({s.suffix})" if s.suffix else s.kind, _calls(s))
            for s in self.statements
        ]
        widths = [max(len(cell) for cell in column) for column in zip(headers, *rows, strict=False)]
        indent = " " * (widths[0] + 2)
        lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
        for statement, row in zip(self.statements, rows, strict=True):
            lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
            lines.append(f"{indent}params: {', '.join(statement.params) or '(none)'}")
            lines.extend(f"{indent}{doc}" for doc in statement.doc.splitlines())
        lines.extend(f"error: {error}" for error in self.errors)
        return "\n".join(lines)


def _caller_json(caller: Caller) -> dict[str, str]:
    return {
        "call": caller.call,
        "class": caller.cls,
        "sync_class": caller.sync_cls,
        "method": caller.method,
        "defined_at": caller.defined_at,
    }


def _calls(statement: Statement) -> str:
    return ", ".join(c.call for c in statement.callers) or "(nothing)"


def parse_statements(files: Mapping[str, str]) -> tuple[list[Statement], list[str]]:
    """The statements of query files given as ``{"queries/vaults.sql": text}``, in
    file and line order, and an error line for each file aiosql cannot read."""
    # The generic adapter leaves the SQL as written (:name placeholders).
    adapter = GenericAdapter()  # type: ignore[no-untyped-call]
    loader = StatementLoader(adapter, None, attribute="__")
    statements: list[Statement] = []
    errors: list[str] = []
    for path, text in sorted(files.items()):
        stem = PurePosixPath(path).stem
        try:
            data = loader.load_query_data_from_sql(text, [], path)
        except (SQLParseException, SQLLoadException) as exc:
            errors.append(f"{path}: {exc}")
            continue
        for datum in data:
            declared = datum.parameters
            if declared is None:  # "*!" and "#" declare none: take them from the SQL
                signature = datum.signature
                declared = [p for p in signature.parameters if p != "self"] if signature else []
            statements.append(
                Statement(
                    file=path,
                    line=datum.floc[1],
                    name=f"{stem}.{datum.query_name}",
                    operation=datum.operation_type,
                    params=tuple(declared),
                    doc=datum.doc_comments,
                    sql=datum.sql,
                )
            )
    return statements, errors


# -- who names which statement --------------------------------------------------


@attrs.define
class _Method:
    name: str
    line: int
    q_uses: list[tuple[str, int]] = attrs.field(factory=list)
    """``self._q.<name>``: a statement of the class's query file."""
    direct_uses: list[tuple[str, int]] = attrs.field(factory=list)
    """``<anything>.queries.<file>.<name>``."""
    self_refs: set[str] = attrs.field(factory=set)


@attrs.define
class _Class:
    name: str
    source: str
    bases: list[str]
    query_file: str | None = None
    methods: dict[str, _Method] = attrs.field(factory=dict)
    attached: list[tuple[str, str]] = attrs.field(factory=list)
    """``self.<attribute> = <Class>(...)``: (attribute, class name)."""


def _is_self_attr(node: ast.AST, attr: str | None = None) -> bool:
    return (
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "self"
        and (attr is None or node.attr == attr)
    )


def _query_file_of(node: ast.AST) -> str | None:
    """``<x>.queries.<file>`` -> file."""
    if (
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Attribute)
        and node.value.attr == "queries"
    ):
        return node.attr
    return None


def _read_method(func: ast.FunctionDef | ast.AsyncFunctionDef, cls: _Class) -> _Method:
    method = _Method(func.name, func.lineno)
    for node in ast.walk(func):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if _is_self_attr(target, "_q") and (file := _query_file_of(node.value)):
                    cls.query_file = file
                if (
                    _is_self_attr(target)
                    and isinstance(node.value, ast.Call)
                    and isinstance(node.value.func, ast.Name)
                ):
                    assert isinstance(target, ast.Attribute)
                    cls.attached.append((target.attr, node.value.func.id))
        if not isinstance(node, ast.Attribute):
            continue
        if _is_self_attr(node.value, "_q"):
            method.q_uses.append((node.attr, node.lineno))
        elif file := _query_file_of(node.value):
            method.direct_uses.append((f"{file}.{node.attr}", node.lineno))
        if _is_self_attr(node):
            method.self_refs.add(node.attr)
    return method


def _read_classes(label: str, source: str) -> list[_Class]:
    classes = []
    for node in ast.walk(ast.parse(source, label)):
        if not isinstance(node, ast.ClassDef):
            continue
        bases = [
            base.value.id
            if isinstance(base, ast.Subscript) and isinstance(base.value, ast.Name)
            else base.id
            if isinstance(base, ast.Name)
            else ""
            for base in node.bases
        ]
        cls = _Class(node.name, label, [b for b in bases if b])
        for item in node.body:
            if (
                isinstance(item, ast.Assign | ast.AnnAssign)
                and isinstance(item.value, ast.Constant)
                and isinstance(item.value.value, str)
                and any(
                    isinstance(t, ast.Name) and t.id == "queries_name"
                    for t in (item.targets if isinstance(item, ast.Assign) else [item.target])
                )
            ):
                cls.query_file = item.value.value
            elif isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                cls.methods[item.name] = _read_method(item, cls)
        classes.append(cls)
    return classes


class _Repositories:
    """The classes of the repositories' source, with inheritance resolved by name."""

    def __init__(self, classes: Iterable[_Class]) -> None:
        self.classes = {cls.name: cls for cls in classes}
        self.prefix: dict[str, str] = {}
        for cls in self.classes.values():
            attached = [(a, c) for a, c in cls.attached if c in self.classes]
            if attached:
                self.prefix.setdefault(cls.name, "store")
                for attribute, name in attached:
                    self.prefix.setdefault(name, f"store.{attribute}")

    def _bases(self, cls: _Class) -> list[_Class]:
        return [self.classes[b] for b in cls.bases if b in self.classes]

    def methods(self, cls: _Class) -> dict[str, tuple[_Class, _Method]]:
        """Every method of ``cls``, inherited ones included, with where it is defined."""
        found: dict[str, tuple[_Class, _Method]] = {}
        for base in reversed(self._bases(cls)):
            found.update(self.methods(base))
        found.update({name: (cls, method) for name, method in cls.methods.items()})
        return found

    def query_file(self, cls: _Class) -> str | None:
        if cls.query_file is not None:
            return cls.query_file
        return next((f for f in map(self.query_file, self._bases(cls)) if f is not None), None)

    def uses(self) -> list[Use]:
        """Every (statement, caller) pair: each method, public or not, with the
        statements it names itself or through the methods of ``self`` it calls."""
        uses: list[Use] = []
        for cls in self.classes.values():
            methods = self.methods(cls)
            query_file = self.query_file(cls)
            named: dict[str, list[tuple[str, str]]] = {}
            for name, (owner, method) in methods.items():
                found = [(q, f"{owner.source}:{line}") for q, line in method.direct_uses]
                if query_file is not None:
                    found += [
                        (f"{query_file}.{q}", f"{owner.source}:{line}") for q, line in method.q_uses
                    ]
                named[name] = found
            for name, (owner, method) in methods.items():
                caller = Caller(
                    call=f"{self.prefix.get(cls.name, cls.name)}.{name}",
                    cls=cls.name,
                    method=name,
                    defined_at=f"{owner.source}:{method.line}",
                )
                for reached in _reachable(name, methods):
                    uses.extend(
                        Use(q, where, caller, direct=reached == name) for q, where in named[reached]
                    )
        return uses


def _reachable(start: str, methods: Mapping[str, tuple[_Class, _Method]]) -> list[str]:
    seen = [start]
    for name in seen:
        seen.extend(r for r in sorted(methods[name][1].self_refs) if r in methods and r not in seen)
    return seen


def build_catalog(
    query_files: Mapping[str, str], sources: Mapping[str, str], folder: str = "queries"
) -> Catalog:
    """The catalogue of ``query_files`` (``{"queries/vaults.sql": text}``) as run by
    the repositories in ``sources`` (``{"vaultstore/_async/postgres.py": text}``).

    A statement's callers are the public methods that run it, directly or through
    other methods of the same object; methods inherited from a base class count for
    each subclass, with the subclass's query file. A private method counts only
    when no public one reaches the statement."""
    statements, errors = parse_statements(query_files)
    repositories = _Repositories(
        cls for label, text in sorted(sources.items()) for cls in _read_classes(label, text)
    )
    uses = repositories.uses()
    known = {s.name for s in statements}
    by_query: dict[str, list[Use]] = {}
    for use in uses:
        by_query.setdefault(use.query, []).append(use)
    with_callers = []
    for statement in statements:
        found = by_query.get(statement.name, [])
        public = [u for u in found if not u.caller.method.startswith("_")]
        callers = sorted({u.caller for u in (public or found)}, key=lambda c: (c.call, c.cls))
        with_callers.append(attrs.evolve(statement, callers=tuple(callers)))
    missing: dict[tuple[str, str], Use] = {}
    for use in uses:
        if use.direct and use.query not in known:
            missing.setdefault((use.query, use.source), use)
    return Catalog(
        tuple(with_callers),
        tuple(sorted(missing.values(), key=lambda u: (u.source, u.query))),
        tuple(errors),
        folder,
    )
