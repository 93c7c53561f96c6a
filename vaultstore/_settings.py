"""Configuration: where the database is and how to pool connections to it, read from
the environment or a URL. The connection string goes to the driver as written, read
by the driver's own parser; every secret in it is kept out of reprs and messages."""

from __future__ import annotations

import math
import os
import re
import warnings
from collections.abc import Iterable, Mapping
from typing import Any, Literal
from urllib.parse import parse_qsl, quote, urlsplit

import attrs
import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from pymongo.errors import ConfigurationError, PyMongoError
from pymongo.uri_parser import parse_uri

from ._scope import Scope
from .errors import ValidationError

Backend = Literal["postgresql", "mongodb"]

_POSTGRES_SCHEMES = {"postgresql", "postgres", "postgresql+psycopg"}
_MONGO_SCHEMES = {"mongodb", "mongodb+srv"}
_SSL_MODES = {"disable", "allow", "prefer", "require", "verify-ca", "verify-full"}
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


@attrs.frozen(kw_only=True)
class PoolOptions:
    """Connection pool settings, shared by both backends."""

    min_size: int = 1
    max_size: int = 10
    connect_timeout: float = 10.0
    """Seconds to wait for a new connection, or for a free one from the pool."""
    idle_timeout: float = 600.0
    """Seconds an unused connection stays open before the pool closes it."""
    operation_timeout: float = 30.0
    """Seconds any one statement or operation may take, waiting for a lock
    included, before the server cancels it (PostgreSQL's statement_timeout,
    MongoDB's timeoutMS): no call blocks forever."""
    transaction_pooling: bool = False
    """PostgreSQL: the store connects through a pooler in transaction mode (such
    as PgBouncer's ``pool_mode = transaction``), which hands each transaction to
    whichever server connection is free. vaultstore then keeps no session state
    that matters: the operation timeout is set in the transaction of every
    statement, statements are not prepared (unless ``prepare_threshold`` says
    otherwise), and a connection string's startup ``options`` are refused."""
    prepare_threshold: int | None = attrs.field(
        default=attrs.Factory(lambda self: None if self.transaction_pooling else 5, takes_self=True)
    )
    """PostgreSQL: executions of a statement before psycopg prepares it on the server;
    None never prepares. 5 by default; None with ``transaction_pooling``, since a
    pooler in transaction mode before PgBouncer 1.21 loses prepared statements."""

    def __attrs_post_init__(self) -> None:
        check_pool_options(self)


@attrs.frozen(kw_only=True)
class ReplicaOptions:
    """How reads use PostgreSQL read replicas (hot standbys of the primary)."""

    wait: float = 0.1
    """Seconds a read waits for a replica to replay this store's latest write
    (read-your-writes) before it goes to the primary instead."""
    max_lag: int = 16 * 1024 * 1024
    """Bytes of WAL a replica may be behind the primary and still serve reads."""

    def __attrs_post_init__(self) -> None:
        wait = self.wait
        if (
            isinstance(wait, bool)
            or not isinstance(wait, int | float)
            or not (math.isfinite(wait) and wait >= 0)
        ):
            raise ValidationError(
                f"expected a number of seconds >= 0, got {wait!r}", field="replica_wait"
            )
        lag = self.max_lag
        if isinstance(lag, bool) or not isinstance(lag, int) or lag < 0:
            raise ValidationError(f"expected an int >= 0, got {lag!r}", field="replica_max_lag")


@attrs.frozen(kw_only=True)
class Monitoring:
    """What every call reports (see the README's "Monitoring")."""

    metrics: bool = True
    """Count calls, errors, rows and latency per statement (``store.metrics()``)."""
    slow_ms: float | None = None
    """A call that takes this many milliseconds or more logs one WARNING line on
    the ``vaultstore`` logger; None logs none."""

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.metrics, bool):
            raise ValidationError(f"expected True or False, got {self.metrics!r}", field="metrics")
        slow = self.slow_ms
        if slow is not None and (
            isinstance(slow, bool)
            or not isinstance(slow, int | float)
            or not (math.isfinite(slow) and slow >= 0)
        ):
            raise ValidationError(
                f"expected a number of milliseconds >= 0, got {slow!r}", field="slow_ms"
            )

    @property
    def slow_seconds(self) -> float | None:
        return None if self.slow_ms is None else self.slow_ms / 1000


