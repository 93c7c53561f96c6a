"""``vaultstore roles``: the application is not the schema's owner.

Two roles. The **migrator** owns vaultstore's schema objects and runs ``vaultstore
migrate`` / ``rollback`` / ``partitions``. The **application** role gets exactly
what the access description below says: the DML its statements need, SELECT on
yoyo's ``_yoyo_migration`` (``store.pending_migrations()``), and nothing else: no
DDL (no CREATE on the schema or TEMPORARY on the database, owns nothing), not a
superuser, no BYPASSRLS, not a member of the migrator, nothing on yoyo's other
tables or the checksum table, no EXECUTE on vaultstore's functions.

The description (:data:`TABLES`, :data:`FUNCTIONS`, :data:`COLLECTIONS`) is the one
place that says which table gets which privileges; a table or function it does not
cover gets nothing, and ``vaultstore check`` reports it (:func:`access_problems`),
so a migration that adds a table must say here what the application may do with
it. Tenancy (row-level security) and the audit log extend it.

A run is idempotent and converges: in one transaction it creates the roles that do
not exist (NOLOGIN unless ``login``), gives every object of the schema not owned by
the migrator to it (tables, partitions, views, sequences, functions; the database
and the schema too when the application role owns them), revokes everything from
the application role and PUBLIC on every table, sequence and function of the
schema, and grants what the description says. Run it again after every migration:
new tables get their grants. What the migrator creates in between gets nothing by
default (``ALTER DEFAULT PRIVILEGES FOR ROLE <migrator>`` revokes PostgreSQL's
EXECUTE-to-PUBLIC on functions, and any default grant to the application role): a
default cannot tell yoyo's tables, the checksum table or an audit log from the
others, so a new table is refused to the application until the description covers
it and the command runs, rather than writable by it.

Statements are composed with :mod:`psycopg.sql` (identifiers quoted by psycopg,
never formatted into strings); the catalog queries are ``sql/roles.sql``. MongoDB:
:func:`mongodb_commands`, ``createRole`` / ``updateRole`` with the same description.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import attrs
from psycopg import sql

from .._registry import REGISTRY, Registry
from .._settings import Settings, resolve_settings
from ..errors import ValidationError, VaultStoreError

__all__ = [
    "COLLECTIONS",
    "FUNCTIONS",
    "TABLES",
    "CollectionAccess",
    "FunctionAccess",
    "RoleNames",
    "RolesReport",
    "TableAccess",
    "access_problems",
    "mongodb_commands",
    "setup_roles",
]

SCHEMA = "public"
"""The schema vaultstore's migrations create their objects in."""
DESCRIPTION_FILE = "vaultstore/admin/roles.py"
PASSWORD_ENV = {
    "app": "VAULTSTORE_APP_ROLE_PASSWORD",
    "migrator": "VAULTSTORE_MIGRATOR_ROLE_PASSWORD",
}
"""Where ``--login`` reads each role's password (else it prompts on a terminal)."""

Privilege = Literal["SELECT", "INSERT", "UPDATE", "DELETE"]
MongoAction = Literal["find", "insert", "update", "remove"]

ENTITY_PRIVILEGES: tuple[Privilege, ...] = ("SELECT", "INSERT", "UPDATE", "DELETE")


@attrs.frozen
class TableAccess:
    """What the application role may do with one table (and, through it, with its
    partitions): nothing beyond ``app``."""

    table: str
    app: tuple[Privilege, ...]
    why: str = ""


@attrs.frozen
class FunctionAccess:
    """Whether the application role may call one function of the schema."""

    name: str
    app_executes: bool
    why: str = ""


@attrs.frozen
class CollectionAccess:
    """What the application role may do with one MongoDB collection."""

    collection: str
    app: tuple[MongoAction, ...]
    why: str = ""


