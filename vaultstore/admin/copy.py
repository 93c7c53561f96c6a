"""``vaultstore copy``: a whole dataset from one database to another, between any
two backends, through the repositories' own paths.

Each entity is read in id order a page at a time (``list``) and written with
``restore`` (COPY on PostgreSQL, ``insert_many`` on MongoDB), one page per
transaction, parents before children; then the documents, each with its content
streamed chunk by chunk (``documents.restore``). Ids, versions and timestamps are
kept (to the millisecond, what both backends store), and every Decimal digit.

Resumable: pages are written in id order and each commits whole, so after an
interruption the target holds, of each entity, the first rows in id order and
nothing else; ``resume=True`` goes on after the greatest id the target holds
(``find_last``). vaultstore's ids are ULIDs, which both backends order alike.

Verified by :func:`compare`: the count and a checksum of the canonical form of
every entity on both sides (:func:`canonical`: Decimals by value, times in UTC to
the millisecond, enums by value, JSON with sorted keys). The checksum is the sum
of the entities' SHA-256 digests, so it does not depend on the order in which a
backend returns them. A document counts by its description, whose length and
SHA-256 the target took from the content it stored.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from enum import Enum
from typing import Any, Protocol, TextIO

import attrs

from .. import Store
from .._paging import MAX_LIMIT, encode_cursor
from .._registry import Registry
from ..errors import ValidationError

DOCUMENTS = "documents"
"""The name of the documents in ``--entities``, beside the registry's entities."""
DEFAULT_BATCH_SIZE = 5_000
DOCUMENT_PAGE = 100
"""Document descriptions listed per query (each document is copied on its own)."""


def copy_order(registry: Registry, names: Sequence[str] | None = None) -> list[str]:
    """The entities to copy, parents before the entities that refer to them, then
    the documents: every one when ``names`` is None. ValidationError for a name
    that is none of them."""
    known = [entity.name for entity in registry]
    wanted = set(known) | {DOCUMENTS} if names is None else set(names)
    unknown = sorted(wanted - set(known) - {DOCUMENTS})
    if unknown:
        raise ValidationError(
            f"no entity named {', '.join(unknown)}; expected some of "
            f"{', '.join([*known, DOCUMENTS])}",
            field="entities",
        )
    by_table = {entity.table: entity for entity in registry}
    ordered: list[str] = []

    def visit(name: str, path: tuple[str, ...]) -> None:
        if name in ordered or name in path:
            return
        entity = next(e for e in registry if e.name == name)
        for ref in entity.references:
            visit(by_table[ref.table].name, (*path, name))
        ordered.append(name)

    for name in known:
        visit(name, ())
    return [name for name in ordered if name in wanted] + (
        [DOCUMENTS] if DOCUMENTS in wanted else []
    )


# -- progress -------------------------------------------------------------------------


class Progress(Protocol):
    """What a copy reports as it goes: one entity at a time."""

    def start(self, name: str, total: int, done: int) -> None: ...
    def advance(self, count: int) -> None: ...
    def finish(self) -> None: ...


class BarProgress:
    """A progress bar per entity on a terminal (tqdm): count, rate, time left."""

    def __init__(self, stream: TextIO = sys.stderr) -> None:
        self._stream = stream
        self._bar: Any = None

    def start(self, name: str, total: int, done: int) -> None:
        from tqdm import tqdm  # noqa: PLC0415 - only a terminal needs it

        self._bar = tqdm(
            total=total, initial=done, desc=name, unit=" rows", unit_scale=True, file=self._stream
        )

    def advance(self, count: int) -> None:
        self._bar.update(count)

    def finish(self) -> None:
        self._bar.close()


class LineProgress:
    """Plain lines when not on a terminal (a log, a pipe): at most one per
    ``every`` seconds per entity, and one when it is done."""

    def __init__(self, write: Any, every: float = 1.0) -> None:
        self._write = write
        self._every = every
        self._name = ""
        self._total = self._done = self._resumed = 0
        self._started = self._shown = 0.0

    def start(self, name: str, total: int, done: int) -> None:
        self._name, self._total, self._done, self._resumed = name, total, done, done
        self._started = self._shown = time.monotonic()
        resumed = f", {done:,} already there" if done else ""
        self._write(f"copy {name}: {total:,} to copy{resumed}")

    def advance(self, count: int) -> None:
        self._done += count
        now = time.monotonic()
        if now - self._shown >= self._every:
            self._shown = now
            self._line(now)

    def _line(self, now: float) -> None:
        elapsed = max(now - self._started, 1e-9)
        rate = (self._done - self._resumed) / elapsed
        left = (self._total - self._done) / rate if rate else float("inf")
        share = self._done / self._total if self._total else 1.0
        self._write(
            f"copy {self._name}: {self._done:,}/{self._total:,} ({share:.0%}), "
            f"{rate:,.0f}/s, {left:,.0f} s left"
        )

    def finish(self) -> None:
        elapsed = time.monotonic() - self._started
        self._write(f"copy {self._name}: {self._done:,} done in {elapsed:.1f} s")


# -- copying --------------------------------------------------------------------------


def stored_counts(store: Store, names: Iterable[str]) -> dict[str, int]:
    """How many of each entity (and documents) ``store`` holds."""
    return {name: _repository(store, name).count() for name in names}