def _shown_redis_url(url: str) -> str:
    """A Redis URL to show: scheme, host, port and database number only (a
    password, a user, a query never)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "<a Redis URL that does not parse>"
    auth = "***@" if parts.password is not None or parts.username else ""
    database = parts.path if re.fullmatch(r"/\d*", parts.path or "/") else "/..."
    return f"{parts.scheme}://{auth}{host}{port}{database}"


def _redis_url_problem(url: object) -> str | None:  # noqa: PLR0911 - a return per problem
    """Why ``url`` is no Redis URL vaultstore can use, or None."""
    if not isinstance(url, str):
        return f"expected a Redis URL (str), got {type(url).__name__}"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return "expected a redis://, rediss:// or unix:// URL; this one does not parse"
    if parts.scheme not in _REDIS_SCHEMES:
        return "expected a redis://, rediss:// or unix:// URL, got " + _shown_redis_url(url)
    if parts.scheme == "unix":
        return None if parts.path else "a unix:// Redis URL names the socket's path"
    if not parts.hostname:
        return "a Redis URL names its host: redis://host:6379/0"
    if not re.fullmatch(r"/?\d*", parts.path or ""):
        return "a Redis URL's path is the database number: redis://host:6379/0"
    return None


@attrs.frozen(kw_only=True, repr=False)
class CacheOptions:
    """The Redis cache in front of the hot reads (see the README's "Cache")."""

    url: str | None = None
    """``redis://``, ``rediss://`` or ``unix://`` URL of the cache; None: no cache.
    It may hold a password: show ``str(options)`` instead."""
    ttl: float = 60.0
    """Seconds an entry lives (each entry 0 to 10 % less, so that entries filled
    together do not expire together)."""
    timeout: float = 0.1
    """Seconds a call to Redis may take before the call is served by the database
    alone and the cache is off for ``retry_after`` seconds."""
    retry_after: float = 1.0
    """Seconds the cache stays off after Redis failed, before it is tried again."""

    def __attrs_post_init__(self) -> None:
        if self.url is not None and (problem := _redis_url_problem(self.url)):
            raise ValidationError(problem, field="cache")
        for name in ("ttl", "timeout", "retry_after"):
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not (math.isfinite(value) and value > 0)
            ):
                raise ValidationError(
                    f"expected a number of seconds > 0, got {value!r}", field=f"cache_{name}"
                )

    @property
    def enabled(self) -> bool:
        return self.url is not None

    def __str__(self) -> str:
        return "off" if self.url is None else _shown_redis_url(self.url)

    def __repr__(self) -> str:
        return (
            f"CacheOptions(url={str(self)!r}, ttl={self.ttl!r}, timeout={self.timeout!r}, "
            f"retry_after={self.retry_after!r})"
        )


_REDIS_SCHEMES = {"redis", "rediss", "unix"}


# (option, environment variable) for error messages naming what the user set
_POOL_NAMES = {
    "min_size": "DATABASE_POOL_MIN_SIZE",
    "max_size": "DATABASE_POOL_SIZE",
    "connect_timeout": "DATABASE_CONNECT_TIMEOUT",
    "idle_timeout": "DATABASE_IDLE_TIMEOUT",
    "operation_timeout": "DATABASE_OPERATION_TIMEOUT",
    "prepare_threshold": "POSTGRES_PREPARE_THRESHOLD",
    "transaction_pooling": "POSTGRES_TRANSACTION_POOLING",
}


def check_pool_options(pool: PoolOptions, names: Mapping[str, str] | None = None) -> None:
    """Raise ValidationError naming the first bad option (or the variable that set it)."""
    names = names or {}

    def fail(option: str, message: str) -> ValidationError:
        return ValidationError(message, field=names.get(option, option))

    for option in ("min_size", "max_size"):
        value = getattr(pool, option)
        if isinstance(value, bool) or not isinstance(value, int):
            raise fail(option, f"expected an int, got {value!r}")
    if pool.max_size < 1:
        raise fail("max_size", f"must be >= 1, got {pool.max_size}")
    if not 0 <= pool.min_size <= pool.max_size:
        raise fail(
            "min_size", f"must be between 0 and max_size ({pool.max_size}), got {pool.min_size}"
        )
    for option in ("connect_timeout", "idle_timeout", "operation_timeout"):
        value = getattr(pool, option)
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not (math.isfinite(value) and value > 0)
        ):
            raise fail(option, f"expected a positive number of seconds, got {value!r}")
    if not isinstance(pool.transaction_pooling, bool):
        raise fail(
            "transaction_pooling", f"expected True or False, got {pool.transaction_pooling!r}"
        )
    threshold = pool.prepare_threshold
    if threshold is not None and (
        isinstance(threshold, bool) or not isinstance(threshold, int) or threshold < 0
    ):
        raise fail("prepare_threshold", f"expected an int >= 0 or None, got {threshold!r}")


_SECRET_NAME = re.compile(r"pass|secret|token|key|credential|authmechanismproperties", re.I)
"""Option names whose values are secrets (password, sslpassword, sslkey,
tlsCertificateKeyFilePassword, authMechanismProperties, ...), hidden wherever shown."""


def is_secret(name: str) -> bool:
    """Whether the connection option ``name`` holds a secret (or a key's path)."""
    return bool(_SECRET_NAME.search(name))


def _refusal(driver: str, message: str, names: Iterable[str]) -> str:
    """Why a driver refused a connection string, without quoting it: its message
    may echo any part of the string, the password included, so only the name of
    an option it mentions is kept (names are never secret)."""
    lowered = message.lower()
    found = [name for name in names if name and name.lower() in lowered]
    named = max(found, key=len, default=None)  # tlsCAFile rather than tls
    where = f" (look at {named!r})" if named else ""
    return f"not a valid {driver} connection string{where}"


_LIBPQ_NAMES = ("host", "hostaddr", "port", "dbname", "user", "URI", "sslmode", "options")


@attrs.frozen
class _Parsed:
    database: str
    hosts: tuple[tuple[str, int | None], ...]
    user: str | None
    password: str | None
    options: Mapping[str, Any]
    secrets: tuple[str, ...]
    shown: str