def table_access(registry: Registry = REGISTRY) -> tuple[TableAccess, ...]:
    """The access description of ``registry``'s tables and of the tables that are
    not an entity's."""
    return (
        *(
            TableAccess(
                entity.table,
                ENTITY_PRIVILEGES,
                why="an entity's table: its repository creates, reads, updates (lock() is "
                "SELECT ... FOR UPDATE, which needs UPDATE) and deletes; bulk_insert and "
                "restore COPY into it, which needs INSERT",
            )
            for entity in registry
        ),
        TableAccess(
            "documents",
            ("SELECT", "INSERT", "DELETE"),
            why="documents are put, read, listed and deleted, never updated; deleting a "
            "vault or an agent deletes its documents (documents.delete_by_owner)",
        ),
        TableAccess(
            "document_chunks",
            ("SELECT", "INSERT"),
            why="written once and read in order; deleted by the cascade of "
            "document_chunks_document_id_fkey, which runs as the table's owner",
        ),
        TableAccess(
            "audit_log",
            ("SELECT", "INSERT"),
            why="the audit trail, append-only: its triggers (and record_batch, for a "
            "batch) append a row in each write's transaction, store.audit reads it; "
            "no UPDATE or DELETE, nor does any row-level policy allow them",
        ),
        TableAccess(
            "change_feed",
            ("SELECT", "INSERT"),
            why="the change feed's outbox: its triggers append a row in each write's "
            "transaction, store.watch reads it; pruning (DELETE) is the migrator's "
            "(vaultstore prune-changes)",
        ),
        TableAccess(
            "change_feed_pruned",
            ("SELECT",),
            why="how far vaultstore prune-changes (the migrator) pruned the change feed: "
            "store.watch reads it to refuse a resume token older than that",
        ),
        TableAccess(
            "_yoyo_migration",
            ("SELECT",),
            why="store.pending_migrations() and the not-migrated hint read which "
            "migrations are applied; only the migrator writes it",
        ),
        TableAccess("_yoyo_log", (), why="yoyo's history: the migrator's"),
        TableAccess("_yoyo_version", (), why="yoyo's schema version: the migrator's"),
        TableAccess("yoyo_lock", (), why="yoyo's lock, taken by the migrator only"),
        TableAccess(
            "vaultstore_migration_checksums",
            ("SELECT",),
            why="written by migrations/post-apply.py as the migrator; store.health() reads "
            "it to tell a migration changed since it was applied",
        ),
    )


TABLES: tuple[TableAccess, ...] = table_access()
"""The application role's privileges, table by table; every other table gets none."""

FUNCTIONS: tuple[FunctionAccess, ...] = (
    FunctionAccess(
        "vaultstore_touch_updated_at",
        app_executes=False,
        why="a trigger's function: a trigger fires it without checking EXECUTE",
    ),
    FunctionAccess(
        "vaultstore_delete_owned_documents",
        app_executes=False,
        why="migration 0011's trigger function, dropped by 0014 (back while a database is "
        "rolled back before it): it runs as the caller, whose DELETE on documents it needs",
    ),
    FunctionAccess(
        "vaultstore_audit",
        app_executes=False,
        why="the audit triggers' function (migration 0016): a trigger fires it without "
        "checking EXECUTE; it runs as the writer, whose INSERT on audit_log it needs",
    ),
    FunctionAccess(
        "vaultstore_change_feed",
        app_executes=False,
        why="the change feed triggers' function (migration 0017): a trigger fires it "
        "without checking EXECUTE; it runs as the writer, whose INSERT on change_feed "
        "it needs",
    ),
    FunctionAccess(
        "market_data_create_partition",
        app_executes=False,
        why="vaultstore partitions and copy, run as the migrator: a partition belongs to "
        "whoever creates it, and the application creates no table",
    ),
)
"""The schema's functions; the application role executes only those marked."""

_ENTITY_ACTIONS: tuple[MongoAction, ...] = ("find", "insert", "update", "remove")

