"""Passages embedded and stored next to their text; where a store keeps its vectors in memory
(SQLite), the index searched over them, loaded once and reloaded when they change."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from podgrep.semantic.embed import MODEL_NAME, Embedder
from podgrep.semantic.index import VectorIndex
from podgrep.semantic.passages import build_passages

if TYPE_CHECKING:
    from podgrep.store import Store
    from podgrep.store.sqlite import SqliteStore

_cache: dict[tuple[str, str], tuple[tuple[int, int], VectorIndex]] = {}
_stamps: dict[tuple[tuple[str, str], int], tuple[int, ...]] = {}
_lock = threading.Lock()


def has_vectors(store: Store, model: str = MODEL_NAME) -> bool:
    """Whether any passage has been embedded with `model` (then hybrid search is the default)."""
    return store.has_passages(model)


def embed_transcript(store: Store, transcript_id: int, embedder: Embedder) -> int:
    """Cut a transcript into passages, embed and store them; return how many."""
    passages = build_passages(store.segments(transcript_id))
    vectors = embedder.embed([p.text for p in passages])
    spans = [(p.first_idx, p.last_idx, p.start, p.end) for p in passages]
    store.write_passages(transcript_id, embedder.name, spans, vectors)
    return len(passages)


def embed_missing(
    store: Store,
    embedder: Embedder,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Embed every complete transcript that has no passages yet; return how many passages."""
    todo = store.transcripts_without_passages(embedder.name)
    total = 0
    for n, tid in enumerate(todo):
        total += embed_transcript(store, tid, embedder)
        if progress:
            progress(n + 1, len(todo))
    return total


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
