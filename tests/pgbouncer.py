"""A real PgBouncer in transaction mode in front of the test server, for the tests
that run vaultstore through a pooler (and for ``benchmarks/bench.py --pgbouncer``).

It runs from the distribution's package (``apt-get install pgbouncer``: Debian puts
it in /usr/sbin), in a folder of its own (ini, auth file, log, pid file), on a free
port of 127.0.0.1, with ``pool_mode = transaction`` and a small pool, so that the
clients really share server connections: what one client leaves in a server
session, the next one finds. Every database name is passed on to the server
(``* =``), so one PgBouncer serves every database a test makes. It refuses to run
as root, so as root it runs as the ``postgres`` user.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import psycopg
from psycopg.conninfo import conninfo_to_dict

PGBOUNCER_ENV = "VAULTSTORE_TEST_PGBOUNCER"
"""Names a running PgBouncer (a URL; its host and port are used) instead of
starting one: in transaction mode, passing every database on to the test server."""
NO_PGBOUNCER = (
    "no pgbouncer executable (apt-get install pgbouncer), and VAULTSTORE_TEST_PGBOUNCER "
    "names no running one"
)
START_TIMEOUT = 10.0
"""Seconds PgBouncer may take to listen."""


def pgbouncer_binary() -> str | None:
    """The pgbouncer executable, on PATH or where Debian's package puts it."""
    return shutil.which("pgbouncer") or shutil.which("pgbouncer", path="/usr/sbin:/usr/local/sbin")


class PgBouncer:
    """A PgBouncer listening on ``host``:``port``: :meth:`url` gives the URL of a
    database of the test server through it."""

    def __init__(self, host: str, port: int, pool_size: int | None = None) -> None:
        self.host = host
        self.port = port
        self.pool_size = pool_size
        """The server connections per database and user (None: not known)."""

    def url(self, server_url: str) -> str:
        """``server_url``'s database and user, through this PgBouncer."""
        params = conninfo_to_dict(server_url)
        user = quote(str(params.get("user") or "postgres"), safe="")
        dbname = quote(str(params.get("dbname") or "postgres"), safe="")
        return f"postgresql://{user}@{self.host}:{self.port}/{dbname}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _ini(server_url: str, folder: Path, port: int, pool_size: int) -> str:
    params = conninfo_to_dict(server_url)
    host = str(params.get("host") or "127.0.0.1")  # a socket folder for the embedded server
    server_port = str(params.get("port") or "5432")
    return f"""\
[databases]
* = host={host} port={server_port}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {folder / "users.txt"}
pool_mode = transaction
default_pool_size = {pool_size}
min_pool_size = 0
reserve_pool_size = 0
max_client_conn = 500
max_db_connections = {pool_size}
logfile = {folder / "pgbouncer.log"}
pidfile = {folder / "pgbouncer.pid"}
"""


def _account(server_url: str) -> pwd.struct_passwd:
    """Whom PgBouncer runs as, when root starts it: the owner of the server's
    socket folder (the embedded server's is its private data folder), else the
    ``postgres`` user."""
    host = str(conninfo_to_dict(server_url).get("host") or "")
    if host.startswith("/"):
        owner = Path(host).stat().st_uid
        if owner != 0:
            return pwd.getpwuid(owner)
    return pwd.getpwnam("postgres")


def _wait_listening(proc: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"pgbouncer exited ({proc.returncode}): {_tail(log)}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"pgbouncer did not listen in time: {_tail(log)}") from None
            time.sleep(0.02)  # polling for the port, bounded by the deadline


def _tail(log: Path) -> str:
    return log.read_text()[-2000:] if log.exists() else "(no log)"


@contextmanager
def running_pgbouncer(server_url: str, folder: Path, *, pool_size: int = 2) -> Iterator[PgBouncer]:
    """Start a PgBouncer in transaction mode in front of ``server_url``'s server,
    with ``pool_size`` server connections per database and user, in ``folder``;
    stop it afterwards. RuntimeError if it does not start (its log says why)."""
    binary = pgbouncer_binary()
    if binary is None:
        raise FileNotFoundError("pgbouncer")
    folder.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    user = str(conninfo_to_dict(server_url).get("user") or "postgres")
    (folder / "users.txt").write_text(f'"{user}" ""\n')
    ini = folder / "pgbouncer.ini"
    ini.write_text(_ini(server_url, folder, port, pool_size))
    run_as = None
    if os.geteuid() == 0:  # pgbouncer will not run as root
        account = _account(server_url)
        run_as = account.pw_name
        for path in (folder, *folder.iterdir()):
            os.chown(path, account.pw_uid, account.pw_gid)
    proc = subprocess.Popen([binary, "--quiet", str(ini)], user=run_as, stdin=subprocess.DEVNULL)
    try:
        log = folder / "pgbouncer.log"
        _wait_listening(proc, port, log)
        bouncer = PgBouncer("127.0.0.1", port, pool_size)
        try:  # the server answers behind it
            psycopg.connect(bouncer.url(server_url), connect_timeout=5).close()
        except psycopg.OperationalError as exc:
            raise RuntimeError(f"no server behind pgbouncer ({exc}): {_tail(log)}") from exc
        yield bouncer
    finally:
        proc.terminate()  # SIGTERM: PgBouncer's immediate shutdown
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def given_pgbouncer() -> PgBouncer | None:
    """The running PgBouncer that ``VAULTSTORE_TEST_PGBOUNCER`` names, if any."""
    url = os.environ.get(PGBOUNCER_ENV)
    if not url:
        return None
    params = conninfo_to_dict(url)
    return PgBouncer(str(params.get("host") or "127.0.0.1"), int(params.get("port") or 6432))


@contextmanager
def pgbouncer_for_tests(server_url: str, *, pool_size: int = 2) -> Iterator[PgBouncer]:
    """The PgBouncer ``VAULTSTORE_TEST_PGBOUNCER`` names, or one started in front
    of ``server_url``'s server with ``pool_size`` server connections per database;
    the test skips when there is neither."""
    import pytest  # noqa: PLC0415 - benchmarks/bench.py imports this module without pytest

    given = given_pgbouncer()
    if given is not None:
        yield given
        return
    if pgbouncer_binary() is None:
        pytest.skip(NO_PGBOUNCER)
    # In the system's temporary folder, not pytest's: pytest makes its folders
    # private to the user running the tests, and PgBouncer runs as another.
    with (
        tempfile.TemporaryDirectory(prefix="vaultstore-pgbouncer-") as folder,
        running_pgbouncer(server_url, Path(folder), pool_size=pool_size) as bouncer,
    ):
        yield bouncer
