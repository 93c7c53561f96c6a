# Generated from tests/_async/test_watch.py by tools/generate_sync.py: do not edit.
"""The change feed on the async API (async source of tests/_sync/test_watch.py):
``store.watch()`` is an async iterator there, a blocking one on the sync API, and
gives the same events on both backends (tests/test_changes.py has the rest)."""

from __future__ import annotations

from vaultstore import ChangeEvent, WriteKind
from vaultstore._sync.changes import ChangeFeed
from vaultstore._sync.contracts import Store


def take(feed: ChangeFeed, count: int) -> list[ChangeEvent]:
    return [next(feed) for _ in range(count)]


def test_a_feed_delivers_each_committed_write_in_order(store: Store) -> None:
    with store.watch("agents") as feed:
        agent = store.agents.create(name="watched", credibility_score=700)
        changed = store.agents.update(agent.id, credibility_score=720)
        events = take(feed, 2)
    assert [(e.operation, e.version, e.entity) for e in events] == [
        (WriteKind.INSERT, 1, agent),
        (WriteKind.UPDATE, 2, changed),
    ]


def test_a_feed_goes_on_after_a_resume_token(store: Store) -> None:
    with store.watch("agents") as feed:
        first = store.agents.create(name="first", credibility_score=700)
        (seen,) = take(feed, 1)
    later = store.agents.create(name="later", credibility_score=700)
    with store.watch("agents", resume_after=seen.resume_token) as feed:
        (event,) = take(feed, 1)
    assert (seen.id, event.id) == (first.id, later.id)
    assert feed.resume_token == event.resume_token