COLLECTIONS: tuple[CollectionAccess, ...] = (
    *(
        CollectionAccess(
            entity.table,
            _ENTITY_ACTIONS,
            why="an entity's collection (lock() writes _locked_at: update)",
        )
        for entity in REGISTRY
    ),
    CollectionAccess(
        "documents.files", ("find", "insert", "remove"), why="the documents' GridFS files"
    ),
    CollectionAccess(
        "documents.chunks", ("find", "insert", "remove"), why="the documents' GridFS chunks"
    ),
    CollectionAccess(
        "vaultstore_migrations",
        ("find",),
        why="store.pending_migrations() reads the applied schema steps",
    ),
    CollectionAccess(
        "audit_log",
        ("find", "insert"),
        why="the audit trail: append-only, so no update and no remove (store.audit reads it)",
    ),
)
"""The MongoDB application role's actions, collection by collection."""

APP_DATABASE_ACTIONS = ("changeStream", "find")
"""The MongoDB application role's actions on the whole database: a change stream
of the database (``store.watch()``) needs both there; ``find`` adds nothing the
collections' own grants do not give (every collection above has it)."""

MIGRATOR_ACTIONS = (
    "collMod",
    "createCollection",
    "createIndex",
    "dropCollection",
    "dropIndex",
    "find",
    "insert",
    "listCollections",
    "listIndexes",
    "remove",
    "update",
)
"""The MongoDB migrator's actions on every collection of the database: what
``vaultstore migrate`` / ``rollback`` do (validators by collMod, indexes, the
record of the steps) and ``vaultstore partitions --retain`` (remove)."""


# -- the roles ---------------------------------------------------------------------


@attrs.frozen
class RoleNames:
    """The two roles' names."""

    app: str
    migrator: str

    def __attrs_post_init__(self) -> None:
        for field in ("app", "migrator"):
            name = getattr(self, field)
            if not isinstance(name, str) or not name.strip():
                raise ValidationError(f"must name a role, got {name!r}", field=f"{field}_role")
            if len(name.encode()) > 63 or name.startswith("pg_") or "\x00" in name:
                raise ValidationError(
                    f"{name!r} cannot name a role (at most 63 bytes, not pg_...)",
                    field=f"{field}_role",
                )
        if self.app == self.migrator:
            raise ValidationError(
                "the application and migrator roles must differ", field="app_role"
            )


@attrs.frozen
class Role:
    name: str
    superuser: bool
    bypass_rls: bool
    can_login: bool


@attrs.frozen
class Relation:
    name: str
    kind: str
    """pg_class.relkind: r table, p partitioned table, v view, m materialized view,
    f foreign table, S sequence."""
    is_partition: bool
    owner: str
    owned_by_table: str | None = None
    """A sequence owned by a column of this table (serial, identity)."""


@attrs.frozen
class Function:
    name: str
    kind: str
    """f function, p procedure."""
    owner: str
    argument_types: tuple[str, ...]


@attrs.frozen
class Facts:
    """What the command reads off the database before it decides what to run."""

    database: str
    database_owner: str
    schema_owner: str
    roles: Mapping[str, Role]
    """The two roles, those that exist."""
    app_is_member_of_migrator: bool
    relations: Sequence[Relation]
    functions: Sequence[Function]


def access_problems(
    tables: Iterable[str],
    functions: Iterable[str],
    table_design: Sequence[TableAccess] = TABLES,
    function_design: Sequence[FunctionAccess] = FUNCTIONS,
) -> list[str]:
    """A line per table (not a partition) or function of the schema that the access
    description does not cover: the application role gets nothing on it, which
    must be a decision, not an oversight."""
    tables_known = {t.table for t in table_design}
    functions_known = {f.name for f in function_design}
    return [
        *(
            f"{DESCRIPTION_FILE} {name}: not in the access description (TABLES): say what "
            "the application role may do with it, () for nothing"
            for name in sorted(set(tables) - tables_known)
        ),
        *(
            f"{DESCRIPTION_FILE} {name}(): not in the access description (FUNCTIONS): say "
            "whether the application role may execute it"
            for name in sorted(set(functions) - functions_known)
        ),
    ]


