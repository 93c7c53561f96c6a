"""The change feed on the async API (async source of tests/_sync/test_watch.py):
``store.watch()`` is an async iterator there, a blocking one on the sync API, and
gives the same events on both backends (tests/test_changes.py has the rest)."""

from __future__ import annotations

from vaultstore import ChangeEvent, WriteKind
from vaultstore._async.changes import AsyncChangeFeed
from vaultstore._async.contracts import AsyncStore


async def take(feed: AsyncChangeFeed, count: int) -> list[ChangeEvent]:
    return [await anext(feed) for _ in range(count)]


async def test_a_feed_delivers_each_committed_write_in_order(store: AsyncStore) -> None:
    async with store.watch("agents") as feed:
        agent = await store.agents.create(name="watched", credibility_score=700)
        changed = await store.agents.update(agent.id, credibility_score=720)
        events = await take(feed, 2)
    assert [(e.operation, e.version, e.entity) for e in events] == [
        (WriteKind.INSERT, 1, agent),
        (WriteKind.UPDATE, 2, changed),
    ]


async def test_a_feed_goes_on_after_a_resume_token(store: AsyncStore) -> None:
    async with store.watch("agents") as feed:
        first = await store.agents.create(name="first", credibility_score=700)
        (seen,) = await take(feed, 1)
    later = await store.agents.create(name="later", credibility_score=700)
    async with store.watch("agents", resume_after=seen.resume_token) as feed:
        (event,) = await take(feed, 1)
    assert (seen.id, event.id) == (first.id, later.id)
    assert feed.resume_token == event.resume_token
