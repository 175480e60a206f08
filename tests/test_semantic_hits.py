"""Hybrid search opens a hit at the sentence only when that sentence holds the whole query (a
phrase or a word search); a question that a sentence only partly matches gets the passage the
vectors judged, on a real conversation embedded with the real model."""

from __future__ import annotations

from pathlib import Path

import pytest

from podgrep.domain import Episode, Segment, Show
from podgrep.runtime import open_store
from podgrep.semantic.embed import shared_embedder
from podgrep.semantic.hybrid import find
from podgrep.semantic.vectors import embed_missing
from podgrep.store.sqlite import SqliteStore
from tests.support.truth import truth_sentences


def _segments() -> list[Segment]:
    return truth_sentences("conversation_a")


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> SqliteStore:
    store = open_store(Path(tmp_path_factory.mktemp("hits")) / "library.db")
    show_id, _ = store.add_show(Show(None, "test://hits", "Hits", kind="local"))
    [eid] = store.add_episodes(show_id, [Episode(None, show_id, "a", "conversation a")])
    store.replace_transcript(eid, "publisher", None, "en", _segments())
    store.set_status(eid, "indexed")
    assert embed_missing(store, shared_embedder()) > 0
    return store


def _passage_spans(store: SqliteStore) -> set[tuple[float, float]]:
    rows = store.db.execute('SELECT start, "end" FROM passages')
    return {(round(a, 3), round(b, 3)) for a, b in rows}


def test_a_word_search_opens_at_the_sentence(store: SqliteStore) -> None:
    zurich = next(s for s in _segments() if s.text.startswith("In Zurich"))
    best = find(store, "Zurich", mode="hybrid", limit=3)[0]
    assert best.text.startswith("In Zurich") and abs(best.start - zurich.start) < 0.01
    phrase = find(store, '"preaching to the choir"', mode="hybrid", limit=3)[0]
    assert "preaching to the choir" in phrase.text and len(phrase.text.split()) < 25


def test_a_question_a_sentence_only_partly_holds_gets_the_passage(store: SqliteStore) -> None:
    spans = _passage_spans(store)
    hits = find(store, "Zurich winters and summers", mode="hybrid", limit=5)
    assert hits
    for hit in hits:
        words = hit.text.lower()
        whole = all(w in words for w in ("zurich", "winter", "summer"))
        assert whole or (round(hit.start, 3), round(hit.end, 3)) in spans, hit.text
    # the turn about the seasons (48-55 s) is among them, as a passage
    assert any(h.start <= 55 and h.end >= 48 for h in hits)


def test_passages_of_another_model_are_replaced_not_kept(tmp_path: Path) -> None:
    from podgrep.semantic.vectors import has_vectors

    class Renamed:
        """The same model under another name, as after a model upgrade."""

        name, dim = "next-model", shared_embedder().dim

        def embed(self, texts: list[str]):
            return shared_embedder().embed(texts)

    lib = open_store(tmp_path / "library.db")
    show_id, _ = lib.add_show(Show(None, "test://models", "Models", kind="local"))
    [eid] = lib.add_episodes(show_id, [Episode(None, show_id, "m", "models")])
    lib.replace_transcript(eid, "publisher", None, "en", _segments()[:30])
    first = embed_missing(lib, shared_embedder())
    assert embed_missing(lib, Renamed()) == first  # the new model embeds every transcript again
    models = {m for (m,) in lib.db.execute("SELECT DISTINCT model FROM passages")}
    assert models == {"next-model"} and not has_vectors(lib)