def refusals(facts: Facts, names: RoleNames) -> list[str]:
    """Why the application role, as it exists, cannot be made safe by grants alone
    (the command changes no attribute of a role it did not create)."""
    app = facts.roles.get(names.app)
    problems = []
    if app is not None and app.superuser:
        problems.append(
            f"{names.app} is a superuser, which bypasses every privilege and row-level "
            f"security: ALTER ROLE {names.app} NOSUPERUSER, or name another role"
        )
    if app is not None and app.bypass_rls:
        problems.append(
            f"{names.app} has BYPASSRLS: ALTER ROLE {names.app} NOBYPASSRLS, or name another role"
        )
    if facts.app_is_member_of_migrator:
        problems.append(
            f"{names.app} is a member of {names.migrator}, whose ownership it would share: "
            f"REVOKE {names.migrator} FROM {names.app}"
        )
    migrator = facts.roles.get(names.migrator)
    if migrator is not None and migrator.superuser:
        problems.append(f"{names.migrator} is a superuser: name an ordinary role to own the schema")
    return problems


# -- the statements ----------------------------------------------------------------


@attrs.frozen
class Step:
    """One statement, and how ``--print`` shows it (a password is never shown)."""

    statement: sql.Composed
    shown: sql.Composed | None = None
    """None: shown as run."""
    comment: str | None = None
    """A line printed above it."""


_RELATION_KEYWORD = {
    "r": "TABLE",
    "p": "TABLE",
    "v": "VIEW",
    "m": "MATERIALIZED VIEW",
    "f": "FOREIGN TABLE",
    "S": "SEQUENCE",
}


def _qualified(name: str) -> sql.Identifier:
    return sql.Identifier(SCHEMA, name)


def _function(function: Function) -> sql.Composed:
    # The argument types are format_type()'s output: type names quoted as needed by
    # the server itself, as ALTER / GRANT ... ROUTINE name(types) wants them.
    types = sql.SQL(", ").join([sql.SQL(t) for t in function.argument_types])
    return sql.Composed([_qualified(function.name), sql.SQL("("), types, sql.SQL(")")])


def _commented(statements: Sequence[sql.Composed], comment: str) -> list[Step]:
    return [Step(s, comment=comment if i == 0 else None) for i, s in enumerate(statements)]


def _role_steps(
    facts: Facts, names: RoleNames, login: bool, passwords: Mapping[str, str]
) -> list[Step]:
    steps = []
    attributes = sql.SQL(
        ("LOGIN" if login else "NOLOGIN") + " NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS"
    )
    for role in (names.migrator, names.app):
        ident = sql.Identifier(role)
        if role not in facts.roles:
            steps.append(
                Step(
                    sql.SQL("CREATE ROLE {} {}").format(ident, attributes),
                    comment=f"-- {role}: created",
                )
            )
        elif login and not facts.roles[role].can_login:
            steps.append(Step(sql.SQL("ALTER ROLE {} LOGIN").format(ident)))
        if login and role in passwords:
            steps.append(
                Step(
                    sql.SQL("ALTER ROLE {} PASSWORD {}").format(
                        ident, sql.Literal(passwords[role])
                    ),
                    shown=sql.SQL("\\password {}").format(ident),
                    comment="-- the password, from the environment or typed: psql's "
                    "\\password prompts for it and sends it encrypted, as vaultstore roles does",
                )
            )
    return steps


def _database_steps(facts: Facts, names: RoleNames) -> list[Step]:
    app, migrator = sql.Identifier(names.app), sql.Identifier(names.migrator)
    database, schema = sql.Identifier(facts.database), sql.Identifier(SCHEMA)
    statements = []
    if facts.database_owner == names.app:
        statements.append(sql.SQL("ALTER DATABASE {} OWNER TO {}").format(database, migrator))
    statements += [
        sql.SQL("GRANT CONNECT ON DATABASE {} TO {}, {}").format(database, app, migrator),
        sql.SQL("REVOKE CREATE, TEMPORARY ON DATABASE {} FROM PUBLIC, {}").format(database, app),
        sql.SQL("GRANT TEMPORARY ON DATABASE {} TO {}").format(database, migrator),
    ]
    if facts.schema_owner == names.app:
        statements.append(sql.SQL("ALTER SCHEMA {} OWNER TO {}").format(schema, migrator))
    statements += [
        sql.SQL("REVOKE CREATE ON SCHEMA {} FROM PUBLIC, {}").format(schema, app),
        sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(schema, app),
        sql.SQL("GRANT USAGE, CREATE ON SCHEMA {} TO {}").format(schema, migrator),
    ]
    return _commented(
        statements,
        f"-- the database and the schema: the application connects and uses; only "
        f"{names.migrator} creates",
    )