@attrs.frozen(kw_only=True, repr=False)
class Settings:
    """Where the database is: the connection string exactly as given (``dsn``),
    parsed by the driver's own parser (libpq's through psycopg, pymongo's), which
    also connects with it untouched; vaultstore's defaults only fill in what it
    does not say. Build it with :func:`settings_from_env` or :func:`settings_from_url`.
    ``str()`` and ``repr()`` hide every secret: the password and any option named
    like a password, key or token."""

    backend: Backend
    dsn: str = attrs.field(eq=True)
    """The connection string (a URL; or for PostgreSQL also ``key=value`` pairs).
    It may hold secrets: show ``str(settings)`` instead."""
    database: str = ""
    """The database the store uses: the dsn's (PostgreSQL: empty for libpq's
    default; MongoDB: ``vaultstore`` if the URI names none) unless given."""
    pool: PoolOptions = attrs.field(factory=PoolOptions)
    replicas: tuple[Settings, ...] = ()
    """PostgreSQL read replicas: where read-only calls go (see the README)."""
    replica_options: ReplicaOptions = attrs.field(factory=ReplicaOptions)
    scope: Scope = attrs.field(factory=Scope)
    """The tenant and actor the store's calls act for (``store.scoped()`` changes
    them for a view of the store), and whether a tenant must be given."""
    monitoring: Monitoring = attrs.field(factory=Monitoring)
    cache: CacheOptions = attrs.field(factory=CacheOptions)
    """The Redis cache of the hot reads; off unless given a URL."""
    _parsed: _Parsed = attrs.field(init=False, eq=False)

    def __attrs_post_init__(self) -> None:
        parse = _parse_postgres if self.backend == "postgresql" else _parse_mongo
        parsed = parse(self.dsn)
        object.__setattr__(self, "_parsed", parsed)
        if self.backend == "postgresql" and self.database not in ("", parsed.database):
            raise ValidationError(
                "a PostgreSQL database is named by the connection string (dbname)",
                field="database",
            )
        if not self.database:
            default = "vaultstore" if self.backend == "mongodb" else ""
            object.__setattr__(self, "database", parsed.database or default)
        if self.replicas and self.backend == "mongodb":
            raise ValidationError(
                "read replicas are for PostgreSQL; MongoDB reads from secondaries as the "
                "URI's readPreference says",
                field="replicas",
            )

    @property
    def hosts(self) -> tuple[tuple[str, int | None], ...]:
        """Every (host, port) the connection string names, in order."""
        return self._parsed.hosts

    @property
    def host(self) -> str | None:
        """The first host (a socket folder for PostgreSQL over a Unix socket)."""
        return self._parsed.hosts[0][0] if self._parsed.hosts else None

    @property
    def port(self) -> int | None:
        """The first host's port, if the connection string gives one."""
        return self._parsed.hosts[0][1] if self._parsed.hosts else None

    @property
    def user(self) -> str | None:
        return self._parsed.user

    @property
    def password(self) -> str | None:
        return self._parsed.password

    @property
    def options(self) -> Mapping[str, Any]:
        """The other options, as the driver parsed them (sslmode, replicaSet ...)."""
        return self._parsed.options

    def url(self) -> str:
        """The settings as a URL to show, every secret as ``***``."""
        return self._parsed.shown

    def __str__(self) -> str:
        return self._parsed.shown

    def __repr__(self) -> str:
        replicas = f", replicas={[str(r) for r in self.replicas]!r}" if self.replicas else ""
        scope = f", scope={self.scope!r}" if self.scope != Scope() else ""
        return (
            f"Settings(backend={self.backend!r}, url={self._parsed.shown!r}, "
            f"pool={self.pool!r}{replicas}{scope})"
        )

    def secrets(self) -> list[str]:
        """Strings that must never be shown (for scrubbing driver messages)."""
        values = [*self._parsed.secrets]
        for replica in self.replicas:
            values.extend(replica._parsed.secrets)
        if self.cache.url is not None:
            try:
                parts = urlsplit(self.cache.url)
                values.append(parts.password or "")
                values.extend(v for k, v in parse_qsl(parts.query) if is_secret(k))
            except ValueError:
                values.append(self.cache.url)
        found = {s for value in values for s in (value, quote(value, safe=""))}
        return sorted((s for s in found if s), key=len, reverse=True)

    def scrub(self, text: str) -> str:
        """``text`` with every secret replaced by ``***``."""
        for secret in self.secrets():
            text = text.replace(secret, "***")
        return text


def _netloc_host(host: str, port: int | str | None) -> str:
    shown = f"[{host}]" if ":" in host else quote(host, safe="")
    return f"{shown}:{port}" if port not in (None, "") else shown


def _shown_url(
    scheme: str,
    *,
    user: str | None,
    password: str | None,
    netloc_hosts: list[str],
    path: str,
    query: list[tuple[str, str]],
) -> str:
    auth = ""
    if user is not None:
        auth = quote(user, safe="") + (":***" if password is not None else "") + "@"
    pairs = "&".join(
        f"{quote(key, safe='')}={'***' if is_secret(key) else quote(value, safe='/:,')}"
        for key, value in query
    )
    return f"{scheme}://{auth}{','.join(netloc_hosts)}/{quote(path, safe='')}" + (
        f"?{pairs}" if pairs else ""
    )


