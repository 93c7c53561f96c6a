"""A MongoDB server in a process of its own, for tests that import the fixture.

``VAULTSTORE_TEST_MONGO_URI`` names a server the tests may write to (a real mongod);
without it, SecantusDB's daemon (PyPI secantusdb, MongoDB 8 wire protocol) is started
for the session in a temporary folder. A separate process, unlike the in-process
``SecantusDBServer``, keeps the server's allocations out of what ``tracemalloc``
measures in the tests.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pymongo
import pymongo.errors
import pytest

DATABASE = "vaultstore_documents_test"
_START_TIMEOUT = 30.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _answers(uri: str) -> bool:
    client: pymongo.MongoClient[Any] = pymongo.MongoClient(uri, serverSelectionTimeoutMS=250)
    try:
        client.admin.command("ping")
    except pymongo.errors.PyMongoError:
        return False
    finally:
        client.close()
    return True


def _daemon() -> str:
    name = "secantusd-py"
    beside_python = Path(sys.executable).with_name(name)
    found = str(beside_python) if beside_python.exists() else shutil.which(name)
    if found is None:
        pytest.skip("no VAULTSTORE_TEST_MONGO_URI and no secantusd-py (pip install secantusdb)")
    return found


_URI = pytest.StashKey[str]()


@pytest.fixture(scope="session")
def mongo_daemon_uri(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> str:
    """The URI of a MongoDB server the tests may write to (in the database
    :data:`DATABASE`). Every test module that imports this fixture gets a session
    fixture of its own, so the server is kept in the session's stash: one server
    for the whole run, stopped when it ends."""
    stash = request.config.stash
    if _URI not in stash:
        uri = os.environ.get("VAULTSTORE_TEST_MONGO_URI")
        if uri:
            if not _answers(uri):
                pytest.exit("VAULTSTORE_TEST_MONGO_URI is unreachable", returncode=3)
        else:
            servers = _started(tmp_path_factory)
            uri = next(servers)
            request.config.add_cleanup(servers.close)
        stash[_URI] = uri
    return stash[_URI]


def _started(tmp_path_factory: pytest.TempPathFactory) -> Generator[str]:
    """Start secantusd-py, yield its URI, and kill it when closed."""
    port = _free_port()
    folder = tmp_path_factory.mktemp("secantus")
    log = (folder / "secantusd.log").open("wb")
    process = subprocess.Popen(  # a fixed argument list, no shell
        [
            _daemon(),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--storage-path",
            str(folder / "data"),
            "--log-level",
            "WARNING",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    uri = f"mongodb://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + _START_TIMEOUT
        while not _answers(uri):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.exit(
                    f"secantusd-py did not start; see {folder / 'secantusd.log'}", returncode=3
                )
        yield uri
    finally:
        # Its data is thrown away, so there is nothing to shut down cleanly: a clean
        # stop takes about 2 s.
        process.kill()
        process.wait()
        log.close()