def _ownership_steps(facts: Facts, names: RoleNames) -> list[Step]:
    migrator = sql.Identifier(names.migrator)
    statements = [
        sql.SQL("ALTER {} {} OWNER TO {}").format(
            sql.SQL(_RELATION_KEYWORD[relation.kind]), _qualified(relation.name), migrator
        )
        for relation in facts.relations
        # a column's sequence follows its table
        if relation.owner != names.migrator and relation.owned_by_table is None
    ]
    statements += [
        sql.SQL("ALTER ROUTINE {} OWNER TO {}").format(_function(function), migrator)
        for function in facts.functions
        if function.owner != names.migrator
    ]
    return _commented(statements, f"-- ownership: every object of the schema is {names.migrator}'s")


def _grant_steps(
    facts: Facts,
    names: RoleNames,
    table_design: Sequence[TableAccess],
    function_design: Sequence[FunctionAccess],
) -> list[Step]:
    app, schema = sql.Identifier(names.app), sql.Identifier(SCHEMA)
    present = {r.name for r in facts.relations if not r.is_partition and r.kind != "S"}
    statements = [
        sql.SQL("REVOKE ALL ON ALL TABLES IN SCHEMA {} FROM PUBLIC, {}").format(schema, app)
    ]
    inserted = set()
    for access in table_design:
        if access.table in present and access.app:
            privileges = sql.SQL(", ").join([sql.SQL(p) for p in access.app])
            statements.append(
                sql.SQL("GRANT {} ON TABLE {} TO {}").format(
                    privileges, _qualified(access.table), app
                )
            )
            if "INSERT" in access.app:
                inserted.add(access.table)
    statements.append(
        sql.SQL("REVOKE ALL ON ALL SEQUENCES IN SCHEMA {} FROM PUBLIC, {}").format(schema, app)
    )
    statements += [
        sql.SQL("GRANT USAGE, SELECT ON SEQUENCE {} TO {}").format(_qualified(r.name), app)
        for r in facts.relations
        if r.kind == "S" and r.owned_by_table in inserted
    ]
    executes = {f.name for f in function_design if f.app_executes}
    for function in facts.functions:
        statements.append(
            sql.SQL("REVOKE ALL ON ROUTINE {} FROM PUBLIC, {}").format(_function(function), app)
        )
        if function.name in executes:
            statements.append(
                sql.SQL("GRANT EXECUTE ON ROUTINE {} TO {}").format(_function(function), app)
            )
    return _commented(
        statements, f"-- the application role: exactly what {DESCRIPTION_FILE} describes"
    )


def _default_steps(names: RoleNames) -> list[Step]:
    app, migrator = sql.Identifier(names.app), sql.Identifier(names.migrator)
    schema = sql.Identifier(SCHEMA)
    statements = []
    for kind in ("TABLES", "SEQUENCES", "FUNCTIONS"):
        everyone = sql.SQL("PUBLIC, {}" if kind == "FUNCTIONS" else "{}").format(app)
        statements += [
            sql.SQL("ALTER DEFAULT PRIVILEGES FOR ROLE {} REVOKE ALL ON {} FROM {}").format(
                migrator, sql.SQL(kind), everyone
            ),
            sql.SQL(
                "ALTER DEFAULT PRIVILEGES FOR ROLE {} IN SCHEMA {} REVOKE ALL ON {} FROM {}"
            ).format(migrator, schema, sql.SQL(kind), app),
        ]
    return _commented(
        statements,
        f"-- what {names.migrator} creates later: nothing for the application until the "
        "description covers it and this runs again; no function executable by PUBLIC",
    )