def _ports(value: str | None, hosts: int) -> list[int | None]:
    if not value:
        return [None] * hosts
    ports: list[int | None] = []
    for part in value.split(","):
        if part.strip() == "":
            ports.append(None)
            continue
        if not part.strip().isdigit():  # no int() error: it would quote the part
            raise ValidationError("a port is not a number", field="port")
        port = int(part)
        if not 1 <= port <= 65535:
            raise ValidationError(f"expected a port from 1 to 65535, got {port}", field="port")
        ports.append(port)
    if len(ports) == 1:
        return ports * hosts
    if len(ports) != hosts:
        raise ValidationError(
            f"{hosts} host(s) but {len(ports)} ports: give one port, or one per host",
            field="port",
        )
    return ports


_POSTGRES_CORE = {"host", "port", "dbname", "user", "password"}


def postgres_params(dsn: str) -> dict[str, str]:
    """libpq's reading of ``dsn`` (a URL or ``key=value`` pairs), by libpq itself."""
    _, sep, rest = dsn.partition("://")
    if sep:  # libpq knows postgresql:// and postgres://, in lower case only
        dsn = f"postgresql://{rest}"
    refusal = None
    try:
        params: dict[str, str] = conninfo_to_dict(dsn)  # type: ignore[assignment]
    except psycopg.Error as exc:
        options = re.findall(r'option "(\w+)"', str(exc))
        refusal = _refusal("PostgreSQL", str(exc), [*options, *_LIBPQ_NAMES])
    if refusal is not None:  # raised here, without the driver's error as its context
        raise ValidationError(refusal)
    if any("@" in host for host in params.get("host", "").split(",")):
        # A password with a bare "@": libpq took its end for a host name.
        raise ValidationError(
            "not a valid PostgreSQL connection string: a host name holds '@' "
            "(write '@' in a password as %40)"
        )
    return params


def _parse_postgres(dsn: str) -> _Parsed:
    params = postgres_params(dsn)
    host_list = (params.get("host") or params.get("hostaddr") or "").split(",")
    ports = _ports(params.get("port"), len(host_list))
    hosts = tuple((host, port) for host, port in zip(host_list, ports, strict=True) if host)
    query = [
        (key, value)
        for key, value in params.items()
        if key not in {"dbname", "user", "password", "host", "port"}
    ]
    sockets = any(host.startswith(("/", "@")) for host, _ in hosts)
    if sockets:  # libpq reads a socket folder from the query string
        query[:0] = [("host", params["host"])] + (
            [("port", params["port"])] if params.get("port") else []
        )
        netloc: list[str] = []
    else:
        netloc = [_netloc_host(host, port) for host, port in hosts]
    secrets = tuple(v for k, v in params.items() if is_secret(k) and v)
    return _Parsed(
        database=params.get("dbname", ""),
        hosts=hosts,
        user=params.get("user"),
        password=params.get("password"),
        options={k: v for k, v in params.items() if k not in _POSTGRES_CORE},
        secrets=secrets,
        shown=_shown_url(
            "postgresql",
            user=params.get("user"),
            password=params.get("password"),
            netloc_hosts=netloc,
            path=params.get("dbname", ""),
            query=query,
        ),
    )


def _mongo_secret_values(name: str, value: Any) -> list[str]:
    if isinstance(value, Mapping):
        return [str(v) for v in value.values()] + [f"{k}:{v}" for k, v in value.items()]
    return [str(value)] if is_secret(name) and value not in (None, "") else []


_SRV_ONLY = ("srvservicename", "srvmaxhosts")


def _pymongo_parse(uri: str) -> dict[str, Any]:
    """pymongo's reading of ``uri``. An option it does not know is ignored, as the
    client does (with a warning there), rather than refused; a bad value is not."""
    try:
        return parse_uri(uri, warn=False)
    except ConfigurationError as exc:
        if not str(exc).startswith("Unknown option"):
            raise
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return parse_uri(uri, warn=True)


