"""What the query files hold and who runs what: every named statement of
``queries/*.sql`` (file, line, kind, parameters, documentation), its MongoDB twin in
``queries/<entity>.mongodb.json``, and the repository methods that run it, read
from the registry and from what each method declares with ``@runs``.

No database I/O here: functions take the files' text, so that ``vaultstore
queries``, ``vaultstore check`` and the tests share one reading of them.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path, PurePosixPath
from typing import Any

import attrs
from aiosql.adapters.generic import GenericAdapter
from aiosql.types import SQLOperationType
from aiosql.utils import VAR_REF, SQLLoadException, SQLParseException

from .._async.documents import AsyncDocuments
from .._async.postgres import AsyncPostgresExecutor
from .._async.repositories import REPOSITORIES, AsyncAuditLog, AsyncRepository
from .._async.store import AsyncVaultStore
from .._mongo_operations import DeclarationError, MongoOperation, parse_operations
from .._pipeline import operations_run
from .._queries import MONGODB_SUFFIX, StatementLoader
from .._registry import REGISTRY, Registry
from .distribution import sql_routing, sql_routing_note, statement_mongodb_routing

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


@attrs.frozen
class Caller:
    """A repository method that runs a statement."""

    call: str
    """How an application calls it: ``store.vaults.find_by_id``."""
    cls: str
    """The class it runs in, in the async source: ``AsyncVaults``."""
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
    mongodb: MongoOperation | None = None
    """Its MongoDB twin, for an entity's statement."""

    @property
    def kind(self) -> str:
        return KINDS[self.operation][0]

    @property
    def suffix(self) -> str:
        return KINDS[self.operation][1]

    @property
    def location(self) -> str:
        return f"{self.file}:{self.line}"

    @property
    def routing(self) -> str:
        """Where it runs on Citus as vaultstore distributes the tables: ``one
        shard``, ``by row``, ``fans out``, ``reference`` or ``local``
        (:func:`vaultstore.admin.distribution.sql_routing`)."""
        return sql_routing(self.sql)

    @property
    def mongodb_routing(self) -> str | None:
        """Where its MongoDB twin runs on a sharded cluster, None without one."""
        return statement_mongodb_routing(self)

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
    """A method declaring (with ``@runs``) that it runs a statement."""

    query: str
    """``vaults.find_by_id``"""
    source: str
    """``file:line`` of the method's definition."""
    caller: Caller


@attrs.frozen
class Catalog:
    """Every statement with its callers, the statements the repositories name that no
    file has, and the query files that could not be read."""

    statements: tuple[Statement, ...]
    missing: tuple[Use, ...]
    errors: tuple[str, ...]
    folder: str = "queries"
    twin_problems: tuple[str, ...] = ()
    """SQL statements of an entity without a MongoDB twin, and the reverse."""

    def unused(self) -> list[Statement]:
        return [statement for statement in self.statements if not statement.callers]

    def problems(self) -> list[str]:
        """``file:line name: message`` for each query file that does not load, each
        statement no repository method runs, each statement a method names that
        does not exist, and each statement of an entity without its MongoDB twin
        (or a twin without its statement)."""
        lines = list(self.errors)
        lines.extend(self.twin_problems)
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
                    "routing": s.routing,
                    "routing_note": sql_routing_note(s.sql),
                    "mongodb": None
                    if s.mongodb is None
                    else {
                        "call": s.mongodb.call,
                        "doc": s.mongodb.doc,
                        "routing": s.mongodb_routing,
                    },
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
            lines.append(f"{indent}routing: {statement.routing}")
            if statement.mongodb is not None:
                lines.append(
                    f"{indent}mongodb: {statement.mongodb.call} ({statement.mongodb_routing})"
                )
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


# -- who runs which statement ----------------------------------------------------

_ROOT = Path(__file__).resolve().parent.parent.parent


def _where(function: Any) -> str:
    """``vaultstore/_async/repositories.py:120``: where ``function`` is defined."""
    function = inspect.unwrap(function)
    path = Path(inspect.getsourcefile(function) or "?").resolve()
    label = path.relative_to(_ROOT).as_posix() if path.is_relative_to(_ROOT) else path.name
    lines, first = inspect.getsourcelines(function)
    offset = next(i for i, line in enumerate(lines) if line.lstrip().startswith(("def", "async")))
    return f"{label}:{first + offset}"