def plan(
    facts: Facts,
    names: RoleNames,
    *,
    login: bool = False,
    passwords: Mapping[str, str] | None = None,
    table_design: Sequence[TableAccess] = TABLES,
    function_design: Sequence[FunctionAccess] = FUNCTIONS,
) -> list[Step]:
    """The statements that bring the database to the description, in the order they
    run (in one transaction). ``passwords`` maps a role's name to its encrypted
    password (a SCRAM verifier), set with ``login``."""
    return [
        *_role_steps(facts, names, login, passwords or {}),
        *_database_steps(facts, names),
        *_ownership_steps(facts, names),
        *_grant_steps(facts, names, table_design, function_design),
        *_default_steps(names),
    ]


# -- running it --------------------------------------------------------------------


@attrs.frozen
class RolesReport:
    """What a run did (or, with ``dry_run``, would do): the script, as printed."""

    backend: str
    script: str
    dry_run: bool
    statements: int

    def lines(self) -> list[str]:
        done = (
            "-- not run (--print)"
            if self.dry_run
            else f"-- done: {self.statements} statements, in one transaction"
            if self.backend == "postgresql"
            else f"-- done: {self.statements} commands"
        )
        return [*self.script.splitlines(), done]


def read_facts(conn: Any, names: RoleNames | None) -> Facts:
    """The catalog facts of the connected database (``names`` None: the schema's
    objects only, no role)."""
    from .schema import catalog_queries  # noqa: PLC0415 - I/O kept apart

    queries = catalog_queries("roles")
    owners = queries.owners(conn, schema=SCHEMA)
    if owners is None:
        raise VaultStoreError(f"the database has no schema {SCHEMA}")
    roles = {
        row["role_name"]: Role(
            row["role_name"], row["superuser_role"], row["bypass_rls"], row["can_login"]
        )
        for row in queries.roles(conn, names=[names.app, names.migrator] if names else [])
    }
    member = (
        names is not None
        and names.app in roles
        and names.migrator in roles
        and bool(queries.is_member(conn, role=names.app, of=names.migrator))
    )
    relations = [
        Relation(
            row["relation_name"],
            row["kind"],
            row["is_partition"],
            row["owner_name"],
            row["owned_by_table"],
        )
        for row in queries.relations(conn, schema=SCHEMA)
    ]
    functions = [
        Function(row["function_name"], row["kind"], row["owner_name"], tuple(row["argument_types"]))
        for row in queries.functions(conn, schema=SCHEMA)
    ]
    return Facts(
        owners["database_name"],
        owners["database_owner"],
        owners["schema_owner"],
        roles,
        member,
        relations,
        functions,
    )


def _script(conn: Any, steps: Sequence[Step]) -> str:
    lines = []
    for step in steps:
        if step.comment:
            lines.append(step.comment)
        shown = step.shown if step.shown is not None else step.statement
        text = shown.as_string(conn)
        lines.append(text if text.startswith("\\") else text + ";")
    return "\n".join(lines) + "\n"


def setup_roles(
    database: str | Settings | None,
    app_role: str,
    migrator_role: str,
    *,
    login: bool = False,
    passwords: Mapping[str, str] | None = None,
    dry_run: bool = False,
    env: Mapping[str, str] | None = None,
) -> RolesReport:
    """Set up (or bring up to date) the application and migrator roles on the
    database of ``database``; see the module's documentation. ``passwords`` maps
    ``"app"`` / ``"migrator"`` to a password in clear, used with ``login`` and sent
    encrypted (with ``dry_run``, shown as psql's ``\\password``). Refuses
    (VaultStoreError, nothing done) when the application role
    exists with an attribute no grant can take back."""
    names = RoleNames(app_role, migrator_role)
    settings = resolve_settings(database, env)
    if settings.backend == "mongodb":
        if login:
            raise ValidationError(
                "MongoDB's roles are granted to users: create them with "
                "db.createUser({user: ..., pwd: passwordPrompt(), roles: [...]})",
                field="login",
            )
        return _mongodb_roles(settings, names, dry_run=dry_run)

    from .schema import admin_connection  # noqa: PLC0415 - I/O kept apart

    with admin_connection(settings) as conn:
        facts = read_facts(conn, names)
        problems = refusals(facts, names)
        if problems:
            raise VaultStoreError("vaultstore roles refuses: " + "; ".join(problems))
        # Sent encrypted (a SCRAM verifier, made by libpq as psql's \password
        # makes it): the password in clear reaches no server log.
        verifiers = {}
        for key, role in (("app", names.app), ("migrator", names.migrator)):
            password = (passwords or {}).get(key)
            if login and dry_run:
                verifiers[role] = ""  # shown as \\password, never run
            elif login and password is not None:
                verifiers[role] = conn.pgconn.encrypt_password(
                    password.encode(), role.encode()
                ).decode()
        steps = plan(facts, names, login=login, passwords=verifiers)
        script = _script(conn, steps)
        if not dry_run:
            with conn.transaction():
                for step in steps:
                    conn.execute(step.statement)
    return RolesReport("postgresql", script, dry_run, len(steps))


