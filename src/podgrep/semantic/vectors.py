"""Passages embedded and stored next to their text, and the in-memory index searched over them."""

from __future__ import annotations

import threading
from collections.abc import Callable

from podgrep.semantic.embed import DIM, MODEL_NAME, Embedder
from podgrep.semantic.index import VectorIndex, quantize
from podgrep.semantic.passages import build_passages
from podgrep.store import SqliteStore
from podgrep.store import enrichment as db

_cache: dict[tuple[str, str], tuple[tuple[int, int], VectorIndex]] = {}
_stamps: dict[tuple[tuple[str, str], int], tuple[int, int]] = {}
_lock = threading.Lock()


def has_vectors(store: SqliteStore, model: str = MODEL_NAME) -> bool:
    """Whether any passage has been embedded with `model` (then hybrid search is the default)."""
    return db.has_passages(store, model)


def embed_transcript(store: SqliteStore, transcript_id: int, embedder: Embedder) -> int:
    """Cut a transcript into passages, embed and store them; return how many."""
    passages = build_passages(store.segments(transcript_id))
    vectors = embedder.embed([p.text for p in passages])
    rows, scales = quantize(vectors) if len(passages) else (vectors.astype("int8"), vectors[:, 0])
    spans = [(p.first_idx, p.last_idx, p.start, p.end) for p in passages]
    db.write_passages(store, transcript_id, embedder.name, spans, rows, scales)
    return len(passages)


def embed_missing(
    store: SqliteStore,
    embedder: Embedder,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Embed every complete transcript that has no passages yet; return how many passages."""
    todo = db.transcripts_without_passages(store, embedder.name)
    total = 0
    for n, tid in enumerate(todo):
        total += embed_transcript(store, tid, embedder)
        if progress:
            progress(n + 1, len(todo))
    return total


def vector_index(store: SqliteStore, model: str = MODEL_NAME) -> VectorIndex:
    """The index over a store's passages, loaded once and reloaded when passages change."""
    key = (str(store.path), model)
    stamp = db.change_stamp(store)
    with _lock:
        cached = _cache.get(key)
        if cached and _stamps.get((key, id(store))) == stamp:
            return cached[1]  # nothing written since the last look: no need to count
        version = db.passages_version(store)
        if not cached or cached[0] != version:
            cached = (version, VectorIndex.build(*db.load_vectors(store, model, DIM)))
            _cache[key] = cached
        _stamps[(key, id(store))] = stamp
        return cached[1]