def _parse_mongo(dsn: str) -> _Parsed:
    srv = dsn[: len("mongodb+srv://")].lower() == "mongodb+srv://"
    scheme_free = dsn.split("://", 1)[1] if "://" in dsn else ""
    raw_query = scheme_free.partition("/")[2].partition("?")[2]
    pairs = parse_qsl(raw_query, keep_blank_values=True)
    srv_options = {k: v for k, v in pairs if srv and k.lower() in _SRV_ONLY}
    if srv_options:  # options a plain URI may not have
        kept = "&".join(f"{k}={quote(v, safe='')}" for k, v in pairs if k not in srv_options)
        scheme_free = scheme_free.partition("?")[0] + (f"?{kept}" if kept else "")
    refusal = None
    try:
        # pymongo resolves a seed list's DNS records while parsing one: read it as
        # a plain URI (the client resolves it when it connects).
        parsed = _pymongo_parse(f"mongodb://{scheme_free}")
    except (PyMongoError, ValueError, TypeError, OSError) as exc:  # OSError: tlsCAFile ...
        message = (exc.strerror or "") if isinstance(exc, OSError) else str(exc)
        names = [k for k, _ in pairs] + ["tlsCAFile", "port", "host", "username", "password"]
        refusal = _refusal("MongoDB", message, names)
    if refusal is not None:  # raised here, without the driver's error as its context
        raise ValidationError(refusal)
    parsed["options"] = {**parsed["options"], **srv_options}
    options = dict(parsed["options"])
    secrets = [parsed["password"]] if parsed["password"] else []
    for name, value in options.items():
        if is_secret(name):
            secrets += _mongo_secret_values(name, value)
    for name, value in pairs:  # as written too, and each part of it, whatever pymongo kept
        if is_secret(name) and value:
            secrets += [value, *(part for part in re.split("[,:]", value) if len(part) > 3)]
    netloc = [_netloc_host(host, None if srv else port) for host, port in parsed["nodelist"]]
    return _Parsed(
        database=parsed["database"] or "",
        hosts=tuple((host, None if srv else port) for host, port in parsed["nodelist"]),
        user=parsed["username"],
        password=parsed["password"],
        options=options,
        secrets=tuple(secrets),
        shown=_shown_url(
            "mongodb+srv" if srv else "mongodb",
            user=parsed["username"],
            password=parsed["password"],
            netloc_hosts=netloc,
            path=parsed["database"] or "",
            query=pairs,
        ),
    )


def _parse_bool_or_mode(name: str, value: str) -> str | None:
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return "require"
    if lowered in _FALSE:
        return "disable"
    if lowered in _SSL_MODES:
        return lowered
    raise ValidationError(
        f"expected true, false or an sslmode ({', '.join(sorted(_SSL_MODES))}), got {value!r}",
        field=name,
    )


def _env_int(env: Mapping[str, str], name: str) -> int | None:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return None
    try:
        return int(raw)
    except ValueError:
        raise ValidationError(f"expected an integer, got {raw!r}", field=name) from None


def _env_port(env: Mapping[str, str], name: str, default: int) -> int:
    port = _env_int(env, name)
    if port is None:
        return default
    if not 1 <= port <= 65535:
        raise ValidationError(f"expected a port from 1 to 65535, got {port}", field=name)
    return port


def _env_float(env: Mapping[str, str], name: str) -> float | None:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return None
    try:
        return float(raw)
    except ValueError:
        raise ValidationError(f"expected a number of seconds, got {raw!r}", field=name) from None


def pool_from_env(env: Mapping[str, str], **overrides: Any) -> PoolOptions:
    """Pool options from ``DATABASE_POOL_*`` variables, then keyword overrides."""
    values: dict[str, Any] = {}
    for key, name, parse in (
        ("min_size", "DATABASE_POOL_MIN_SIZE", _env_int),
        ("max_size", "DATABASE_POOL_SIZE", _env_int),
        ("connect_timeout", "DATABASE_CONNECT_TIMEOUT", _env_float),
        ("idle_timeout", "DATABASE_IDLE_TIMEOUT", _env_float),
        ("operation_timeout", "DATABASE_OPERATION_TIMEOUT", _env_float),
    ):
        parsed = parse(env, name)
        if parsed is not None:
            values[key] = parsed
    threshold = env.get("POSTGRES_PREPARE_THRESHOLD", "").strip().lower()
    if threshold in {"none", "off", "never"}:
        values["prepare_threshold"] = None
    elif threshold:
        values["prepare_threshold"] = _env_int(env, "POSTGRES_PREPARE_THRESHOLD")
    pooling = env.get("POSTGRES_TRANSACTION_POOLING", "").strip().lower()
    if pooling:
        if pooling not in _TRUE | _FALSE:
            raise ValidationError(
                f"expected true or false, got {pooling!r}", field="POSTGRES_TRANSACTION_POOLING"
            )
        values["transaction_pooling"] = pooling in _TRUE
    from_env = set(values)
    given = {k: v for k, v in overrides.items() if v is not _UNSET}
    values.update(given)
    if isinstance(values.get("max_size"), int) and "min_size" not in values:
        values["min_size"] = min(PoolOptions().min_size, values["max_size"])
    try:
        return PoolOptions(**values)
    except ValidationError as exc:
        # Name the variable when the bad value came from the environment.
        option = next((k for k, v in _POOL_NAMES.items() if exc.field in (v, k)), None)
        if option in from_env and option not in given:
            raise ValidationError(exc.message, field=_POOL_NAMES[option]) from None
        raise


class _Unset:
    def __repr__(self) -> str:
        return "<unset>"


_UNSET: Any = _Unset()
UNSET: Any = _UNSET
"""Marks a keyword option the caller did not give (None means "none" for some)."""


def _backend_of(dsn: str, name: str) -> Backend:
    scheme, sep, _ = dsn.partition("://")
    if not sep and "=" in dsn:
        return "postgresql"  # libpq's key=value pairs
    scheme = scheme.strip().lower()
    if sep and scheme in _POSTGRES_SCHEMES:
        return "postgresql"
    if sep and scheme in _MONGO_SCHEMES:
        return "mongodb"
    raise ValidationError(
        f"unknown URL scheme {scheme if sep else ''!r}; expected postgresql:// or mongodb://",
        field=name,
    )


