"""What users read must be right (issue #13): nonsense finds nothing in any mode, a quoted phrase
and a prefix are matched as typed in every mode, `-word` excludes everywhere, and every hit says
who spoke and whether it holds the words or only their meaning. Real model, real SQLite."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

from podgrep.domain import Episode, Segment, Show
from podgrep.errors import QueryError
from podgrep.runtime import open_store
from podgrep.search import parse_query, search
from podgrep.semantic.embed import shared_embedder
from podgrep.semantic.hybrid import MODES, find
from podgrep.semantic.vectors import embed_missing
from podgrep.store.sqlite import SqliteStore, _migrations
from tests.support.truth import truth_sentences

NONSENSE = ["xyzzyplugh", "asdfgh qwerty zxcv", "glimmerwick snarfblat", "kjhsdf"]
EXTRA = [
    ("Lena", "The regulation of models is coming, and regulated markets move slowly."),
    ("Lena", "Regulators in Brussels wrote the rules; a regular listener asked about them."),
    ("Omar", "General purpose models are the next generation, he said in general terms."),
    ("Omar", "Conversational agents hold a conversation; we optimized the prompts."),
    ("Lena", "The Open Assistant project released its data; open source assistants followed."),
]


GARDEN = [
    ("Ben", "Morning, everyone, and welcome back to the garden hour."),
    ("Ann", "We turned the compost every week in spring."),
    ("Ben", "Then we drank coffee by the heap."),
    ("Ann", "Slugs hate copper tape around the beds."),
    ("Ben", "The compost heap got warm in summer."),
    ("Ann", "I tried it last spring"),
    ("Ben", "try copper rings next year."),
]


def _truth() -> list[Segment]:
    return truth_sentences("conversation_a")


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> SqliteStore:
    store = open_store(Path(tmp_path_factory.mktemp("exact")) / "library.db")
    show_id, _ = store.add_show(Show(None, "test://exact", "Exact", kind="local"))
    a, b, c = store.add_episodes(
        show_id,
        [
            Episode(None, show_id, "a", "conversation a"),
            Episode(None, show_id, "b", "b"),
            Episode(None, show_id, "c", "garden"),
        ],
    )
    garden = [Segment(5.0 * i, 5.0 * i + 4, t, speaker=n) for i, (n, t) in enumerate(GARDEN)]
    store.replace_transcript(c, "publisher", None, "en", garden)
    store.replace_transcript(a, "publisher", None, "en", _truth())
    extra = [Segment(10.0 * i, 10.0 * i + 8, t, speaker=n) for i, (n, t) in enumerate(EXTRA)]
    store.replace_transcript(b, "publisher", None, "en", extra)
    for eid in (a, b, c):
        store.set_status(eid, "indexed")
    assert embed_missing(store, shared_embedder()) > 0
    return store


def _said(text: str) -> list[str]:
    return re.findall(r"[\w']+", text.lower())


@pytest.mark.parametrize("query", NONSENSE)
@pytest.mark.parametrize("mode", MODES)
def test_nonsense_finds_nothing_in_any_mode(store: SqliteStore, query: str, mode: str) -> None:
    assert find(store, query, mode=mode, limit=20) == []


def test_a_real_question_still_finds_its_answer_by_meaning(store: SqliteStore) -> None:
    # a paraphrase of "my dream is to retire in the Swiss mountains" (conversation_a)
    hits = find(store, "dream of settling in the Alps when old", mode="semantic", limit=5)
    assert hits and all(h.match == "meaning" for h in hits)
    assert any("retiring in Switzerland" in h.text for h in hits)


@pytest.mark.parametrize("mode", MODES)
def test_a_quoted_phrase_returns_only_hits_holding_it(store: SqliteStore, mode: str) -> None:
    hits = find(store, '"open assistant"', mode=mode, limit=20)
    assert hits
    for h in hits:
        words = " ".join(_said(h.text))
        assert re.search(r"\bopen assistants?\b", words), h.text
        assert h.match == "words"
        assert len(h.text.split()) < 40  # the sentence, not a passage around it


@pytest.mark.parametrize("mode", MODES)
def test_minus_word_excludes_in_every_mode(store: SqliteStore, mode: str) -> None:
    plain = find(store, "open source", mode=mode, limit=20)
    assert any(w.startswith("assistant") for h in plain for w in _said(h.text))
    hits = find(store, "open source -assistant", mode=mode, limit=20)
    assert hits
    assert not any(w.startswith("assistant") for h in hits for w in _said(h.text))


@pytest.mark.parametrize("mode", MODES)
def test_prefix_matches_words_beginning_with_it_as_typed(store: SqliteStore, mode: str) -> None:
    hits = find(store, "regulat*", mode=mode, limit=20)
    found = {w for h in hits for w in _said(h.text) if w.startswith("regul")}
    assert {"regulation", "regulated", "regulators"} <= found
    for h in hits:
        assert any(w.startswith("regulat") for w in _said(h.text)), h.text
        marked = {h.text[a:b].lower() for a, b in h.marks}
        assert marked and all(m.startswith("regulat") for m in marked)
    # "general" shares the stem "gener" with "generation", but does not begin with "generat"
    generat = find(store, "generat*", mode=mode, limit=20)
    assert generat and all(any(w.startswith("generat") for w in _said(h.text)) for h in generat)
    for prefix, word in (("conversat*", "conversation"), ("optimiz*", "optimized")):
        assert any(word in _said(h.text) for h in find(store, prefix, mode=mode, limit=20))


def test_prefix_widening_reads_the_unstemmed_words(store: SqliteStore) -> None:
    assert {"regulation", "regulated", "regulators"} <= set(store.widen("regulat"))
    assert "regular" not in store.widen("regulat")
    fts = store.fts_expression(parse_query("regulat*"))
    assert fts.startswith('("regulat" *') and '"regulation"' in fts


def test_every_hit_says_who_spoke_and_how_it_matched(store: SqliteStore) -> None:
    for mode in MODES:
        hits = find(store, "Zurich", mode=mode, limit=10) or find(
            store, "where does he live", mode=mode, limit=10
        )
        assert hits, mode
        for h in hits:
            assert h.speaker in {"Jon Krohn", "Yannic Kilcher", "Lena", "Omar", "Ann", "Ben"}
            assert h.match in {"words", "meaning"}
    keyword = search(store, "Zurich", limit=5)
    assert keyword and all(h.match == "words" and h.speaker for h in keyword)


def test_hybrid_labels_hits_without_the_words_as_meaning(store: SqliteStore) -> None:
    hits = find(store, "how is the weather over the year there", mode="hybrid", limit=10)
    assert hits
    for h in hits:
        holds = bool(h.marks)
        assert h.match == ("words" if holds else "meaning") or holds, h


def test_an_old_database_gets_its_words_on_upgrade(tmp_path: Path) -> None:
    """A library made before the words table (schema 6) has it filled when opened."""
    path = tmp_path / "old.db"
    db = sqlite3.connect(path, isolation_level=None)
    for version, sql in _migrations():
        if version <= 6:
            db.executescript(f"BEGIN;\n{sql}\nPRAGMA user_version = {version};\nCOMMIT;")
    db.execute(
        "INSERT INTO shows (id, feed_url, kind, title, added)"
        " VALUES (1, 'test://old', 'local', 'Old', 0)"
    )
    db.execute("INSERT INTO episodes (id, show_id, guid, title, added) VALUES (1, 1, 'x', 'x', 0)")
    db.execute(
        "INSERT INTO transcripts (id, episode_id, source, complete, created)"
        " VALUES (1, 1, 'publisher', 1, 0)"
    )
    db.execute(
        'INSERT INTO segments (transcript_id, idx, start, "end", text, search_text, words_json)'
        " VALUES (1, 0, 0, 5, 'Regulation, régulation.', 'Regulation, régulation.', '[]')"
    )
    db.close()
    store = open_store(path)
    assert store.schema_version >= 7
    assert store.widen("regulat") == ["regulation"]  # accents folded as the index folds
    assert [h.text for h in search(store, "régulat*")] == ["Regulation, régulation."]
    store.close()


@pytest.mark.parametrize("mode", MODES)
def test_a_gibberish_word_beside_a_real_one_matches_nothing(store: SqliteStore, mode: str) -> None:
    assert find(store, "regulation", mode=mode, limit=5)
    for query in ("xyzzyplugh regulation", "compost snorkelwhump", "glorpfinch copper tape"):
        assert find(store, query, mode=mode, limit=20) == [], (query, mode)
    # an alternative that can match still does (OR is a keyword operator: semantic mode
    # looks for the meaning of the whole query)
    if mode != "semantic":
        assert find(store, "xyzzyplugh OR regulation", mode=mode, limit=5)


def test_an_excluded_word_in_the_next_sentence_does_not_hide_a_hit(store: SqliteStore) -> None:
    # "We turned the compost…" is followed by "…drank coffee…": only the shown text counts
    texts = [h.text for h in search(store, "compost -coffee", limit=10)]
    assert any(t.startswith("We turned the compost") for t in texts), texts
    assert not any("coffee" in t for t in texts)


def test_a_match_running_into_the_next_sentence_shows_both(store: SqliteStore) -> None:
    for mode in MODES:
        hits = find(store, '"spring try copper"', mode=mode, limit=5)
        assert hits, mode
        for h in hits:
            assert "spring try copper" in " ".join(_said(h.text)), (mode, h.text)
            assert h.speaker == "Ann"  # who began it


def test_hybrid_gives_every_sentence_holding_the_words(store: SqliteStore) -> None:
    keyword = {h.segment_id for h in find(store, "compost", mode="keyword", limit=20)}
    hybrid = find(store, "compost", mode="hybrid", limit=20)
    assert len(keyword) == 2 and keyword <= {h.segment_id for h in hybrid}
    assert all(h.match == "words" for h in hybrid if h.segment_id in keyword)


def test_a_passage_is_said_by_whoever_said_its_matched_words(store: SqliteStore) -> None:
    hits = find(store, "keeping slugs away from the garden with copper", mode="semantic", limit=3)
    top = next(h for h in hits if "Slugs" in h.text)
    assert top.text.startswith("Morning")  # the passage begins with Ben
    first = min(a for a, _ in top.marks)
    assert top.text[first:].lower().startswith("garden")  # "…welcome back to the garden hour"
    assert top.speaker == "Ben"
    slugs = find(store, "keeping slugs away with copper tape", mode="semantic", limit=3)
    top = next(h for h in slugs if "Slugs" in h.text)
    assert top.text.startswith("Morning") and top.speaker == "Ann"  # "Slugs hate copper…"


def test_a_prefix_inside_quotes_is_refused_with_a_reason(store: SqliteStore) -> None:
    with pytest.raises(QueryError, match="prefix inside quotes"):
        find(store, '"regulat* markets"', mode="keyword")