def copy_dataset(
    source: Store,
    target: Store,
    names: Sequence[str],
    progress: Progress,
    *,
    resume: bool = False,
    batch_size: int = DEFAULT_BATCH_SIZE,
    prepare: Callable[[str, Sequence[Any]], None] | None = None,
) -> dict[str, int]:
    """Copy the entities ``names`` (in :func:`copy_order`) from ``source`` to
    ``target``; how many of each were written. The caller has checked that the
    target is empty, or asked to ``resume`` a copy that was interrupted.
    ``prepare(name, page)`` runs before each page is stored (on PostgreSQL, it makes
    the market data partitions of the page's months)."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int):
        raise ValidationError(f"expected an int, got {batch_size!r}", field="batch_size")
    if not 1 <= batch_size <= MAX_LIMIT:
        raise ValidationError(
            f"must be from 1 to {MAX_LIMIT}, got {batch_size}", field="batch_size"
        )
    written: dict[str, int] = {}
    for name in names:
        if name == DOCUMENTS:
            written[name] = _copy_documents(source, target, progress, resume=resume)
        else:
            written[name] = _copy_entities(
                source.repository(name),
                target.repository(name),
                name,
                progress,
                resume=resume,
                batch_size=batch_size,
                prepare=prepare,
            )
    return written


def _copy_entities(
    source: Any,
    target: Any,
    name: str,
    progress: Progress,
    *,
    resume: bool,
    batch_size: int,
    prepare: Callable[[str, Sequence[Any]], None] | None,
) -> int:
    after: str | None = None
    done = 0
    if resume:
        last = target.find_last()
        if last is not None:
            after = encode_cursor(last.id)
            done = target.count()
    progress.start(name, source.count(), done)
    written = 0
    for page in pages(source, batch_size, after):
        if prepare is not None:
            prepare(name, page)
        written += target.restore(page, batch_size=batch_size)
        progress.advance(len(page))
    progress.finish()
    return written


def _copy_documents(source: Store, target: Store, progress: Progress, *, resume: bool) -> int:
    """Each document on its own, its content streamed from one store to the other.
    On resume, a document the target holds already is skipped (documents are few
    and large: one lookup each costs nothing beside their content)."""
    done = target.documents.count() if resume else 0
    progress.start(DOCUMENTS, source.documents.count(), done)
    written = 0
    for page in pages(source.documents, DOCUMENT_PAGE):
        for document in page:
            if resume and target.documents.find_by_id(document.id) is not None:
                continue
            target.documents.restore(document, source.documents.chunks(document.id))
            written += 1
            progress.advance(1)
    progress.finish()
    return written


# -- verifying ------------------------------------------------------------------------


@attrs.frozen
class Tally:
    """What one side holds of one entity: how many, and the checksum of them all."""

    count: int
    checksum: str


@attrs.frozen
class Comparison:
    """One entity on both sides."""

    name: str
    source: Tally
    target: Tally

    @property
    def same(self) -> bool:
        return self.source == self.target


def _decimal(value: Decimal) -> str:
    text = format(value, "f")  # every digit, no exponent, no rounding
    return text.rstrip("0").rstrip(".") if "." in text else text


def _time(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="milliseconds")


def _same(value: Any) -> Any:
    return value


def _enum_value(value: Enum) -> Any:
    return value.value


_PLAIN: dict[type, Callable[[Any], Any]] = {
    str: _same,
    int: _same,
    bool: _same,
    float: _same,
    type(None): _same,
    Decimal: _decimal,
    datetime: _time,
    dict: lambda value: {str(key): _plain(item) for key, item in value.items()},
    list: lambda value: [_plain(item) for item in value],
}


def _plain(value: Any) -> Any:
    """``value`` as JSON can hold it, the same whichever backend it came from."""
    convert = _PLAIN.get(type(value))
    if convert is not None:
        return convert(value)
    if isinstance(value, Enum):
        _PLAIN[type(value)] = _enum_value
        return value.value
    if attrs.has(type(value)):
        names = tuple(f.name for f in attrs.fields(type(value)))
        _PLAIN[type(value)] = convert = lambda v: {name: _plain(getattr(v, name)) for name in names}
        return convert(value)
    raise TypeError(f"no canonical form for {type(value).__name__}")


def canonical(entity: Any) -> bytes:
    """The form of ``entity`` that is the same on every backend: JSON with sorted
    keys, Decimals by value (``1.50`` and ``1.5`` alike, every digit kept), times
    in UTC to the millisecond, enums by value."""
    text = json.dumps(_plain(entity), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode()


_MODULUS = 1 << 256


def tally(entities: Iterable[Any]) -> Tally:
    """The count and checksum (the sum of the canonical forms' SHA-256) of ``entities``."""
    count = total = 0
    for entity in entities:
        count += 1
        total = (total + int.from_bytes(hashlib.sha256(canonical(entity)).digest())) % _MODULUS
    return Tally(count, f"{total:064x}")


def pages(repository: Any, size: int, after: str | None = None) -> Iterator[Sequence[Any]]:
    """The non-empty pages of ``repository.list()``, ``size`` at a time, from the
    cursor ``after`` on (the start when None)."""
    while True:
        page = repository.list(limit=size, after=after)
        if page:
            yield page
        if page.next_cursor is None:
            return
        after = page.next_cursor


def every(store: Store, name: str, batch_size: int = DEFAULT_BATCH_SIZE) -> Iterator[Any]:
    """Every stored entity ``name`` (or document description), a page at a time."""
    for page in pages(_repository(store, name), batch_size):
        yield from page


def compare(
    source: Store, target: Store, names: Sequence[str], batch_size: int = DEFAULT_BATCH_SIZE
) -> list[Comparison]:
    """Each entity's count and checksum on both sides."""
    return [
        Comparison(
            name,
            tally(every(source, name, batch_size)),
            tally(every(target, name, batch_size)),
        )
        for name in names
    ]


def _repository(store: Store, name: str) -> Any:
    return store.documents if name == DOCUMENTS else store.repository(name)
