"""SQLite's passage vectors searched in memory (semantic/index.py), loaded once per process
and reloaded when any process changes them."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from podgrep.semantic.index import VectorIndex

if TYPE_CHECKING:
    from podgrep.store.sqlite import SqliteStore

_cache: dict[tuple[str, str], tuple[tuple[int, ...], VectorIndex]] = {}
_stamps: dict[tuple[tuple[str, str], int], tuple[int, ...]] = {}
_lock = threading.Lock()


def cached_index(store: SqliteStore, model: str, dim: int) -> VectorIndex:
    """The in-memory index over a SQLite store's passages of `model`. Kept per database file
    and model; checked against the store's change stamp (any commit by any connection, and
    this connection's own changes) and, when that moved, against the passages' count and
    largest id, so a write by another process is seen at the next search."""
    key = (store.location, model)
    stamp = store.change_stamp()
    with _lock:
        cached = _cache.get(key)
        if cached and _stamps.get((key, id(store))) == stamp:
            return cached[1]  # nothing written since the last look: no need to count
        version = store.passages_version()
        if not cached or cached[0] != version:
            cached = (version, VectorIndex.build(*store.load_vectors(model, dim)))
            _cache[key] = cached
        _stamps[(key, id(store))] = stamp
        return cached[1]
