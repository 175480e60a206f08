"""Passages embedded and stored next to their text (each store keeps the vectors in its own
form and searches them: store/sqlite/vectors.py, pgvector on PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from podgrep.semantic.embed import MODEL_NAME, Embedder
from podgrep.semantic.passages import build_passages

if TYPE_CHECKING:
    from podgrep.store import Store


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
    episode_id: int | None = None,
) -> int:
    """Embed every complete transcript (of one episode, when given) that has no passages yet;
    return how many passages."""
    todo = store.transcripts_without_passages(embedder.name, episode_id)
    total = 0
    for n, tid in enumerate(todo):
        total += embed_transcript(store, tid, embedder)
        if progress:
            progress(n + 1, len(todo))
    return total