def settings_from_url(
    url: str, *, pool: PoolOptions | None = None, name: str = "url", database: str | None = None
) -> Settings:
    """Settings from a ``postgresql://`` URL (or libpq ``key=value`` pairs) or a
    ``mongodb://`` / ``mongodb+srv://`` URI, passed to the driver as written.
    ``name`` is what errors call it (the argument, or the variable it came from);
    ``database`` overrides a MongoDB URI's database."""
    if not isinstance(url, str):
        raise ValidationError(f"expected a URL string, got {type(url).__name__}", field=name)
    backend = _backend_of(url, name)
    try:
        return Settings(
            backend=backend,
            dsn=url,
            database=(database or "") if backend == "mongodb" else "",
            pool=pool or PoolOptions(),
        )
    except ValidationError as exc:
        # The message quotes no part of the URL, which may hold a password.
        raise ValidationError(exc.message, field=name) from None


def _env_hosts(env: Mapping[str, str], host_name: str, port_name: str, default: int) -> list[str]:
    """``host:port`` for each host of a comma-separated list, the port variable's
    (or ``default``) for those that name none."""
    port = _env_port(env, port_name, default)
    hosts = [h.strip() for h in (env.get(host_name) or "localhost").split(",") if h.strip()]
    return [
        h
        if h.startswith("[") or h.count(":") == 1
        else f"[{h}]:{port}"
        if ":" in h
        else f"{h}:{port}"
        for h in hosts
    ]


def _postgres_from_env(env: Mapping[str, str], pool: PoolOptions) -> Settings:
    host = env.get("POSTGRES_HOST") or "localhost"
    port = env.get("POSTGRES_PORT", "").strip()
    if port:
        try:
            _ports(port, len(host.split(",")))
        except ValidationError as exc:
            raise ValidationError(exc.message, field="POSTGRES_PORT") from None
    params: dict[str, str] = {
        "host": host,
        "port": port or "5432",
        "dbname": env.get("POSTGRES_DB") or "risk_monitor",
        "user": env.get("POSTGRES_USER") or "postgres",
    }
    if env.get("POSTGRES_PASSWORD"):
        params["password"] = env["POSTGRES_PASSWORD"]
    ssl = env.get("POSTGRES_SSL", "").strip()
    if ssl:
        mode = _parse_bool_or_mode("POSTGRES_SSL", ssl)
        if mode:
            params["sslmode"] = mode
    if env.get("POSTGRES_SSL_ROOT_CERT", "").strip():
        params["sslrootcert"] = env["POSTGRES_SSL_ROOT_CERT"].strip()
    return Settings(
        backend="postgresql", dsn=make_conninfo("", **params), database=params["dbname"], pool=pool
    )


def _mongo_from_env(env: Mapping[str, str], pool: PoolOptions) -> Settings:
    auth = ""
    if env.get("MONGO_USER"):
        auth = quote(env["MONGO_USER"], safe="")
        if env.get("MONGO_PASSWORD"):
            auth += ":" + quote(env["MONGO_PASSWORD"], safe="")
        auth += "@"
    options: list[tuple[str, str]] = []
    tls = env.get("MONGO_TLS", "").strip().lower()
    if tls:
        if tls not in _TRUE | _FALSE:
            raise ValidationError(f"expected true or false, got {tls!r}", field="MONGO_TLS")
        options.append(("tls", "true" if tls in _TRUE else "false"))
    for variable, option in (
        ("MONGO_TLS_CA_FILE", "tlsCAFile"),
        ("MONGO_REPLICA_SET", "replicaSet"),
        ("MONGO_AUTH_SOURCE", "authSource"),
    ):
        if env.get(variable, "").strip():
            options.append((option, env[variable].strip()))
    hosts = ",".join(_env_hosts(env, "MONGO_HOST", "MONGO_PORT", 27017))
    query = "&".join(f"{k}={quote(v, safe='/')}" for k, v in options)
    uri = f"mongodb://{auth}{hosts}/" + (f"?{query}" if query else "")
    try:
        return Settings(
            backend="mongodb", dsn=uri, database=env.get("MONGO_DB") or "risk_monitor", pool=pool
        )
    except ValidationError as exc:
        field = "MONGO_TLS_CA_FILE" if "tlscafile" in exc.message.lower() else "MONGO_HOST"
        raise ValidationError(exc.message, field=field) from None


def settings_from_env(env: Mapping[str, str] | None = None, **pool_overrides: Any) -> Settings:
    """Settings from the environment, as the README's table describes.

    ``DATABASE_TYPE`` picks the backend (``postgresql`` by default). A URL
    (``DATABASE_URL``, or ``MONGO_URI`` for MongoDB) wins over the separate variables.
    """
    env = os.environ if env is None else env
    pool = pool_from_env(env, **pool_overrides)
    kind = env.get("DATABASE_TYPE", "").strip().lower() or None
    if kind not in {None, "postgresql", "postgres", "mongodb", "mongo"}:
        raise ValidationError(
            f"unknown DATABASE_TYPE {kind!r}; expected postgresql or mongodb",
            field="DATABASE_TYPE",
        )
    backend = {"postgres": "postgresql", "mongo": "mongodb"}.get(kind or "", kind)
    database_url = env.get("DATABASE_URL", "").strip()
    mongo_uri = env.get("MONGO_URI", "").strip() if backend != "postgresql" else ""
    for name, url in (("MONGO_URI", mongo_uri), ("DATABASE_URL", database_url)):
        if not url:
            continue
        settings = settings_from_url(url, pool=pool, name=name, database=env.get("MONGO_DB"))
        if backend is not None and settings.backend != backend:
            raise ValidationError(
                f"DATABASE_TYPE is {kind} but {name} is a {settings.backend} URL",
                field="DATABASE_TYPE",
            )
        return settings
    if backend in {None, "postgresql"}:
        return _postgres_from_env(env, pool)
    return _mongo_from_env(env, pool)