def _repositories(registry: Registry) -> Iterable[tuple[str, str, type]]:
    """(attribute of the store, query file stem, class) of every repository, the
    store itself (its methods name statements with their file: ``health.ping``),
    and what connecting runs on PostgreSQL."""
    for entity in registry:
        yield f"store.{entity.name}", entity.name, REPOSITORIES.get(entity.cls, AsyncRepository)
    yield "store.documents", "documents", AsyncDocuments
    yield "store.audit", "audit", AsyncAuditLog
    yield "store", "", AsyncVaultStore
    yield "connect", "", AsyncPostgresExecutor  # each new pooled connection


def declared_uses(registry: Registry = REGISTRY) -> list[Use]:
    """Every (statement, method) pair that a repository method declares with
    ``@runs``, inherited methods counting for each repository."""
    uses: list[Use] = []
    for prefix, stem, cls in _repositories(registry):
        for name, member in inspect.getmembers(cls, callable):
            declared = operations_run(member)
            if not declared or name.startswith("_"):
                continue
            caller = Caller(
                call=f"{prefix}.{name}", cls=cls.__name__, method=name, defined_at=_where(member)
            )
            uses.extend(
                Use(query if "." in query else f"{stem}.{query}", caller.defined_at, caller)
                for query in declared
            )
    return uses


_MONGODB_ONLY = frozenset({"entity", "entities", "changes", "now"})
"""What a MongoDB twin may take that its statement spells otherwise: the entity
whose columns the statement takes, the changes of an update, the current time."""


def _twin_problems(
    statements: Iterable[Statement],
    mongodb_files: Mapping[str, str],
    registry: Registry,
    folder: str,
) -> tuple[dict[str, MongoOperation], list[str]]:
    """The MongoDB twin of every entity's statement, by statement name, and a line
    for each twin missing on either side or unreadable."""
    twins: dict[str, MongoOperation] = {}
    problems: list[str] = []
    by_entity: dict[str, list[Statement]] = {}
    for statement in statements:
        by_entity.setdefault(statement.name.partition(".")[0], []).append(statement)
    for entity in registry:
        label = f"{folder}/{entity.name}{MONGODB_SUFFIX}"
        text = mongodb_files.get(label)
        if text is None:
            problems.append(f"{label}: missing: every entity declares its MongoDB operations")
            continue
        try:
            declared = parse_operations(json.loads(text), label)
        except (ValueError, DeclarationError) as exc:
            problems.append(f"{label}: {exc}")
            continue
        sql_names = set()
        for statement in by_entity.get(entity.name, []):
            name = statement.name.partition(".")[2]
            sql_names.add(name)
            twin = declared.get(name)
            if twin is None:
                problems.append(statement.problem(f"has no MongoDB twin in {label}"))
                continue
            twins[statement.name] = twin
            unknown = sorted(twin.parameters - set(statement.params) - _MONGODB_ONLY)
            if unknown:
                problems.append(
                    f"{label} {statement.name}: takes "
                    f"{', '.join(':' + p for p in unknown)}, which "
                    f"{statement.location} does not; the twins take the same parameters"
                )
        problems.extend(
            f"{label} {entity.name}.{name}: has no statement of that name in "
            f"{folder}/{entity.name}.sql"
            for name in sorted(set(declared) - sql_names)
        )
    return twins, problems


def build_catalog(
    query_files: Mapping[str, str],
    mongodb_files: Mapping[str, str] | None = None,
    folder: str = "queries",
    registry: Registry = REGISTRY,
) -> Catalog:
    """The catalogue of ``query_files`` (``{"queries/vaults.sql": text}``) and their
    MongoDB twins (``{"queries/vaults.mongodb.json": text}``; not checked when
    None) as the repositories of ``registry`` run them.

    A statement's callers are the public methods that declare it with ``@runs``;
    methods inherited from a base class count for each subclass."""
    statements, errors = parse_statements(query_files)
    twins: dict[str, MongoOperation] = {}
    twin_problems: list[str] = []
    if mongodb_files is not None:
        twins, twin_problems = _twin_problems(statements, mongodb_files, registry, folder)
    uses = declared_uses(registry)
    known = {s.name for s in statements}
    by_query: dict[str, list[Use]] = {}
    for use in uses:
        by_query.setdefault(use.query, []).append(use)
    with_callers = [
        attrs.evolve(
            statement,
            callers=tuple(
                sorted(
                    {u.caller for u in by_query.get(statement.name, [])},
                    key=lambda c: (c.call, c.cls),
                )
            ),
            mongodb=twins.get(statement.name),
        )
        for statement in statements
    ]
    missing: dict[tuple[str, str], Use] = {}
    for use in uses:
        if use.query not in known:
            missing.setdefault((use.query, use.caller.call), use)
    return Catalog(
        tuple(with_callers),
        tuple(sorted(missing.values(), key=lambda u: (u.source, u.query))),
        tuple(errors),
        folder,
        tuple(twin_problems),
    )
