"""Configuration: where the database is and how to pool connections to it, read from
the environment or a URL. The password is kept out of every repr and message."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import Any, Literal
from urllib.parse import parse_qsl, quote, unquote, urlsplit

import attrs

from .errors import ValidationError

Backend = Literal["postgresql", "mongodb"]

_POSTGRES_SCHEMES = {"postgresql", "postgres", "postgresql+psycopg"}
_MONGO_SCHEMES = {"mongodb", "mongodb+srv"}
_SSL_MODES = {"disable", "allow", "prefer", "require", "verify-ca", "verify-full"}
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _redacted(value: object) -> str:
    return "None" if value is None else "'***'"


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
    prepare_threshold: int | None = 5
    """PostgreSQL: executions of a statement before psycopg prepares it on the server;
    None never prepares (needed behind PgBouncer in transaction mode)."""

    def __attrs_post_init__(self) -> None:
        check_pool_options(self)


# (option, environment variable) for error messages naming what the user set
_POOL_NAMES = {
    "min_size": "DATABASE_POOL_MIN_SIZE",
    "max_size": "DATABASE_POOL_SIZE",
    "connect_timeout": "DATABASE_CONNECT_TIMEOUT",
    "idle_timeout": "DATABASE_IDLE_TIMEOUT",
    "operation_timeout": "DATABASE_OPERATION_TIMEOUT",
    "prepare_threshold": "POSTGRES_PREPARE_THRESHOLD",
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
    threshold = pool.prepare_threshold
    if threshold is not None and (
        isinstance(threshold, bool) or not isinstance(threshold, int) or threshold < 0
    ):
        raise fail("prepare_threshold", f"expected an int >= 0 or None, got {threshold!r}")


@attrs.frozen(kw_only=True)
class Settings:
    """Where the database is. Build it with :func:`settings_from_env` or
    :func:`settings_from_url`; ``repr`` shows no password."""

    backend: Backend
    host: str | None = None
    port: int | None = None
    database: str
    user: str | None = None
    password: str | None = attrs.field(default=None, repr=_redacted)
    options: Mapping[str, str] = attrs.field(factory=dict)
    """Extra driver options from the URL query string (sslmode, host of a socket ...)."""
    pool: PoolOptions = attrs.field(factory=PoolOptions)
    srv: bool = False
    """MongoDB: the host is a DNS seed list (``mongodb+srv://``)."""

    def url(self, *, scheme: str | None = None, hide_password: bool = True) -> str:
        """The settings as a URL; the password shows as ``***`` unless asked for.
        A socket folder given as host goes in the query string, as libpq reads it."""
        scheme = scheme or ("mongodb+srv" if self.srv else self.backend)
        options = dict(self.options)
        auth = ""
        if self.user is not None:
            auth = quote(self.user, safe="")
            if self.password is not None:
                auth += ":" + ("***" if hide_password else quote(self.password, safe=""))
            auth += "@"
        host = self.host or ""
        if host.startswith("/"):
            options.setdefault("host", host)
            host = ""
        elif ":" in host:
            host = f"[{host}]"
        netloc = auth + host
        if self.port is not None and host:
            netloc += f":{self.port}"
        elif self.port is not None:
            options.setdefault("port", str(self.port))
        query = "&".join(f"{quote(k)}={quote(v, safe='/')}" for k, v in options.items())
        path = "/" + quote(self.database, safe="")
        return f"{scheme}://{netloc}{path}" + (f"?{query}" if query else "")

    def __str__(self) -> str:
        return self.url()

    def secrets(self) -> list[str]:
        """Strings that must never be shown (for scrubbing driver messages)."""
        return [s for s in (self.password, quote(self.password or "", safe="")) if s]

    def scrub(self, text: str) -> str:
        """``text`` with every secret replaced by ``***``."""
        for secret in self.secrets():
            text = text.replace(secret, "***")
        return text


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


def settings_from_url(url: str, *, pool: PoolOptions | None = None, name: str = "url") -> Settings:
    """Settings from a ``postgresql://`` or ``mongodb://`` URL (``name`` is what
    errors call it: the argument, or the variable it came from)."""
    if not isinstance(url, str):
        raise ValidationError(f"expected a URL string, got {type(url).__name__}", field=name)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        # The message quotes no part of the URL, which may hold a password.
        raise ValidationError(f"not a valid database URL: {exc}", field=name) from None
    scheme = parts.scheme.lower()
    backend: Backend
    if scheme in _POSTGRES_SCHEMES:
        backend = "postgresql"
    elif scheme in _MONGO_SCHEMES:
        backend = "mongodb"
    else:
        raise ValidationError(
            f"unknown URL scheme {parts.scheme!r}; expected postgresql:// or mongodb://",
            field=name,
        )
    options = dict(parse_qsl(parts.query))
    password = unquote(parts.password) if parts.password else None
    # libpq also reads a password from the query string: keep it with the other secret.
    query_password = options.pop("password", None)
    password = password or query_password or None
    host = unquote(parts.hostname) if parts.hostname else None
    if host and host.startswith("%2f"):
        host = unquote(host)
    return Settings(
        backend=backend,
        host=host,
        port=port,
        database=unquote(parts.path.lstrip("/"))
        or ("postgres" if backend == "postgresql" else "vaultstore"),
        user=unquote(parts.username) if parts.username else None,
        password=password,
        options=options,
        pool=pool or PoolOptions(),
        srv=scheme == "mongodb+srv",
    )


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
        settings = settings_from_url(url, pool=pool, name=name)
        if backend is not None and settings.backend != backend:
            raise ValidationError(
                f"DATABASE_TYPE is {kind} but {name} is a {settings.backend} URL",
                field="DATABASE_TYPE",
            )
        if settings.backend == "mongodb" and env.get("MONGO_DB"):
            settings = attrs.evolve(settings, database=env["MONGO_DB"])
        return settings
    if backend in {None, "postgresql"}:
        options: dict[str, str] = {}
        ssl = env.get("POSTGRES_SSL", "").strip()
        if ssl:
            mode = _parse_bool_or_mode("POSTGRES_SSL", ssl)
            if mode:
                options["sslmode"] = mode
        return Settings(
            backend="postgresql",
            host=env.get("POSTGRES_HOST") or "localhost",
            port=_env_port(env, "POSTGRES_PORT", 5432),
            database=env.get("POSTGRES_DB") or "risk_monitor",
            user=env.get("POSTGRES_USER") or "postgres",
            password=env.get("POSTGRES_PASSWORD") or None,
            options=options,
            pool=pool,
        )
    return Settings(
        backend="mongodb",
        host=env.get("MONGO_HOST") or "localhost",
        port=_env_port(env, "MONGO_PORT", 27017),
        database=env.get("MONGO_DB") or "risk_monitor",
        user=env.get("MONGO_USER") or None,
        password=env.get("MONGO_PASSWORD") or None,
        pool=pool,
    )


def resolve_settings(
    url: str | Settings | None, env: Mapping[str, str] | None, **pool: Any
) -> Settings:
    """What :func:`vaultstore.connect` connects to: the URL if given, else the environment."""
    if isinstance(url, Settings):
        return (
            url
            if not any(v is not _UNSET for v in pool.values())
            else attrs.evolve(
                url,
                pool=attrs.evolve(url.pool, **{k: v for k, v in pool.items() if v is not _UNSET}),
            )
        )
    if url is not None:
        return settings_from_url(
            url, pool=pool_from_env(env if env is not None else os.environ, **pool)
        )
    return settings_from_env(env, **pool)
