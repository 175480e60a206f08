"""The store contract, held by both stores: SQLite and a real PostgreSQL server with pgvector.

Every test here runs twice (the `store_url` fixture): what a caller sees must not depend on
which database holds the library.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from podgrep.domain import Episode, Job, Segment, Show, Word
from podgrep.errors import NotFoundError
from podgrep.runtime import open_store
from podgrep.search import search
from podgrep.store import STEPS, Store


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    s = open_store(store_url)
    yield s
    s.close()


def _show(store: Store, n: int = 1) -> tuple[int, list[int]]:
    sid, _ = store.add_show(Show(None, f"http://example.org/{n}.xml", f"Show {n}"))
    ids = store.add_episodes(
        sid,
        [
            Episode(None, sid, "old", "Old episode", published=1000.0),
            Episode(None, sid, "new", "New Episode", published=2000.0),
        ],
    )
    return sid, ids


def _words(text: str, start: float) -> list[Word]:
    return [Word(start + i * 0.3, start + i * 0.3 + 0.25, w) for i, w in enumerate(text.split())]


def _segment(start: float, text: str) -> Segment:
    return Segment(start, start + 3, text, _words(text, start))


def test_catalog(store: Store) -> None:
    sid, ids = _show(store)
    assert store.add_show(Show(None, "http://example.org/1.xml", "Again")) == (sid, False)
    assert store.add_episodes(sid, [Episode(None, sid, "old", "Old episode")]) == []
    assert [e.guid for e in store.list_episodes(sid)] == ["new", "old"]  # newest first
    assert [e.title for e in store.find_episodes("NEW EP")] == ["New Episode"]  # any case
    assert [e.title for e in store.find_episodes("100%")] == []  # LIKE's wildcards are text
    assert store.get_show(sid).title == "Show 1" and store.episode_count(sid) == 2
    with pytest.raises(NotFoundError):
        store.get_episode(9999)
    assert store.show_episode_ids("show 1") == set(ids)


def test_jobs_queue_in_order_and_parked(store: Store) -> None:
    _, (old, new) = _show(store)
    assert [j.step for j in store.jobs(old)] == list(STEPS)
    assert all(isinstance(j, Job) for j in store.jobs())
    first = store.next_job(3)
    assert first is not None and (first.episode_id, first.step) == (new, "fetch")
    assert store.start_job(new, "fetch") == 1
    store.fail_job(new, "fetch", "bad audio", park=True, max_attempts=3)
    job = store.next_job(3)
    assert job is not None and job.episode_id == old  # the parked one is held back
    assert [(f.episode_id, f.step, f.error) for f in store.failures()] == [
        (new, "fetch", "bad audio")
    ]
    assert store.retry_failed() == 1
    assert store.pending_work(3)[0] == (new, "fetch")
    store.finish_job(new, "fetch")
    assert store.pending_work(3)[0] == (new, "transcribe")
    [counts] = store.status_counts()
    assert (counts.episodes, counts.failed) == (2, 1)


def test_windows_are_whole_or_absent(store: Store) -> None:
    _, (eid, _) = _show(store)
    t = store.open_transcript(eid, "whisper", "tiny.en", "en", 0.9)
    assert store.open_transcript(eid, "whisper", "tiny.en", "en", 0.9).id == t.id  # resumed
    assert t.id is not None
    store.set_windows(t.id, 600.0, [(0, 100), (100, 200)])
    assert store.windows(t.id) == (600.0, [(0, 100), (100, 200)])
    store.add_window(t.id, 0, [_segment(0, "the first window"), _segment(3, "says hello")])

    class Killed(Exception):
        pass

    with pytest.raises(Killed), store.transaction():
        store.insert_segments(t.id, [_segment(6, "half of a window")], 1)
        raise Killed
    assert [s.text for s in store.segments(t.id)] == ["the first window", "says hello"]
    assert store.windows_done(t.id) == 1
    assert store.drop_partial_window(t.id) == 0
    store.add_window(t.id, 1, [_segment(6, "then a second window")])
    segments = store.segments(t.id)
    assert [s.idx for s in segments] == [0, 1, 2]
    assert segments[0].words[1].word == "first"


def test_keyword_search_language(store: Store) -> None:
    _, (eid, other) = _show(store)
    t = store.open_transcript(eid, "publisher", None, "en", None)
    assert t.id is not None
    store.add_window(
        t.id,
        0,
        [
            _segment(0, "The regulation of open-source models is hard."),
            _segment(3, "Regulators said it is preaching to the"),
            _segment(6, "choir, and general relativity is not the point."),
            Segment(9, 10, "you", flags=["hallucination"]),
        ],
    )
    store.complete_transcript(t.id)

    def found(query: str) -> list[tuple[int, float]]:
        return [(h.episode_id, round(h.start, 2)) for h in search(store, query)]

    assert sorted(found("regulation")) == [(eid, 0.3), (eid, 3.0)]  # one stem: regul
    assert sorted(found("regulat*")) == [(eid, 0.3), (eid, 3.0)]  # regulation, regulators
    assert found('"the regulation"') == [(eid, 0.0)]
    assert found("generat*") == []  # "general" shares no prefix as said
    assert found('"preaching to the choir"') == [(eid, 4.2)]  # across a segment boundary
    assert found('"open source"') in ([(eid, 0.0)], [(eid, 0.9)])  # said as one word
    assert sorted(found("regulation OR relativity")) == [(eid, 0.3), (eid, 3.0), (eid, 6.9)]
    assert found("regulat* -hard") == [(eid, 3.0)]
    assert found("you") == []  # a flagged line is never found
    assert found("xyzzy") == []
    assert store.term_counts(["regul", "xyzzi"]) == {"regul": 2, "xyzzi": 0}
    assert other not in {h.episode_id for h in search(store, "choir")}


def test_vectors_nearest_and_replaced(store: Store) -> None:
    _, (eid, _) = _show(store)
    t = store.open_transcript(eid, "publisher", None, "en", None)
    assert t.id is not None
    store.add_window(t.id, 0, [_segment(0, "one"), _segment(3, "two"), _segment(6, "three")])
    rng = np.random.default_rng(1)
    vectors = rng.normal(size=(3, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1)[:, None]
    store.write_passages(t.id, "m", [(0, 0, 0, 3), (1, 1, 3, 6), (2, 2, 6, 9)], vectors)
    assert store.has_passages("m") and not store.has_passages("other")
    near = store.nearest(vectors[2], 2, None, "m", 384)
    assert len(near) == 2 and abs(near[0][1] - 1.0) < 0.01
    assert store.nearest(vectors[2], 2, set(), "m", 384) == []
    assert store.nearest(vectors[2], 3, {eid}, "m", 384)[0][0] == near[0][0]
    store.write_passages(t.id, "m", [(0, 2, 0, 9)], vectors[:1])  # replaces all three
    assert len(store.nearest(vectors[0], 5, None, "m", 384)) == 1


def test_a_common_word_is_ranked_over_all_its_matches(store: Store) -> None:
    """Thousands of segments say the word; the best one (in the newest episode) comes first,
    paging reaches the last match, and an excluded word is checked over all of them."""
    sid, _ = store.add_show(Show(None, "http://example.org/common.xml", "Common"))
    ids = store.add_episodes(sid, [Episode(None, sid, f"c{n}", f"C{n}") for n in range(6)])
    for n, eid in enumerate(ids):
        t = store.open_transcript(eid, "publisher", None, "en", None)
        assert t.id is not None
        lines = [f"a common thing number {i} of episode {n} is said here" for i in range(400)]
        if n == 5:
            lines[200] = "common common common"
        if n == 2:
            lines[100] = "a common topic apart"
        store.add_window(t.id, 0, [_segment(i * 3.0, line) for i, line in enumerate(lines)])
    best = search(store, "common", limit=3)
    assert best[0].text.startswith("common common common") and best[0].episode_id == ids[5]
    assert len(search(store, "common", limit=20, offset=2390)) == 10  # 2,400 in all
    assert [h.text for h in search(store, "topic")] == ["a common topic apart"]
    rest = search(store, "common -topic", limit=5000)
    assert len(rest) >= 2390 and not any("topic" in h.text for h in rest)