def resolve_settings(
    url: str | Settings | None,
    env: Mapping[str, str] | None,
    *,
    replicas: Iterable[str] = _UNSET,
    replica_wait: float = _UNSET,
    replica_max_lag: int = _UNSET,
    tenant: str | None = _UNSET,
    actor: str | None = _UNSET,
    tenancy: bool = _UNSET,
    audit: bool = _UNSET,
    metrics: bool = _UNSET,
    slow_ms: float | None = _UNSET,
    cache: str | None = _UNSET,
    cache_ttl: float = _UNSET,
    cache_timeout: float = _UNSET,
    **pool: Any,
) -> Settings:
    """What :func:`vaultstore.connect` connects to: the URL if given, else the
    environment; and the read replicas given, else, when the primary too comes
    from the environment, ``DATABASE_REPLICA_URLS`` (the replicas of another
    database are never attached to a URL given here)."""
    replica_args = (replicas, replica_wait, replica_max_lag)
    if isinstance(url, Settings):
        given = {k: v for k, v in pool.items() if v is not _UNSET}
        if given.get("transaction_pooling") and not url.pool.transaction_pooling:
            given.setdefault("prepare_threshold", None)  # as PoolOptions defaults it
        if given:
            url = attrs.evolve(url, pool=attrs.evolve(url.pool, **given))
        return _with_cache(
            _with_monitoring(
                _with_scope(
                    _with_replicas(url, {}, *replica_args),
                    {},
                    tenant=tenant,
                    actor=actor,
                    tenancy=tenancy,
                    audit=audit,
                ),
                {},
                metrics=metrics,
                slow_ms=slow_ms,
            ),
            {},
            url=cache,
            ttl=cache_ttl,
            timeout=cache_timeout,
        )
    env = os.environ if env is None else env
    if url is not None:
        settings = settings_from_url(url, pool=pool_from_env(env, **pool))
    else:
        settings = settings_from_env(env, **pool)
    settings = _with_replicas(settings, env, *replica_args, env_replicas=url is None)
    settings = _with_scope(settings, env, tenant=tenant, actor=actor, tenancy=tenancy, audit=audit)
    settings = _with_monitoring(settings, env, metrics=metrics, slow_ms=slow_ms)
    return _with_cache(settings, env, url=cache, ttl=cache_ttl, timeout=cache_timeout)


def _with_cache(settings: Settings, env: Mapping[str, str], **given: Any) -> Settings:
    """``settings`` with the cache options given: keywords first (``cache``,
    ``cache_ttl``, ``cache_timeout``), then ``VAULTSTORE_CACHE_URL``,
    ``VAULTSTORE_CACHE_TTL`` and ``VAULTSTORE_CACHE_TIMEOUT`` (seconds)."""
    values: dict[str, Any] = {}
    names = {"url": "cache", "ttl": "cache_ttl", "timeout": "cache_timeout"}
    for option, variable in (
        ("url", "VAULTSTORE_CACHE_URL"),
        ("ttl", "VAULTSTORE_CACHE_TTL"),
        ("timeout", "VAULTSTORE_CACHE_TIMEOUT"),
    ):
        if given[option] is not _UNSET:
            values[option] = given[option]
        elif raw := env.get(variable, "").strip():
            names[option] = variable
            if option == "url":
                values[option] = raw
                continue
            try:
                values[option] = float(raw)
            except ValueError:
                raise ValidationError(
                    f"expected a number of seconds, got {raw!r}", field=variable
                ) from None
    if not values:
        return settings
    try:
        return attrs.evolve(settings, cache=attrs.evolve(settings.cache, **values))
    except ValidationError as exc:
        field = {f"cache_{k}": v for k, v in names.items()} | {"cache": names["url"]}
        raise ValidationError(exc.message, field=field.get(exc.field or "", exc.field)) from None


