"""Where the query files and migrations are: inside the installed package (the
wheel carries them), or at the top of a source checkout, where DBAs edit them."""

from __future__ import annotations

import functools
from pathlib import Path
from types import SimpleNamespace

import aiosql

from ._catalog import TracingLoader

_PACKAGE = Path(__file__).resolve().parent


def _find(name: str) -> Path:
    for candidate in (_PACKAGE / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(
        f"vaultstore's {name}/ folder is neither in the package ({_PACKAGE / name}) "
        f"nor beside it ({_PACKAGE.parent / name}); reinstall vaultstore"
    )


def queries_dir() -> Path:
    """The folder of named SQL statements, one file per entity."""
    return _find("queries")


def migrations_dir() -> Path:
    """The folder of yoyo migrations."""
    return _find("migrations")


def load_queries(adapter: type, folder: Path | None = None) -> SimpleNamespace:
    """Every query file loaded by aiosql, one namespace per file: the statements of
    ``queries/vaults.sql`` are ``.vaults.find_by_id`` and so on. (aiosql itself
    would merge the files of a folder into one namespace, where names collide.)
    Each statement starts with a comment naming its file, line and name,
    ``/* vaultstore queries/vaults.sql:28 vaults.find_by_id */``, for the DBAs.

    Parsed once per adapter and folder: the result holds no state, and parsing
    is most of the time :func:`vaultstore.connect` takes."""
    return _load_queries(adapter, (folder or queries_dir()).resolve())


@functools.cache
def _load_queries(adapter: type, folder: Path) -> SimpleNamespace:
    return SimpleNamespace(
        **{
            path.stem: aiosql.from_path(path, adapter, loader_cls=TracingLoader)
            for path in sorted(folder.glob("*.sql"))
        }
    )
