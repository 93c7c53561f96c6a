"""Running a transaction again after a retryable error: how long to wait, the
two ways to wait (the async shell awaits :func:`asleep`, its generated sync twin
calls :func:`sleep`) and to retry (:func:`aretry`, :func:`retry`); and the two
ways to wait a bounded time for a try of the server (:func:`awithin`,
:func:`within`)."""

from __future__ import annotations

import asyncio
import logging
import random
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeAlias, TypeVar

from .errors import (
    CommitUnknownError,
    OperationTimeoutError,
    StoreClosedError,
    UnavailableError,
    VaultStoreError,
)

T = TypeVar("T")
logger = logging.getLogger("vaultstore")

AsyncWork: TypeAlias = Callable[[Any], Awaitable[T]]
"""What ``run_transaction`` runs on the async API: ``async def fn(tx)``."""
Work: TypeAlias = Callable[[Any], T]
"""What ``run_transaction`` runs on the sync API: ``def fn(tx)``."""

FIRST_DELAY = 0.01
"""Seconds of the first wait; each later one may be up to twice the one before."""
MOST_DELAY = 1.0


def backoff(attempt: int, rng: random.Random | None = None) -> float:
    """Seconds to wait after failed attempt ``attempt`` (1, 2 ...): "full jitter",
    a random time up to an exponentially growing bound, so that writers that
    collided do not collide again in step."""
    bound = min(MOST_DELAY, FIRST_DELAY * 2 ** (attempt - 1))
    return (rng or random).uniform(0, bound)


async def asleep(seconds: float) -> None:
    await asyncio.sleep(seconds)


def sleep(seconds: float) -> None:
    time.sleep(seconds)


_BACKGROUND: set[asyncio.Future[Any]] = set()  # tries still running: kept from the GC


async def awithin(work: Callable[[], Awaitable[object]], seconds: float) -> bool:
    """Run ``work`` (which must not raise) for at most ``seconds``: whether it
    finished. If not, it goes on as a task, to report when it does."""
    task = asyncio.ensure_future(work())
    done, _ = await asyncio.wait({task}, timeout=seconds)
    if done:
        task.result()
        return True
    _BACKGROUND.add(task)
    task.add_done_callback(_BACKGROUND.discard)
    return False


def within(work: Callable[[], object], seconds: float) -> bool:
    """:func:`awithin` with a thread: whether ``work`` finished within ``seconds``."""
    thread = threading.Thread(target=work, name="vaultstore-probe", daemon=True)
    thread.start()
    thread.join(seconds)
    return not thread.is_alive()


async def aretry(
    work: Callable[[], Awaitable[T]],
    retryable: Callable[[Exception], bool],
    *,
    attempts: int,
    what: str,
) -> T:
    """``work()``, run again after a :func:`backoff` wait when it raises an error
    ``retryable`` accepts, up to ``attempts`` tries in all (the last error raised).
    For work that holds nothing a retry would repeat: a transaction of its own."""
    attempt = 1
    while True:
        try:
            return await work()
        except Exception as exc:
            if attempt >= attempts or not retryable(exc):
                raise
            logger.debug("%s: attempt %d of %d: %s", what, attempt, attempts, exc)
        await asleep(backoff(attempt))
        attempt += 1


def retry(
    work: Callable[[], T],
    retryable: Callable[[Exception], bool],
    *,
    attempts: int,
    what: str,
) -> T:
    """:func:`aretry`, for the sync API."""
    attempt = 1
    while True:
        try:
            return work()
        except Exception as exc:
            if attempt >= attempts or not retryable(exc):
                raise
            logger.debug("%s: attempt %d of %d: %s", what, attempt, attempts, exc)
        sleep(backoff(attempt))
        attempt += 1


def commit_unknown(error: VaultStoreError) -> VaultStoreError:
    """What a lost connection means for a write that may have reached the server (a
    commit, or a write in autocommit): its outcome is unknown, and it is never
    retried blindly. Anything else is as it was, a statement the server cancelled
    (OperationTimeoutError) too: nothing of it was kept."""
    if isinstance(error, UnavailableError) and not isinstance(
        error, StoreClosedError | CommitUnknownError | OperationTimeoutError
    ):
        return CommitUnknownError(
            f"the connection was lost after the write was sent; it may or may not have "
            f"been applied (read the state before trying again): {error.message}",
            code=error.code,
        )
    return error