# -- MongoDB -----------------------------------------------------------------------


def mongodb_privileges(
    database: str, names: RoleNames, design: Sequence[CollectionAccess] = COLLECTIONS
) -> dict[str, list[dict[str, Any]]]:
    """Each role's ``privileges`` for ``createRole`` / ``updateRole``."""
    app = [
        {"resource": {"db": database, "collection": c.collection}, "actions": sorted(c.app)}
        for c in design
        if c.app
    ]
    app.append(
        {"resource": {"db": database, "collection": ""}, "actions": list(APP_DATABASE_ACTIONS)}
    )
    migrator = [
        {"resource": {"db": database, "collection": ""}, "actions": list(MIGRATOR_ACTIONS)},
        # "" names every collection but the system ones: GridFS's are ordinary ones.
    ]
    return {names.app: app, names.migrator: migrator}


def mongodb_commands(
    database: str, names: RoleNames, existing: Iterable[str] = ()
) -> list[dict[str, Any]]:
    """The commands that make (``createRole``) or bring up to date (``updateRole``)
    both roles, run on ``database``."""
    known = set(existing)
    return [
        {
            ("updateRole" if role in known else "createRole"): role,
            "privileges": privileges,
            "roles": [],
        }
        for role, privileges in mongodb_privileges(database, names).items()
    ]


def _mongodb_roles(settings: Settings, names: RoleNames, *, dry_run: bool) -> RolesReport:
    from .mongo_migrate import _database  # noqa: PLC0415 - I/O kept apart

    with _database(settings) as db:
        info = db.command("rolesInfo", [names.app, names.migrator])
        existing = [role["role"] for role in info.get("roles", [])]
        commands = mongodb_commands(db.name, names, existing)
        script = "".join(
            f"db.getSiblingDB({json.dumps(db.name)}).runCommand({json.dumps(c, indent=2)});\n"
            for c in commands
        )
        if not dry_run:
            for command in commands:
                db.command(command)
    return RolesReport("mongodb", script, dry_run, len(commands))


# -- the check ---------------------------------------------------------------------


def mongodb_access_problems(
    steps: Iterable[Any], design: Sequence[CollectionAccess] = COLLECTIONS
) -> list[str]:
    """A line per collection the MongoDB schema steps make (or index) that the
    access description does not cover."""
    made = {name for step in steps for name in (*step.collections, *step.indexes)}
    known = {c.collection for c in design}
    return [
        f"{DESCRIPTION_FILE} {name}: not in the access description (COLLECTIONS): say "
        "what the application role may do with it, () for nothing"
        for name in sorted(made - known)
    ]


def access_check(settings: Settings, migrations: Path) -> list[str]:
    """``vaultstore check``'s part: every table and function of the migrated
    database of ``settings``, and every collection of the MongoDB steps of
    ``migrations``, is in the access description."""
    from .._resources import schema_steps  # noqa: PLC0415 - I/O kept apart
    from .schema import admin_connection  # noqa: PLC0415

    with admin_connection(settings) as conn:
        facts = read_facts(conn, None)
    tables = [r.name for r in facts.relations if not r.is_partition and r.kind != "S"]
    return [
        *access_problems(tables, [f.name for f in facts.functions]),
        *mongodb_access_problems(schema_steps(migrations / "mongodb")),
    ]
