"""MongoDB reads as the URI says (readPreference, readConcernLevel,
maxStalenessSeconds), and read-your-writes where those would let a read miss the
store's own write: each call in a causally consistent session advanced to the
store's clock, seen on the wire as ``afterClusterTime``. SecantusDB is a one-node
replica set, so no secondary can lag here: the tests check what reaches the
driver and the server, and that no read misses a write."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from bson import Timestamp
from pymongo import monitoring
from pymongo.read_preferences import SecondaryPreferred

import vaultstore
import vaultstore.aio


class _Commands(monitoring.CommandListener):
    """The commands sent and the replies' operation times, while recording."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.recording = False
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self.replied: list[tuple[str, Any]] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if self.recording and event.command_name in {"find", "insert", "update", "findAndModify"}:
            with self.lock:
                self.sent.append((event.command_name, dict(event.command)))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        if self.recording and "operationTime" in event.reply:
            with self.lock:
                self.replied.append((event.command_name, event.reply["operationTime"]))

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


COMMANDS = _Commands()
monitoring.register(COMMANDS)  # clients made from now on report to it


@pytest.fixture
def commands() -> Iterator[_Commands]:
    COMMANDS.sent.clear()
    COMMANDS.replied.clear()
    COMMANDS.recording = True
    yield COMMANDS
    COMMANDS.recording = False


def with_options(uri: str, options: str) -> str:
    return uri + ("&" if "?" in uri else "?") + options


def make_agent(store: Any) -> Any:
    return store.agents.create(name=f"causal_{time.monotonic_ns()}", credibility_score=600)


def test_the_uri_read_options_reach_the_driver(clean_mongo: str) -> None:
    uri = with_options(
        clean_mongo,
        "readPreference=secondaryPreferred&maxStalenessSeconds=120&readConcernLevel=majority",
    )
    with vaultstore.connect(uri) as store:
        client = store._executor.client  # type: ignore[attr-defined]
        assert client.read_preference == SecondaryPreferred(max_staleness=120)
        assert client.read_concern.level == "majority"
        assert store._executor.causal is not None  # type: ignore[attr-defined]
    with vaultstore.connect(clean_mongo) as store:
        # Reads on the primary with readConcern local see every write: no clock.
        assert store._executor.causal is None  # type: ignore[attr-defined]


def test_reads_are_causally_after_the_store_s_writes(clean_mongo: str, commands: _Commands) -> None:
    uri = with_options(clean_mongo, "readPreference=secondaryPreferred&readConcernLevel=majority")
    with vaultstore.connect(uri) as store:
        misses = 0
        agent = make_agent(store)
        for score in range(1, 101):
            written = store.agents.update(agent.id, credibility_score=score)
            read = store.agents.find_by_id(agent.id)
            assert read is not None
            misses += read.version != written.version
        assert misses == 0
    # On the wire: each find after a write names a cluster time no earlier than
    # the write's reply (the finds inside a write's transaction, which reads the
    # document before it for the audit trail, read the transaction's snapshot).
    finds = [
        command for name, command in commands.sent if name == "find" and "txnNumber" not in command
    ]
    assert len(finds) == 100
    after = [f["readConcern"].get("afterClusterTime") for f in finds]
    assert all(isinstance(t, Timestamp) for t in after), finds[0]
    writes = [t for name, t in commands.replied if name == "findAndModify"]
    assert len(writes) == 100
    assert all(a >= w for a, w in zip(after, writes, strict=True))


async def test_async_reads_after_a_transaction_see_it(
    clean_mongo: str, commands: _Commands
) -> None:
    uri = with_options(clean_mongo, "readPreference=secondaryPreferred")
    async with await vaultstore.aio.connect(uri) as store:
        async with store.transaction() as tx:
            agent = await tx.agents.create(
                name=f"causal_tx_{time.monotonic_ns()}", credibility_score=1
            )
        assert await store.agents.find_by_id(agent.id) == agent
    (find,) = [command for name, command in commands.sent if name == "find"]
    assert isinstance(find["readConcern"]["afterClusterTime"], Timestamp)