def _with_monitoring(
    settings: Settings, env: Mapping[str, str], *, metrics: Any, slow_ms: Any
) -> Settings:
    """``settings`` with the monitoring options given: keywords first, then
    ``VAULTSTORE_METRICS`` (true or false) and ``VAULTSTORE_SLOW_MS``."""
    values: dict[str, Any] = {}
    names = {"metrics": "metrics", "slow_ms": "slow_ms"}
    if metrics is not _UNSET:
        values["metrics"] = metrics
    elif env.get("VAULTSTORE_METRICS", "").strip():
        raw = env["VAULTSTORE_METRICS"].strip().lower()
        if raw not in _TRUE | _FALSE:
            raise ValidationError(
                f"expected true or false, got {raw!r}", field="VAULTSTORE_METRICS"
            )
        values["metrics"] = raw in _TRUE
    if slow_ms is not _UNSET:
        values["slow_ms"] = slow_ms
    elif raw_slow := env.get("VAULTSTORE_SLOW_MS", "").strip():
        names["slow_ms"] = "VAULTSTORE_SLOW_MS"
        try:
            values["slow_ms"] = float(raw_slow)
        except ValueError:
            raise ValidationError(
                f"expected a number of milliseconds, got {raw_slow!r}", field="VAULTSTORE_SLOW_MS"
            ) from None
    if not values:
        return settings
    try:
        return attrs.evolve(settings, monitoring=attrs.evolve(settings.monitoring, **values))
    except ValidationError as exc:
        raise ValidationError(exc.message, field=names.get(exc.field or "", exc.field)) from None


def _with_scope(
    settings: Settings,
    env: Mapping[str, str],
    *,
    tenant: Any,
    actor: Any,
    tenancy: Any,
    audit: Any,
) -> Settings:
    """``settings`` with the scope given: keywords first, then ``VAULTSTORE_TENANT``,
    ``VAULTSTORE_ACTOR``, ``VAULTSTORE_TENANCY`` and ``VAULTSTORE_AUDIT`` (true or
    false)."""
    values: dict[str, Any] = {}
    names: dict[str, str] = {}
    for key, given, variable in (
        ("tenant", tenant, "VAULTSTORE_TENANT"),
        ("actor", actor, "VAULTSTORE_ACTOR"),
    ):
        if given is not _UNSET:
            values[key], names[key] = given, key
        elif env.get(variable, "").strip():
            values[key], names[key] = env[variable].strip(), variable
    for key, given, variable in (
        ("tenancy", tenancy, "VAULTSTORE_TENANCY"),
        ("audit", audit, "VAULTSTORE_AUDIT"),
    ):
        if given is not _UNSET:
            if not isinstance(given, bool):
                raise ValidationError(f"expected True or False, got {given!r}", field=key)
            values[key] = given
        elif env.get(variable, "").strip():
            raw = env[variable].strip().lower()
            if raw not in _TRUE | _FALSE:
                raise ValidationError(f"expected true or false, got {raw!r}", field=variable)
            values[key] = raw in _TRUE
    if not values:
        return settings
    try:
        scope = attrs.evolve(settings.scope, **values)
    except ValidationError as exc:
        raise ValidationError(exc.message, field=names.get(exc.field or "", exc.field)) from None
    return attrs.evolve(settings, scope=scope)


_URL_START = re.compile(r",\s*(?=[A-Za-z][A-Za-z0-9+.-]*://)")
"""Where one URL of a comma-separated list ends: a comma before a scheme (a
multi-host URL holds commas of its own)."""


def _with_replicas(
    settings: Settings,
    env: Mapping[str, str],
    replicas: Any,
    wait: Any,
    max_lag: Any,
    *,
    env_replicas: bool = False,
) -> Settings:
    """``settings`` with the read replicas and their options given: keywords first,
    then ``DATABASE_REPLICA_URLS`` (if ``env_replicas``), ``DATABASE_REPLICA_WAIT``
    (seconds) and ``DATABASE_REPLICA_MAX_LAG`` (bytes)."""
    # What an error names: the keyword, or the variable the value came from.
    names = {name: name for name in ("replicas", "replica_wait", "replica_max_lag")}
    if replicas is _UNSET and env_replicas:
        raw = env.get("DATABASE_REPLICA_URLS", "").strip()
        if raw:
            replicas = [u.strip() for u in _URL_START.split(raw) if u.strip()]
            names["replicas"] = "DATABASE_REPLICA_URLS"
    if wait is _UNSET and env.get("DATABASE_REPLICA_WAIT", "").strip():
        wait = _env_float(env, "DATABASE_REPLICA_WAIT")
        names["replica_wait"] = "DATABASE_REPLICA_WAIT"
    if max_lag is _UNSET and env.get("DATABASE_REPLICA_MAX_LAG", "").strip():
        max_lag = _env_int(env, "DATABASE_REPLICA_MAX_LAG")
        names["replica_max_lag"] = "DATABASE_REPLICA_MAX_LAG"
    changes: dict[str, Any] = {}
    if replicas is not _UNSET:
        field = names["replicas"]
        if isinstance(replicas, str | bytes) or not isinstance(replicas, Iterable):
            raise ValidationError(
                f"expected a list of URLs, got {type(replicas).__name__}", field=field
            )
        found = []
        for i, replica in enumerate(replicas):
            one = settings_from_url(replica, pool=settings.pool, name=f"{field}[{i}]")
            if one.backend != "postgresql":
                raise ValidationError("expected a postgresql:// URL", field=f"{field}[{i}]")
            found.append(one)
        changes["replicas"] = tuple(found)
    options = {
        key: value for key, value in (("wait", wait), ("max_lag", max_lag)) if value is not _UNSET
    }
    try:
        if options:
            changes["replica_options"] = attrs.evolve(settings.replica_options, **options)
        return attrs.evolve(settings, **changes) if changes else settings
    except ValidationError as exc:
        raise ValidationError(exc.message, field=names.get(exc.field or "", exc.field)) from None
